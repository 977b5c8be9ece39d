//! Aggregates (`count(*)`, `count`, `sum`, `avg`, `min`, `max`) with exact result types, select
//! aliases, and comparisons of aggregates for HAVING. `count` is `i64`; `sum` of `smallint` /
//! `integer` is `bigint` (`i64`), of `bigint` and `numeric` a `Decimal`; `avg` of integers and
//! `numeric` is `Decimal`, of floats `f64`; all but `count` are NULL over no rows, hence `Option`.

use std::marker::PhantomData;

use rust_decimal::Decimal;

use super::{
    Column, Table,
    expr::Condition,
    render::{Node, SelectItem},
    scope::InScope,
    select::SelectItemOf,
    value::{Bind, Param},
};

/// `count(*)`.
#[derive(Debug, Clone, Copy)]
pub struct CountAll;

/// `count(*)`: the number of rows, as `i64`.
pub fn count_all() -> CountAll {
    CountAll
}

/// What an aggregate computes; `Out<T>` is its Rust result for a column of Rust type `T`.
pub trait AggKind {
    /// The SQL function.
    const NAME: &'static str;
}

/// `count(column)`.
pub struct CountK;
/// `sum(column)`.
pub struct SumK;
/// `avg(column)`.
pub struct AvgK;
/// `min(column)`.
pub struct MinK;
/// `max(column)`.
pub struct MaxK;

impl AggKind for CountK {
    const NAME: &'static str = "count";
}
impl AggKind for SumK {
    const NAME: &'static str = "sum";
}
impl AggKind for AvgK {
    const NAME: &'static str = "avg";
}
impl AggKind for MinK {
    const NAME: &'static str = "min";
}
impl AggKind for MaxK {
    const NAME: &'static str = "max";
}

/// The result type of `sum` over a column of Rust type `Self`.
#[diagnostic::on_unimplemented(
    message = "sum() needs a numeric column, not one of type `{Self}`",
    label = "not a number"
)]
pub trait Summable {
    /// PostgreSQL's result type for the sum.
    type Sum;
}
impl Summable for i16 {
    type Sum = i64;
}
impl Summable for i32 {
    type Sum = i64;
}
impl Summable for i64 {
    type Sum = Decimal;
}
impl Summable for f32 {
    type Sum = f32;
}
impl Summable for f64 {
    type Sum = f64;
}
impl Summable for Decimal {
    type Sum = Decimal;
}

/// The result type of `avg` over a column of Rust type `Self`.
#[diagnostic::on_unimplemented(
    message = "avg() needs a numeric column, not one of type `{Self}`",
    label = "not a number"
)]
pub trait Averageable {
    /// PostgreSQL's result type for the average.
    type Avg;
}
impl Averageable for i16 {
    type Avg = Decimal;
}
impl Averageable for i32 {
    type Avg = Decimal;
}
impl Averageable for i64 {
    type Avg = Decimal;
}
impl Averageable for f32 {
    type Avg = f64;
}
impl Averageable for f64 {
    type Avg = f64;
}
impl Averageable for Decimal {
    type Avg = Decimal;
}

/// An aggregate of column `C`.
#[derive(Debug, Clone, Copy)]
pub struct Agg<C, K>(PhantomData<(C, K)>);

/// `count(column)`: non-NULL values, as `i64`.
pub fn count<C: Column>(_column: C) -> Agg<C, CountK> {
    Agg(PhantomData)
}

/// `sum(column)`.
pub fn sum<C: Column>(_column: C) -> Agg<C, SumK>
where
    C::Rust: Summable,
{
    Agg(PhantomData)
}

/// `avg(column)`.
pub fn avg<C: Column>(_column: C) -> Agg<C, AvgK>
where
    C::Rust: Averageable,
{
    Agg(PhantomData)
}

/// `min(column)`.
pub fn min<C: Column>(_column: C) -> Agg<C, MinK> {
    Agg(PhantomData)
}

/// `max(column)`.
pub fn max<C: Column>(_column: C) -> Agg<C, MaxK> {
    Agg(PhantomData)
}

fn agg_node<C: Column, K: AggKind>() -> Node {
    Node::Function(K::NAME, vec![Node::Column { table: <C::Table as Table>::NAME, column: C::NAME }])
}

