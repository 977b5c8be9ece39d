//! The typed expression core. Every expression (a column, a bound value, an operator, a function
//! call, an aggregate, CASE, a cast, a subquery, a raw fragment) implements [`Expression`], which
//! says its Rust type and whether it contains an aggregate, and [`ExprIn`], which checks it against
//! a query's FROM/JOIN scope and says whether it can be NULL there. The methods (`eq`, `add`,
//! `like`, `is_null`, `and`, `as_`, `desc`, `cast`, ..) are written once, in [`ExpressionMethods`],
//! for every expression. Expressions only build [`Node`]s; `render.rs` writes the SQL.

mod agg;
mod array;
mod bind;
mod dynamic;
mod func;
mod json;
mod ops;
mod raw;
mod subquery;
mod window;

use std::marker::PhantomData;

pub use agg::{
    Agg, AggFn, AggregateCall, ArrayAgg, Averageable, Avg, Count, CountAll, FilterExt, Filtered, Max, Min, Sum,
    Summable, array_agg, avg, count, count_all, max, min, sum,
};
pub use array::{AnyArg, ArrayMethods, any_of_array, cardinality, unnest};
pub use bind::{Bind, NoneIsNotAValueUseIsNullOrSetNull, RawValue, SqlArg, ValueFor};
pub use dynamic::{Boxed, BoxedOrder, all_of, any_of};
pub use func::{
    Args, ArgsIn, Arms, ArmsIn, Case, CaseOf, Cast, CastTarget, FirstNonNull, Func, Keyword, MayBeNull, NeverNull,
    NoElse, NullRule, SimpleCase, Strict, ValueArmsIn, When, case, case_when, coalesce, current_date,
    current_timestamp, func, greatest, least, length, lower, now, nullif, substring, trim, upper,
};
pub use json::{Json, JsonMethods, TextArray, jsonb_set};
pub(crate) use ops::with_cast;
pub use ops::{And, Between, Binary, InList, IsNull, Not, NullableExpr, Or, not};
pub use raw::{RawArgs, RawArgsIn, Sql, on_true, sql};
pub use subquery::{Exists, InSelect, Scalar, SingleColumn, Subquery, exists, not_exists, scalar};
pub use window::{
    Bound as FrameBound, Over, OverExt, Window, WindowFn, WindowIn, WindowOrder, WindowSpecOf, Windowable,
    WindowableIn, Windowed, dense_rank, first_value, lag, lead, partition_by, rank, row_number, window,
};

use ops::Op;

use super::{
    Column, NotNull, Nullability, Table,
    render::{Node, Order},
    scope::SameType,
    shape::{Bits, Fill},
    value::Param,
};

/// A typed SQL expression: its Rust type and whether it uses an aggregate. Scope checks and
/// nullability are in [`ExprIn`].
pub trait Expression: Sized {
    /// The Rust type of a non-NULL value of the expression (`i64` for `count(*)`).
    type Rust: 'static;
    /// [`Plain`], or [`Aggregate`] when it uses an aggregate.
    type Kind: Aggregation;
    /// The cast a bound value compared with or assigned to this expression needs (a domain-typed
    /// column's base type), if any.
    #[doc(hidden)]
    const CAST: Option<&'static str> = None;
    #[doc(hidden)]
    fn into_node(self) -> Node;
    /// A column: its node follows from its type and holds no value.
    #[doc(hidden)]
    const LEAF: Option<fn() -> Node> = None;
    /// The name a select list gives it without an alias, when its type says it (a column's
    /// name): what a derived table or CTE calls the column it selects (see `derived.rs`).
    #[doc(hidden)]
    const OUTPUT_NAME: Option<&'static str> = None;
    /// Writes what its type does not say of its text (an operator, ..) into `bits`; false when
    /// its text does not follow from its type and those bits (see `shape.rs`).
    #[doc(hidden)]
    #[inline]
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        let _ = bits;
        Self::LEAF.is_some()
    }
    /// Its node from its type and the bits `shape_bits` wrote, the values taken from `fill`
    /// (only after `shape_bits` said true).
    #[doc(hidden)]
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
        let _ = (bits, fill);
        Self::LEAF.expect("only an expression whose shape_bits said true is shaped")()
    }
    /// Its values, in the order `shape` takes them (only after `shape_bits` said true).
    #[doc(hidden)]
    #[inline]
    fn bind(self, params: &mut Vec<Param>) {
        let _ = params;
    }
}

