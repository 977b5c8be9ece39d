//! JSON / JSONB: the operators (`-> ->> #> #>> @> <@ ? ?| ?&`), `jsonb_set`, and nested results in
//! one round trip: a correlated subquery's rows as a JSON array ([`json_array`]) or its row as a
//! JSON object ([`json_object`]), decoded into the caller's serde types through [`Json`].

use super::ops::Op;

pub use postgres_types::Json;
use postgres_types::Type;

use super::{AsExpr, Binary, ExprIn, Expression, NullableExpr, Plain, func::Func};
use crate::query::{NotNull, render::Node, value::Param};

type Jsonb = serde_json::Value;

fn text_array(items: &[&str]) -> Param {
    Param::typed(items.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>(), Type::TEXT_ARRAY)
}

/// A `text[]` path or key list, bound as one parameter.
#[must_use]
pub struct TextArray(Param);

impl Expression for TextArray {
    type Rust = Vec<String>;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Param(self.0, None)
    }
}

impl<S> ExprIn<S, ()> for TextArray {
    type Null = NotNull;
}

/// The JSON operators, on every `jsonb` expression.
///
/// ```
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let doc = || val(serde_json::json!({"plan": {"tier": "pro"}}));
/// let q = select_from::<Users>()
///     .columns((doc().path_text(&["plan", "tier"]),))
///     .where_(doc().has_key("plan").and(doc().get("plan").contains(serde_json::json!({"tier": "pro"}))));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT $1::jsonb #>> $2 FROM "users" WHERE ($3::jsonb ? $4 AND $5::jsonb -> $6 @> $7)"#
/// );
/// ```
pub trait JsonMethods: Expression<Rust = Jsonb> {
    /// `self -> 'key'`: the member (NULL when absent).
    fn get<K: AsExpr<String>>(self, key: K) -> NullableExpr<Binary<Self, K::Expr, Jsonb>> {
        NullableExpr::new(Binary::new(self, Op::Get, key.into_expr()))
    }
    /// `self -> n`: the array element (NULL when absent); the index is sent as `integer` (a bare
    /// parameter would be taken for a key).
    fn at(self, index: i32) -> NullableExpr<Binary<Self, super::Bound<i32>, Jsonb>> {
        NullableExpr::new(Binary::new(self, Op::Get, super::val(index)))
    }
    /// `self ->> 'key'`: the member as text (NULL when absent or JSON null).
    fn get_text<K: AsExpr<String>>(self, key: K) -> NullableExpr<Binary<Self, K::Expr, String>> {
        NullableExpr::new(Binary::new(self, Op::GetText, key.into_expr()))
    }
    /// `self #> '{a,b}'`: the value at a path.
    fn path(self, path: &[&str]) -> NullableExpr<Binary<Self, TextArray, Jsonb>> {
        NullableExpr::new(Binary::new(self, Op::Path, TextArray(text_array(path))))
    }
    /// `self #>> '{a,b}'`: the value at a path, as text.
    fn path_text(self, path: &[&str]) -> NullableExpr<Binary<Self, TextArray, String>> {
        NullableExpr::new(Binary::new(self, Op::PathText, TextArray(text_array(path))))
    }
    /// `self @> other`: contains.
    fn contains<V: AsExpr<Jsonb>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Contains, other.into_expr())
    }
    /// `self <@ other`: is contained in.
    fn contained_in<V: AsExpr<Jsonb>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::ContainedBy, other.into_expr())
    }
    /// `self ? 'key'`: has the top-level key.
    fn has_key<K: AsExpr<String>>(self, key: K) -> Binary<Self, K::Expr, bool> {
        Binary::new(self, Op::HasKey, key.into_expr())
    }
    /// `self ?| '{a,b}'`: has any of the keys.
    fn has_any_key(self, keys: &[&str]) -> Binary<Self, TextArray, bool> {
        Binary::new(self, Op::HasAny, TextArray(text_array(keys)))
    }
    /// `self ?& '{a,b}'`: has all of the keys.
    fn has_all_keys(self, keys: &[&str]) -> Binary<Self, TextArray, bool> {
        Binary::new(self, Op::HasAll, TextArray(text_array(keys)))
    }
}

impl<E: Expression<Rust = Jsonb>> JsonMethods for E {}

/// `jsonb_set(target, path, value)`: `target` with the value at `path` replaced (or added).
pub fn jsonb_set<T: Expression<Rust = Jsonb>, V: AsExpr<Jsonb>>(
    target: T,
    path: &[&str],
    value: V,
) -> Func<(T, TextArray, V::Expr), Jsonb> {
    super::func::func("jsonb_set", (target, TextArray(text_array(path)), value.into_expr()))
}