/// The Rust result type of aggregate kind `K` over a column of Rust type `T`.
pub trait AggOut<T> {
    /// The type.
    type Out;
}
impl<T> AggOut<T> for CountK {
    type Out = i64;
}
impl<T: Summable> AggOut<T> for SumK {
    type Out = Option<T::Sum>;
}
impl<T: Averageable> AggOut<T> for AvgK {
    type Out = Option<T::Avg>;
}
impl<T> AggOut<T> for MinK {
    type Out = Option<T>;
}
impl<T> AggOut<T> for MaxK {
    type Out = Option<T>;
}

impl<S> SelectItemOf<S, ()> for CountAll {
    type Out = i64;
    fn item(self) -> SelectItem {
        SelectItem { node: Node::CountStar, alias: None }
    }
}

impl<S, I, C: InScope<S, I>, K: AggKind + AggOut<C::Rust>> SelectItemOf<S, I> for Agg<C, K> {
    type Out = <K as AggOut<C::Rust>>::Out;
    fn item(self) -> SelectItem {
        SelectItem { node: agg_node::<C, K>(), alias: None }
    }
}

/// A select item with `AS "alias"`.
pub struct As<X> {
    item: X,
    alias: &'static str,
}

pub(crate) fn aliased<X>(item: X, alias: &'static str) -> As<X> {
    As { item, alias }
}

impl<S, I, X: SelectItemOf<S, I>> SelectItemOf<S, I> for As<X> {
    type Out = X::Out;
    fn item(self) -> SelectItem {
        SelectItem { alias: Some(self.alias), ..self.item.item() }
    }
}

/// `HAVING aggregate op $n`.
pub struct AggCompare<X> {
    node: Node,
    op: &'static str,
    value: Param,
    _x: PhantomData<X>,
}

impl<S> Condition<S, ()> for AggCompare<CountAll> {
    type Kind = super::expr::Aggregate;
    fn into_node(self) -> Node {
        Node::binary(self.node, self.op, Node::Param(self.value, None))
    }
}

impl<S, I, C: InScope<S, I>, K> Condition<S, I> for AggCompare<Agg<C, K>> {
    type Kind = super::expr::Aggregate;
    fn into_node(self) -> Node {
        Node::binary(self.node, self.op, Node::Param(self.value, None))
    }
}

impl<X> super::expr::BoolExt for AggCompare<X> {}

macro_rules! agg_methods {
    ($($name:ident => $op:literal),*) => {
        impl CountAll {
            /// `count(*) AS "alias"`.
            pub fn as_(self, alias: &'static str) -> As<Self> {
                As { item: self, alias }
            }
            $(
                #[doc = concat!("`count(*) ", $op, " $n` (for HAVING).")]
                pub fn $name(self, value: i64) -> AggCompare<Self> {
                    AggCompare { node: Node::CountStar, op: $op, value: Bind::<i64>::bind(value), _x: PhantomData }
                }
            )*
        }

        impl<C: Column, K: AggKind + AggOut<C::Rust>> Agg<C, K> {
            /// `aggregate AS "alias"`.
            pub fn as_(self, alias: &'static str) -> As<Self> {
                As { item: self, alias }
            }
            $(
                #[doc = concat!("`aggregate ", $op, " $n` (for HAVING); the value has the aggregate's type.")]
                pub fn $name<V>(self, value: V) -> AggCompare<Self>
                where
                    <K as AggOut<C::Rust>>::Out: Unwrapped,
                    V: Bind<<<K as AggOut<C::Rust>>::Out as Unwrapped>::Inner>,
                {
                    AggCompare { node: agg_node::<C, K>(), op: $op, value: value.bind(), _x: PhantomData }
                }
            )*
        }
    };
}

agg_methods!(eq => "=", ne => "<>", lt => "<", le => "<=", gt => ">", ge => ">=");

/// `Option<T>` -> `T` (and `i64` -> `i64`): the type a HAVING comparison value must have.
pub trait Unwrapped {
    /// The non-NULL type.
    type Inner;
}
impl<T> Unwrapped for Option<T> {
    type Inner = T;
}
impl Unwrapped for i64 {
    type Inner = i64;
}