/// An expression usable in a query whose FROM/JOIN scope is `S` (`I`: inferred table positions,
/// never written); `Null` says whether it can be NULL there (a left-joined column can).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an expression over the tables in this query",
    label = "expected a column or an expression of this query's tables",
    note = "a Rust value standing alone is written `val(v)`; a join on every row, `on_true()`"
)]
pub trait ExprIn<S, I>: Expression {
    /// [`NotNull`] or [`Nullable`](super::Nullable) in this scope.
    type Null: Nullability;
}

/// A column's node. Columns implement [`Expression`] and [`ExprIn`] in the code `schema!`
/// generates, one impl each, not through a blanket impl over [`Column`]: a blanket impl would be a
/// second candidate for every expression type, and rustc then reports a scope error as "`Binary<..>`
/// is not an expression over the tables in this query" instead of naming the column.
#[doc(hidden)]
pub fn column_node<C: Column>() -> Node {
    Node::Column { table: <C::Table as Table>::QUALIFIER, column: C::NAME, quoted: C::QUOTED }
}

/// Whether an expression uses an aggregate: [`Plain`] or [`Aggregate`].
pub trait Aggregation {
    /// [`Aggregate`] if either is.
    type Or<B: Aggregation>: Aggregation;
}

/// Uses no aggregate.
pub struct Plain;
/// Uses an aggregate (`count`, `sum`, `avg`, `min`, `max`).
pub struct Aggregate;

impl Aggregation for Plain {
    type Or<B: Aggregation> = B;
}
impl Aggregation for Aggregate {
    type Or<B: Aggregation> = Aggregate;
}

/// No aggregate in WHERE.
#[diagnostic::on_unimplemented(
    message = "an aggregate or window function cannot be used in WHERE",
    label = "this condition uses an aggregate (count, sum, avg, min, max) or a window function (`.over(..)`)",
    note = "WHERE filters rows before they are grouped: filter on aggregates with `.having(..)`, on window functions in an outer query"
)]
pub trait NoAggregate {}
impl NoAggregate for Plain {}

/// No aggregate in a join's ON.
#[diagnostic::on_unimplemented(
    message = "an aggregate or window function cannot be used in a join's ON condition",
    label = "this condition uses an aggregate (count, sum, avg, min, max) or a window function",
    note = "ON matches single rows before grouping: filter on aggregates with `.having(..)`"
)]
pub trait NoAggregateInOn {}
impl NoAggregateInOn for Plain {}

/// No aggregate in SET.
#[diagnostic::on_unimplemented(
    message = "an aggregate or window function cannot be assigned in SET",
    label = "this value uses an aggregate (count, sum, avg, min, max) or a window function",
    note = "SET computes each row from that row alone: compute the aggregate in a subquery with `scalar(..)`"
)]
pub trait NoAggregateInSet {}
impl NoAggregateInSet for Plain {}

/// No aggregate inside an aggregate.
#[diagnostic::on_unimplemented(
    message = "aggregate calls cannot be nested",
    label = "the argument of this aggregate is itself an aggregate",
    note = "aggregate the rows of a subquery instead"
)]
pub trait NotAnAggregate {}
impl NotAnAggregate for Plain {}

/// The Rust type of a boolean expression.
#[diagnostic::on_unimplemented(
    message = "expected a boolean condition, found an expression of type `{Self}`",
    label = "not a boolean expression",
    note = "compare it (`.eq(..)`, `.gt(..)`, `.is_null()`, ..) to make a condition"
)]
pub trait Boolean {}
impl Boolean for bool {}

/// A boolean expression over the tables of the scope `S` (`I`: inferred indices).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a condition over the tables in this query",
    label = "expected a boolean expression over this query's tables"
)]
pub trait Condition<S, I>: ExprIn<S, I> {}

impl<S, I, E: ExprIn<S, I> + Expression<Rust = bool>> Condition<S, I> for E {}

