//! Typed expressions: comparisons, NULL tests, IN lists, LIKE, BETWEEN and boolean combinators,
//! each a small struct that becomes a [`Node`] and is a [`Condition`] only over a scope that
//! contains the tables of its columns. Built with the [`ColumnExt`] methods on column markers.

use std::marker::PhantomData;

use super::{
    Column,
    render::{Node, Order},
    scope::{Comparable, InScope},
    value::{Bind, Param},
};

/// A boolean expression over the tables of the scope `S` (`I`: inferred indices).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a condition over the tables in this query",
    label = "uses a column whose table is not in this query's FROM/JOIN scope"
)]
pub trait Condition<S, I> {
    /// [`Plain`], or [`Aggregate`] when it uses an aggregate (allowed in HAVING only).
    type Kind: Aggregation;
    #[doc(hidden)]
    fn into_node(self) -> Node;
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

/// Conditions allowed in WHERE (and an UPDATE's or DELETE's WHERE): no aggregates.
#[diagnostic::on_unimplemented(
    message = "an aggregate cannot be used in WHERE",
    label = "this condition uses an aggregate (count, sum, avg, min, max)",
    note = "WHERE filters rows before they are grouped: filter on aggregates with `.having(..)`"
)]
pub trait NoAggregate {}
impl NoAggregate for Plain {}

/// A condition for WHERE: over the scope `S`, and without aggregates. (One bound instead of a
/// `Condition` bound plus a bound on its `Kind`, so a column outside the scope is reported once.)
pub trait WhereCondition<S, I>: Condition<S, I> {}

impl<S, I, E: Condition<S, I>> WhereCondition<S, I> for E where E::Kind: NoAggregate {}

fn col<C: Column>() -> Node {
    Node::Column { table: <C::Table as super::Table>::NAME, column: C::NAME }
}

fn value<C: Column>(p: Param) -> Node {
    Node::Param(p, C::CAST)
}

/// `column op $n`.
#[must_use]
pub struct Compare<C> {
    op: &'static str,
    value: Param,
    _c: PhantomData<C>,
}

impl<S, I, C: InScope<S, I>> Condition<S, I> for Compare<C> {
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::binary(col::<C>(), self.op, value::<C>(self.value))
    }
}

/// `a op b` for two columns.
#[must_use]
pub struct CompareColumns<A, B> {
    op: &'static str,
    _c: PhantomData<(A, B)>,
}

impl<S, IA, IB, A: InScope<S, IA>, B: InScope<S, IB>> Condition<S, (IA, IB)> for CompareColumns<A, B> {
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::binary(col::<A>(), self.op, col::<B>())
    }
}

/// `column IS [NOT] NULL`.
#[must_use]
pub struct IsNull<C> {
    negated: bool,
    _c: PhantomData<C>,
}

impl<S, I, C: InScope<S, I>> Condition<S, I> for IsNull<C> {
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Postfix(Box::new(col::<C>()), if self.negated { "IS NOT NULL" } else { "IS NULL" })
    }
}

/// `column [NOT] IN ($1, ..)`.
#[must_use]
pub struct InList<C> {
    values: Vec<Param>,
    negated: bool,
    _c: PhantomData<C>,
}

impl<S, I, C: InScope<S, I>> Condition<S, I> for InList<C> {
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::InList {
            lhs: Box::new(col::<C>()),
            list: self.values.into_iter().map(value::<C>).collect(),
            negated: self.negated,
        }
    }
}

/// `column BETWEEN $1 AND $2`.
#[must_use]
pub struct Between<C> {
    low: Param,
    high: Param,
    _c: PhantomData<C>,
}

impl<S, I, C: InScope<S, I>> Condition<S, I> for Between<C> {
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Between {
            lhs: Box::new(col::<C>()),
            low: Box::new(value::<C>(self.low)),
            high: Box::new(value::<C>(self.high)),
        }
    }
}

/// `(a AND b)`.
#[must_use]
pub struct And<A, B>(A, B);

