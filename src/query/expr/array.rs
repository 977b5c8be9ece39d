//! Arrays: `@>`, `<@`, `&&`, `x = ANY(array)`, `cardinality`, `unnest` and the `array_agg`
//! aggregate, on expressions of Rust type `Vec<T>`.

use super::ops::Op;
use super::{AsExpr, Binary, Expression, func::Func};

/// The array operators, on every expression whose Rust type is a `Vec`.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::{array_agg, cardinality};
/// # use taulu_app::schema;
/// use schema::{Members, members};
/// let q = select_from::<Members>()
///     .columns((members::org_id, cardinality(array_agg(members::user_id))))
///     .group_by((members::org_id,))
///     .having(array_agg(members::member_role.cast::<String>()).overlaps(vec!["owner".to_string()]));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "members"."org_id", cardinality(array_agg("members"."user_id")) FROM "members" GROUP BY "members"."org_id" HAVING array_agg(CAST("members"."member_role" AS text)) && $1"#
/// );
/// ```
pub trait ArrayMethods<T: 'static>: Expression<Rust = Vec<T>> {
    /// `self @> other`: has every element of `other`.
    fn array_contains<V: AsExpr<Vec<T>>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Contains, other.into_expr())
    }
    /// `self <@ other`: every element is in `other`.
    fn array_contained_in<V: AsExpr<Vec<T>>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::ContainedBy, other.into_expr())
    }
    /// `self && other`: the arrays share an element.
    fn overlaps<V: AsExpr<Vec<T>>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Overlaps, other.into_expr())
    }
}

impl<T: 'static, E: Expression<Rust = Vec<T>>> ArrayMethods<T> for E {}

/// `x = ANY(array)`: `x` is an element of an array expression (for a list of values, `in_`).
pub fn any_of_array<X: Expression, A: Expression<Rust = Vec<X::Rust>>>(x: X, array: A) -> Binary<X, AnyArg<A>, bool> {
    Binary::new(x, Op::Eq, AnyArg(array))
}

/// `ANY(array)` on the right of `=`.
#[must_use]
pub struct AnyArg<A>(A);

impl<A: Expression> Expression for AnyArg<A> {
    type Rust = A::Rust;
    type Kind = A::Kind;
    fn into_node(self) -> crate::query::render::Node {
        crate::query::render::Node::Function("ANY", vec![self.0.into_node()])
    }
}

impl<S, I, A: super::ExprIn<S, I>> super::ExprIn<S, I> for AnyArg<A> {
    type Null = A::Null;
}

/// `cardinality(array)`: the number of elements, as `i32`.
pub fn cardinality<T: 'static, A: Expression<Rust = Vec<T>>>(array: A) -> Func<(A,), i32> {
    super::func::func("cardinality", (array,))
}

/// `unnest(array)`: one row per element (a set-returning function, for select lists), of an
/// array expression or a `Vec` of values (bound as one array parameter). Several in one select
/// list run side by side: `select_no_from().columns((unnest(ids), unnest(names)))` is the rows
/// of two arrays zipped, the bulk form of `UPDATE .. FROM` and `INSERT .. SELECT`.
pub fn unnest<T: 'static, A: AsExpr<Vec<T>>>(array: A) -> Func<(A::Expr,), T> {
    super::func::func("unnest", (array.into_expr(),))
}