/// A condition for WHERE: over the scope `S`, and without aggregates. (One bound instead of a
/// `Condition` bound plus a bound on its `Kind`, so a column outside the scope is reported once.)
pub trait WhereCondition<S, I>: Condition<S, I> {}

impl<S, I, E: Condition<S, I>> WhereCondition<S, I> for E where E::Kind: NoAggregate {}

/// A condition for a join's ON: over the scope with the joined table, and without aggregates.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a join condition over the tables of this query",
    label = "expected a boolean expression over this query's tables and the joined one",
    note = "to join every row (`ON true`), write `on_true()`; a Rust value is written `val(v)`"
)]
pub trait OnCondition<S, I>: Condition<S, I> {}

impl<S, I, E: Condition<S, I>> OnCondition<S, I> for E where E::Kind: NoAggregateInOn {}

/// Whether a value of nullability `Self` may go into a column of nullability `N`.
#[diagnostic::on_unimplemented(
    message = "this expression may be NULL, but the column is NOT NULL",
    label = "can be NULL (a nullable or left-joined column, nullif, an aggregate, ..)",
    note = "give a default with `coalesce(expr, value)`"
)]
pub trait FitsNull<N> {}
impl<N> FitsNull<N> for NotNull {}
impl FitsNull<super::Nullable> for super::Nullable {}

/// The value of a SET (or DO UPDATE SET) of column `C`: an expression over scope `S` of the
/// column's type, without aggregates, not NULL when the column is NOT NULL.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be assigned to column `{C}`",
    label = "expected a value of the column's type, or an expression of it over this statement's table"
)]
pub trait SetValue<S, I, C: Column>: ExprIn<S, I> {}

impl<S, I, C: Column, E: ExprIn<S, I>> SetValue<S, I, C> for E
where
    E::Kind: NoAggregateInSet,
    E::Null: FitsNull<C::Null>,
{
}

/// A value or an expression of Rust type `T`: what comparison and arithmetic methods, `set` and
/// function arguments take. Values (`5`, `"ann"`, a `Uuid`, an enum variant) become bound
/// parameters; expressions (another column, `lower(..)`, `now()`) are written into the SQL.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value or expression of type `{T}`",
    label = "expected a `{T}`: a value, or a column or expression of that type"
)]
pub trait AsExpr<T> {
    /// The expression it becomes.
    type Expr: Expression;
    /// Converts it.
    fn into_expr(self) -> Self::Expr;
}

#[diagnostic::do_not_recommend]
impl<E: Expression> AsExpr<E::Rust> for E {
    type Expr = E;
    fn into_expr(self) -> E {
        self
    }
}

/// A bound value as an expression: `$n` (cast to its type where it stands alone, see [`val`]).
#[must_use]
pub struct Bound<T> {
    param: Param,
    cast: Option<&'static str>,
    _t: PhantomData<T>,
}

impl<T> Bound<T> {
    /// A value of type `T`; its SQL type comes from the expression it meets.
    pub fn new<V: Bind<T>>(value: V) -> Self {
        Bound { param: value.bind(), cast: None, _t: PhantomData }
    }
}

impl<T: 'static> Expression for Bound<T> {
    type Rust = T;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Param(self.param, self.cast)
    }
    fn shape_bits(&self, _: &mut Bits) -> bool {
        // `val(..)`'s cast is not in the type.
        self.cast.is_none()
    }
    fn shape(_: &mut Bits, fill: &mut Fill<'_>) -> Node {
        fill.param(None)
    }
    fn bind(self, params: &mut Vec<Param>) {
        params.push(self.param);
    }
}

impl<S, T: 'static> ExprIn<S, ()> for Bound<T> {
    type Null = NotNull;
}

/// A value standing alone as an expression, `$1::type`: in a select list (`val(1).as_("one")`),
/// as a function argument or on the left of an operator. Next to a column, pass the value itself.
pub fn val<T: CastTarget, V: Bind<T>>(value: V) -> Bound<T> {
    Bound { param: value.bind(), cast: Some(T::SQL), _t: PhantomData }
}