impl<S, IA, IB, A: Condition<S, IA>, B: Condition<S, IB>> Condition<S, (IA, IB)> for And<A, B> {
    type Kind = <A::Kind as Aggregation>::Or<B::Kind>;
    fn into_node(self) -> Node {
        Node::And(vec![self.0.into_node(), self.1.into_node()])
    }
}

/// `(a OR b)`.
#[must_use]
pub struct Or<A, B>(A, B);

impl<S, IA, IB, A: Condition<S, IA>, B: Condition<S, IB>> Condition<S, (IA, IB)> for Or<A, B> {
    type Kind = <A::Kind as Aggregation>::Or<B::Kind>;
    fn into_node(self) -> Node {
        Node::Or(vec![self.0.into_node(), self.1.into_node()])
    }
}

/// `NOT (a)`.
#[must_use]
pub struct Not<A>(A);

impl<S, I, A: Condition<S, I>> Condition<S, I> for Not<A> {
    type Kind = A::Kind;
    fn into_node(self) -> Node {
        Node::Not(Box::new(self.0.into_node()))
    }
}

/// `and`, `or`, `not` on every condition.
pub trait BoolExt: Sized {
    /// `(self AND other)`.
    fn and<B>(self, other: B) -> And<Self, B> {
        And(self, other)
    }
    /// `(self OR other)`.
    fn or<B>(self, other: B) -> Or<Self, B> {
        Or(self, other)
    }
}

impl<C> BoolExt for Compare<C> {}
impl<A, B> BoolExt for CompareColumns<A, B> {}
impl<C> BoolExt for IsNull<C> {}
impl<C> BoolExt for InList<C> {}
impl<C> BoolExt for Between<C> {}
impl<A, B> BoolExt for And<A, B> {}
impl<A, B> BoolExt for Or<A, B> {}
impl<A> BoolExt for Not<A> {}

/// `NOT (condition)`.
pub fn not<A>(condition: A) -> Not<A> {
    Not(condition)
}

/// An ORDER BY item: a column with a direction and NULL placement.
#[must_use]
pub struct Ordered<C> {
    pub(crate) order: Order,
    _c: PhantomData<C>,
}

impl<C> Ordered<C> {
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

/// A sort key: a column (ascending) or a column with a direction ([`Ordered`]).
pub trait OrderKey {
    /// The column it sorts by.
    type Column: Column;
    #[doc(hidden)]
    fn order(&self) -> Order;
}

impl<C: Column> OrderKey for C {
    type Column = C;
    fn order(&self) -> Order {
        Order { desc: false, nulls: None }
    }
}

impl<C: Column> OrderKey for Ordered<C> {
    type Column = C;
    fn order(&self) -> Order {
        self.order
    }
}

/// Something ORDER BY accepts over scope `S`: a sort key whose column is in scope. One impl, so
/// a column outside the scope is reported as such (by [`InScope`]), whatever its direction.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot order this query",
    label = "not a column of a table in this query's FROM/JOIN scope",
    note = "order by a column of a joined table, optionally `.desc()` / `.asc()`"
)]
pub trait OrderItem<S, I> {
    #[doc(hidden)]
    fn into_order(self) -> (Node, Order);
}

impl<S, I, K: OrderKey> OrderItem<S, I> for K
where
    K::Column: InScope<S, I>,
{
    fn into_order(self) -> (Node, Order) {
        (col::<K::Column>(), self.order())
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

/// Text types: what LIKE and ILIKE accept.
#[diagnostic::on_unimplemented(
    message = "LIKE and ILIKE need a text column, not a column of type `{Self}`",
    label = "this column is not text",
    note = "compare with `eq`, `lt`, `between`, .. instead"
)]
pub trait Text {}
impl Text for String {}