/// `None` where a value is expected. It converts, so the error is the one below, at the clause
/// that uses it: NULL is tested with `is_null()` and set with `set_null()`.
pub struct NullNotAllowed<T>(PhantomData<T>);

impl<T: 'static, V> AsExpr<T> for Option<V> {
    type Expr = NullNotAllowed<T>;
    fn into_expr(self) -> NullNotAllowed<T> {
        NullNotAllowed(PhantomData)
    }
}

impl<T: 'static> Expression for NullNotAllowed<T> {
    type Rust = T;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Null
    }
}

impl<S, T: 'static> ExprIn<S, ()> for NullNotAllowed<T>
where
    Option<T>: NoneIsNotAValueUseIsNullOrSetNull,
{
    type Null = super::Nullable;
}

/// An ORDER BY item: an expression with a direction and NULL placement.
#[must_use]
pub struct Ordered<E> {
    expr: E,
    order: Order,
}

impl<E> Ordered<E> {
    /// `NULLS FIRST`.
    pub fn nulls_first(mut self) -> Self {
        self.order.nulls = Some(true);
        self
    }
    /// `NULLS LAST`.
    pub fn nulls_last(mut self) -> Self {
        self.order.nulls = Some(false);
        self
    }
}

/// A sort key: an expression (ascending) or an expression with a direction ([`Ordered`]).
pub trait OrderKey {
    /// The expression it sorts by.
    type Expr: Expression;
    #[doc(hidden)]
    fn into_parts(self) -> (Self::Expr, Order);
    /// See [`Expression::shape_bits`].
    #[doc(hidden)]
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        let _ = bits;
        false
    }
    /// See [`Expression::shape`].
    #[doc(hidden)]
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> (Node, Order) {
        let _ = (bits, fill);
        unreachable!("only a sort key whose shape_bits said true is shaped")
    }
    /// See [`Expression::bind`].
    #[doc(hidden)]
    fn bind(self, params: &mut Vec<Param>)
    where
        Self: Sized,
    {
        Expression::bind(self.into_parts().0, params);
    }
}

impl<E: Expression> OrderKey for E {
    type Expr = E;
    fn into_parts(self) -> (E, Order) {
        (self, Order { desc: false, nulls: None })
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        Expression::shape_bits(self, bits)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> (Node, Order) {
        (E::shape(bits, fill), Order { desc: false, nulls: None })
    }
}

impl<E: Expression> OrderKey for Ordered<E> {
    type Expr = E;
    fn into_parts(self) -> (E, Order) {
        (self.expr, self.order)
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        let nulls = match self.order.nulls {
            None => 0,
            Some(true) => 1,
            Some(false) => 2,
        };
        self.expr.shape_bits(bits) && bits.push(u32::from(self.order.desc), 1) && bits.push(nulls, 2)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> (Node, Order) {
        let node = E::shape(bits, fill);
        let desc = bits.take(1) == 1;
        let nulls = match bits.take(2) {
            0 => None,
            n => Some(n == 1),
        };
        (node, Order { desc, nulls })
    }
}

/// Something ORDER BY accepts over scope `S`: a sort key whose expression is in scope. One impl,
/// so a column outside the scope is reported as such (by [`InScope`](crate::query::InScope)), whatever its direction.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot order this query",
    label = "not an expression over this query's FROM/JOIN scope",
    note = "order by a column of a joined table or an expression over them, optionally `.desc()` / `.asc()`"
)]
pub trait OrderItem<S, I> {
    #[doc(hidden)]
    fn into_order(self) -> (Node, Order);
    /// See [`Expression::shape_bits`].
    #[doc(hidden)]
    fn shape_bits(&self, bits: &mut Bits) -> bool;
    /// See [`Expression::shape`].
    #[doc(hidden)]
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> (Node, Order);
    /// See [`Expression::bind`].
    #[doc(hidden)]
    fn bind(self, params: &mut Vec<Param>);
}