/// Comparison and predicate methods on every column marker: `users::email.eq("a@b.c")`.
///
/// Values must have the column's Rust type ([`Bind`]); comparing with NULL is
/// [`is_null`](ColumnExt::is_null), never `eq(None)`.
pub trait ColumnExt: Column {
    /// `column = $n`.
    fn eq<V: Bind<Self::Rust>>(self, value: V) -> Compare<Self> {
        Compare { op: "=", value: value.bind(), _c: PhantomData }
    }
    /// `column <> $n`.
    fn ne<V: Bind<Self::Rust>>(self, value: V) -> Compare<Self> {
        Compare { op: "<>", value: value.bind(), _c: PhantomData }
    }
    /// `column < $n`.
    fn lt<V: Bind<Self::Rust>>(self, value: V) -> Compare<Self> {
        Compare { op: "<", value: value.bind(), _c: PhantomData }
    }
    /// `column <= $n`.
    fn le<V: Bind<Self::Rust>>(self, value: V) -> Compare<Self> {
        Compare { op: "<=", value: value.bind(), _c: PhantomData }
    }
    /// `column > $n`.
    fn gt<V: Bind<Self::Rust>>(self, value: V) -> Compare<Self> {
        Compare { op: ">", value: value.bind(), _c: PhantomData }
    }
    /// `column >= $n`.
    fn ge<V: Bind<Self::Rust>>(self, value: V) -> Compare<Self> {
        Compare { op: ">=", value: value.bind(), _c: PhantomData }
    }
    /// `column = other_column` (both columns must have the same Rust type).
    fn eq_col<B: Column + Comparable<Self>>(self, _other: B) -> CompareColumns<Self, B> {
        CompareColumns { op: "=", _c: PhantomData }
    }
    /// `column <> other_column`.
    fn ne_col<B: Column + Comparable<Self>>(self, _other: B) -> CompareColumns<Self, B> {
        CompareColumns { op: "<>", _c: PhantomData }
    }
    /// `column IN ($1, $2, ..)`; an empty list matches nothing.
    fn in_<V: Bind<Self::Rust>>(self, values: impl IntoIterator<Item = V>) -> InList<Self> {
        InList { values: values.into_iter().map(Bind::bind).collect(), negated: false, _c: PhantomData }
    }
    /// `column NOT IN ($1, $2, ..)`; an empty list matches everything.
    fn not_in<V: Bind<Self::Rust>>(self, values: impl IntoIterator<Item = V>) -> InList<Self> {
        InList { values: values.into_iter().map(Bind::bind).collect(), negated: true, _c: PhantomData }
    }
    /// `column LIKE $n` (text columns).
    fn like<V: Bind<String>>(self, pattern: V) -> Compare<Self>
    where
        Self::Rust: Text,
    {
        Compare { op: "LIKE", value: pattern.bind(), _c: PhantomData }
    }
    /// `column ILIKE $n` (text columns, case-insensitive).
    fn ilike<V: Bind<String>>(self, pattern: V) -> Compare<Self>
    where
        Self::Rust: Text,
    {
        Compare { op: "ILIKE", value: pattern.bind(), _c: PhantomData }
    }
    /// `column BETWEEN $1 AND $2`.
    fn between<V: Bind<Self::Rust>, W: Bind<Self::Rust>>(self, low: V, high: W) -> Between<Self> {
        Between { low: low.bind(), high: high.bind(), _c: PhantomData }
    }
    /// `column IS NULL`.
    fn is_null(self) -> IsNull<Self> {
        IsNull { negated: false, _c: PhantomData }
    }
    /// `column IS NOT NULL`.
    fn is_not_null(self) -> IsNull<Self> {
        IsNull { negated: true, _c: PhantomData }
    }
    /// `column AS "alias"` in a select list.
    fn as_(self, alias: &'static str) -> super::agg::As<Self> {
        super::agg::aliased(self, alias)
    }
    /// ORDER BY this column ascending.
    fn asc(self) -> Ordered<Self> {
        Ordered { order: Order { desc: false, nulls: None }, _c: PhantomData }
    }
    /// ORDER BY this column descending.
    fn desc(self) -> Ordered<Self> {
        Ordered { order: Order { desc: true, nulls: None }, _c: PhantomData }
    }
}

impl<C: Column> ColumnExt for C {}