impl<S, I, K: OrderKey> OrderItem<S, I> for K
where
    K::Expr: ExprIn<S, I>,
{
    fn into_order(self) -> (Node, Order) {
        let (e, order) = self.into_parts();
        (e.into_node(), order)
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        OrderKey::shape_bits(self, bits)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> (Node, Order) {
        <K as OrderKey>::shape(bits, fill)
    }
    fn bind(self, params: &mut Vec<Param>) {
        OrderKey::bind(self, params);
    }
}

/// Escapes `\`, `%` and `_` so a user's text matches literally inside a LIKE pattern:
/// `users::email.ilike(format!("%{}%", escape_like(input)))`. (The pattern is always a bound
/// parameter; escaping only stops the input from acting as wildcards.)
///
/// ```
/// assert_eq!(taulu::query::escape_like(r"50%_off\"), r"50\%\_off\\");
/// ```
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text types: what LIKE, ILIKE, `||` and the string functions accept.
#[diagnostic::on_unimplemented(
    message = "this needs a text expression, not one of type `{Self}`",
    label = "not text",
    note = "compare with `eq`, `lt`, `between`, .. instead, or `.cast::<String>()` first"
)]
pub trait Text {}
impl Text for String {}

/// Number types: what `+ - * /` accept. The result has the operands' type (both sides have the
/// same type; PostgreSQL's integer division truncates).
#[diagnostic::on_unimplemented(
    message = "arithmetic needs a number, not an expression of type `{Self}`",
    label = "not a number",
    note = "`add`, `sub`, `mul`, `div` take smallint, integer, bigint, real, double precision or numeric"
)]
pub trait Numeric {}
impl Numeric for i16 {}
impl Numeric for i32 {}
impl Numeric for i64 {}
impl Numeric for f32 {}
impl Numeric for f64 {}
impl Numeric for rust_decimal::Decimal {}

/// Types `%` accepts: integers and numeric (PostgreSQL has no `%` on floating point).
#[diagnostic::on_unimplemented(
    message = "`%` needs an integer or numeric expression, not one of type `{Self}`",
    label = "PostgreSQL has no remainder for this type"
)]
pub trait Remainder {}
impl Remainder for i16 {}
impl Remainder for i32 {}
impl Remainder for i64 {}
impl Remainder for rust_decimal::Decimal {}

/// The methods every expression has: comparisons, predicates, arithmetic, string concatenation,
/// boolean combinators, casts, aliases and sort directions. Arguments are values (bound as
/// parameters) or expressions of the same Rust type (`users::id.eq(id)`,
/// `sessions::user_id.eq(users::id)`, `login_attempts::id.add(1)`).
///
/// ```
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{LoginAttempts, Users, login_attempts, users};
/// // Functions, coalesce, CASE and aliases in a select list; a function in WHERE.
/// let q = select_from::<Users>()
///     .columns((
///         coalesce(users::display_name, users::username).as_("name"),
///         case_when(users::display_name.is_null(), val(true)).else_(false),
///     ))
///     .where_(lower(users::email).eq("ann@example.com"))
///     .order_by(length(users::username).desc());
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT coalesce("users"."display_name", "users"."username") AS "name", CASE WHEN "users"."display_name" IS NULL THEN $1::boolean ELSE $2::bool END FROM "users" WHERE lower("users"."email") = $3 ORDER BY length("users"."username") DESC"#
/// );
/// // The row type follows: coalesce is never NULL here, and neither is a CASE with an ELSE.
/// fn row<Q: taulu::query::Query>(_: &Q) -> Option<Q::Output> { None }
/// let _: Option<(String, bool)> = row(&q);
/// // Arithmetic keeps the operands' type; parentheses follow precedence.
/// let q = select_from::<LoginAttempts>().columns((login_attempts::id.add(1).mul(2),)).where_(login_attempts::id.rem(2).eq(0));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT ("login_attempts"."id" + $1) * $2 FROM "login_attempts" WHERE "login_attempts"."id" % $3 = $4"#
/// );
/// ```
#[allow(clippy::wrong_self_convention)] // `is_null` builds `x IS NULL`; it tests nothing itself
pub trait ExpressionMethods: Expression {
    /// `self = other`.
    fn eq<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Eq, other.into_expr())
    }
    /// `self <> other`.
    fn ne<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Ne, other.into_expr())
    }
    /// `self < other`.
    fn lt<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Lt, other.into_expr())
    }
    /// `self <= other`.
    fn le<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Le, other.into_expr())
    }
    /// `self > other`.
    fn gt<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Gt, other.into_expr())
    }
    /// `self >= other`.
    fn ge<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::Ge, other.into_expr())
    }
    /// `self IS DISTINCT FROM other` (NULL-safe `<>`).
    fn is_distinct_from<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, bool> {
        Binary::new(self, Op::IsDistinctFrom, other.into_expr())
    }
    /// `self BETWEEN low AND high`.
    fn between<L: AsExpr<Self::Rust>, H: AsExpr<Self::Rust>>(self, low: L, high: H) -> Between<Self, L::Expr, H::Expr> {
        Between::new(self, low.into_expr(), high.into_expr())
    }
    /// `self = ANY($1)`, SQL's `IN (..)` with the list bound as one array parameter: one statement
    /// text whatever the list's length (no statement-cache churn, no 65,535-parameter limit); an
    /// empty list matches nothing.
    fn in_<V: ValueFor<Self, Self::Rust>>(self, values: impl IntoIterator<Item = V>) -> InList<Self>
    where
        Vec<Self::Rust>: Bind<Vec<Self::Rust>>,
    {
        let list: Vec<Self::Rust> = values.into_iter().map(ValueFor::into_value).collect();
        InList::new(self, list.bind(), false)
    }
    /// `self <> ALL($1)`, SQL's `NOT IN (..)` with one array parameter; an empty list matches
    /// everything.
    fn not_in<V: ValueFor<Self, Self::Rust>>(self, values: impl IntoIterator<Item = V>) -> InList<Self>
    where
        Vec<Self::Rust>: Bind<Vec<Self::Rust>>,
    {
        let list: Vec<Self::Rust> = values.into_iter().map(ValueFor::into_value).collect();
        InList::new(self, list.bind(), true)
    }
    /// `self IN (SELECT ..)`: the subquery selects one column of the same Rust type.
    fn in_select<Q: SingleColumn>(self, select: Q) -> InSelect<Self>
    where
        Q::Rust: SameType<Self::Rust>,
    {
        InSelect::new(self, select.into_select(), false)
    }
    /// `self NOT IN (SELECT ..)`.
    fn not_in_select<Q: SingleColumn>(self, select: Q) -> InSelect<Self>
    where
        Q::Rust: SameType<Self::Rust>,
    {
        InSelect::new(self, select.into_select(), true)
    }
    /// `self LIKE pattern` (text).
    fn like<V: AsExpr<String>>(self, pattern: V) -> Binary<Self, V::Expr, bool>
    where
        Self::Rust: Text,
    {
        Binary::new(self, Op::Like, pattern.into_expr())
    }
    /// `self ILIKE pattern` (text, case-insensitive).
    fn ilike<V: AsExpr<String>>(self, pattern: V) -> Binary<Self, V::Expr, bool>
    where
        Self::Rust: Text,
    {
        Binary::new(self, Op::ILike, pattern.into_expr())
    }
    /// `self IS NULL`.
    fn is_null(self) -> IsNull<Self> {
        IsNull::new(self, false)
    }
    /// `self IS NOT NULL`.
    fn is_not_null(self) -> IsNull<Self> {
        IsNull::new(self, true)
    }
    /// `self + other`.
    fn add<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, Self::Rust>
    where
        Self::Rust: Numeric,
    {
        Binary::new(self, Op::Add, other.into_expr())
    }
    /// `self - other`.
    fn sub<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, Self::Rust>
    where
        Self::Rust: Numeric,
    {
        Binary::new(self, Op::Sub, other.into_expr())
    }
    /// `self * other`.
    fn mul<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, Self::Rust>
    where
        Self::Rust: Numeric,
    {
        Binary::new(self, Op::Mul, other.into_expr())
    }
    /// `self / other` (integer division truncates; dividing by zero is an error, 22012).
    fn div<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, Self::Rust>
    where
        Self::Rust: Numeric,
    {
        Binary::new(self, Op::Div, other.into_expr())
    }
    /// `self % other` (integers and numeric).
    fn rem<V: AsExpr<Self::Rust>>(self, other: V) -> Binary<Self, V::Expr, Self::Rust>
    where
        Self::Rust: Remainder,
    {
        Binary::new(self, Op::Rem, other.into_expr())
    }
    /// `self || other` (text).
    fn concat<V: AsExpr<String>>(self, other: V) -> Binary<Self, V::Expr, String>
    where
        Self::Rust: Text,
    {
        Binary::new(self, Op::Concat, other.into_expr())
    }
    /// `(self AND other)`.
    fn and<B>(self, other: B) -> And<Self, B>
    where
        Self: Expression<Rust = bool>,
    {
        And::new(self, other)
    }
    /// `(self OR other)`.
    fn or<B>(self, other: B) -> Or<Self, B>
    where
        Self: Expression<Rust = bool>,
    {
        Or::new(self, other)
    }
    /// `CAST(self AS type)`, to a mapped Rust type: `users::id.cast::<String>()`.
    fn cast<T: CastTarget>(self) -> Cast<Self, T> {
        Cast::new(self)
    }
    /// The same expression, read as possibly NULL (for a raw fragment or function that can
    /// return NULL from non-NULL arguments).
    fn nullable(self) -> NullableExpr<Self> {
        NullableExpr::new(self)
    }
    /// The expression with its type erased, keeping its scope and Rust type: for conditions and
    /// values chosen at run time (a `Vec` of filters, [`all_of`], [`any_of`]). The scope `S` is
    /// inferred from the query it ends up in, and checked there.
    fn boxed<S, I>(self) -> Boxed<S, Self::Rust, Self::Kind>
    where
        Self: ExprIn<S, I>,
    {
        Boxed::new(self.into_node())
    }
    /// `self AS "alias"` in a select list or RETURNING. The alias is a string, or a type
    /// declared with [`alias!`](crate::alias): in a derived table or CTE, a typed alias names
    /// the column (`d.column(Total)`) as a selected column's name does.
    fn as_<N: ItemAlias>(self, alias: N) -> As<Self, N::Name> {
        As { item: self, alias: alias.into_name() }
    }
    /// ORDER BY this expression ascending.
    fn asc(self) -> Ordered<Self> {
        Ordered { expr: self, order: Order { desc: false, nulls: None } }
    }
    /// ORDER BY this expression descending.
    fn desc(self) -> Ordered<Self> {
        Ordered { expr: self, order: Order { desc: true, nulls: None } }
    }
}

impl<E: Expression> ExpressionMethods for E {}

/// A select item with `AS "alias"` (`N`: the alias, a string ([`StrAlias`]) or an
/// [`Alias`](super::Alias) type).
#[must_use]
pub struct As<X, N = StrAlias> {
    pub(crate) item: X,
    pub(crate) alias: N,
}

/// What [`as_`](ExpressionMethods::as_) takes: a string, or a type declared with
/// [`alias!`](crate::alias), whose name is known to the type system.
pub trait ItemAlias {
    /// How [`As`] holds it: a type without lifetimes (a future holding an `As<X, &'static str>`
    /// would not be `Send` for rustc, which checks it with the lifetime erased).
    #[doc(hidden)]
    type Name: AliasName;
    #[doc(hidden)]
    fn into_name(self) -> Self::Name;
}

/// A string given to [`as_`](ExpressionMethods::as_).
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct StrAlias(&'static str);

/// An alias as [`As`] holds it.
#[doc(hidden)]
pub trait AliasName: Copy + 'static {
    /// The name, when the type says it (an [`Alias`](super::Alias) type).
    const TYPE_NAME: Option<&'static str>;
    /// The name.
    fn name(self) -> &'static str;
}

impl ItemAlias for &'static str {
    type Name = StrAlias;
    fn into_name(self) -> StrAlias {
        StrAlias(self)
    }
}

impl AliasName for StrAlias {
    const TYPE_NAME: Option<&'static str> = None;
    fn name(self) -> &'static str {
        self.0
    }
}

impl<A: super::Alias + Copy> ItemAlias for A {
    type Name = A;
    fn into_name(self) -> A {
        self
    }
}

impl<A: super::Alias + Copy> AliasName for A {
    const TYPE_NAME: Option<&'static str> = Some(A::NAME);
    fn name(self) -> &'static str {
        A::NAME
    }
}
