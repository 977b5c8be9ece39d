//! Aggregates (`count(*)`, `count`, `sum`, `avg`, `min`, `max`) over any non-aggregate expression,
//! with PostgreSQL's result types: `count` is `i64`; `sum` of `smallint` / `integer` is `bigint`
//! (`i64`), of `bigint` and `numeric` a `Decimal`; `avg` of integers and `numeric` is `Decimal`, of
//! floats `f64`. All but `count` are NULL over no rows, hence nullable.

use std::marker::PhantomData;

use rust_decimal::Decimal;

use super::{Aggregate, ExprIn, Expression, NotAnAggregate};
use crate::query::{NotNull, Nullability, Nullable, render::Node};

/// `count(*)`.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct CountAll;

/// `count(*)`: the number of rows, as `i64`.
pub fn count_all() -> CountAll {
    CountAll
}

impl Expression for CountAll {
    type Rust = i64;
    type Kind = Aggregate;
    fn into_node(self) -> Node {
        Node::CountStar
    }
}

impl<S> ExprIn<S, ()> for CountAll {
    type Null = NotNull;
}

/// The result type of `sum` over an expression of Rust type `Self`.
#[diagnostic::on_unimplemented(
    message = "sum() needs a number, not an expression of type `{Self}`",
    label = "not a number"
)]
pub trait Summable {
    /// PostgreSQL's result type for the sum.
    type Sum: 'static;
}
/// The result type of `avg` over an expression of Rust type `Self`.
#[diagnostic::on_unimplemented(
    message = "avg() needs a number, not an expression of type `{Self}`",
    label = "not a number"
)]
pub trait Averageable {
    /// PostgreSQL's result type for the average.
    type Avg: 'static;
}

macro_rules! numeric_aggs {
    ($($t:ty => $sum:ty, $avg:ty;)*) => {$(
        impl Summable for $t {
            type Sum = $sum;
        }
        impl Averageable for $t {
            type Avg = $avg;
        }
    )*};
}

numeric_aggs! {
    i16 => i64, Decimal;
    i32 => i64, Decimal;
    i64 => Decimal, Decimal;
    f32 => f32, f64;
    f64 => f64, f64;
    Decimal => Decimal, Decimal;
}

/// What an aggregate computes from an argument of Rust type `T`.
pub trait AggFn<T> {
    /// The SQL function.
    const NAME: &'static str;
    /// Its Rust result type.
    type Out: 'static;
    /// Its nullability ([`NotNull`] for `count`, else [`Nullable`]: no rows give NULL).
    type Null: Nullability;
}

/// `count(x)`.
pub struct Count;
/// `sum(x)`.
pub struct Sum;
/// `avg(x)`.
pub struct Avg;
/// `min(x)`.
pub struct Min;
/// `max(x)`.
pub struct Max;
/// `array_agg(x)`.
pub struct ArrayAgg;

impl<T> AggFn<T> for Count {
    const NAME: &'static str = "count";
    type Out = i64;
    type Null = NotNull;
}
impl<T: Summable> AggFn<T> for Sum {
    const NAME: &'static str = "sum";
    type Out = T::Sum;
    type Null = Nullable;
}
impl<T: Averageable> AggFn<T> for Avg {
    const NAME: &'static str = "avg";
    type Out = T::Avg;
    type Null = Nullable;
}
impl<T: 'static> AggFn<T> for Min {
    const NAME: &'static str = "min";
    type Out = T;
    type Null = Nullable;
}
impl<T: 'static> AggFn<T> for ArrayAgg {
    const NAME: &'static str = "array_agg";
    type Out = Vec<T>;
    type Null = Nullable;
}
impl<T: 'static> AggFn<T> for Max {
    const NAME: &'static str = "max";
    type Out = T;
    type Null = Nullable;
}

/// An aggregate `K` of the expression `E`.
#[must_use]
pub struct Agg<E, K>(E, PhantomData<K>);

impl<E: Expression, K: AggFn<E::Rust>> Expression for Agg<E, K> {
    type Rust = K::Out;
    type Kind = Aggregate;
    fn into_node(self) -> Node {
        Node::Function(K::NAME, vec![self.0.into_node()])
    }
}

impl<S, I, E: ExprIn<S, I>, K: AggFn<E::Rust>> ExprIn<S, I> for Agg<E, K>
where
    E::Kind: NotAnAggregate,
{
    type Null = K::Null;
}

/// `count(x)`: the number of non-NULL values, as `i64`.
pub fn count<E: Expression>(x: E) -> Agg<E, Count> {
    Agg(x, PhantomData)
}

/// `sum(x)`.
pub fn sum<E: Expression>(x: E) -> Agg<E, Sum>
where
    E::Rust: Summable,
{
    Agg(x, PhantomData)
}

/// `avg(x)`.
pub fn avg<E: Expression>(x: E) -> Agg<E, Avg>
where
    E::Rust: Averageable,
{
    Agg(x, PhantomData)
}

/// `min(x)`.
pub fn min<E: Expression>(x: E) -> Agg<E, Min> {
    Agg(x, PhantomData)
}

/// `max(x)`.
pub fn max<E: Expression>(x: E) -> Agg<E, Max> {
    Agg(x, PhantomData)
}

/// `array_agg(x)`: the values as an array, `Vec<T>` (NULL over no rows). Aggregate a NOT NULL
/// expression: a NULL element cannot be read into `Vec<T>` (wrap it in `coalesce`).
pub fn array_agg<E: Expression>(x: E) -> Agg<E, ArrayAgg> {
    Agg(x, PhantomData)
}

/// An aggregate with `FILTER (WHERE condition)`: it sees only the rows the condition holds for.
#[must_use]
pub struct Filtered<A, C>(A, C);

/// `.filter(condition)` on an aggregate: `count(*) FILTER (WHERE ..)`, `sum(x) FILTER (WHERE ..)`.
/// Every expression has the method, so that using it on one that is not an aggregate says so
/// ([`AggregateCall`]) instead of rustc's suggestion of `Iterator::filter`.
pub trait FilterExt: Expression + Sized {
    /// `aggregate FILTER (WHERE condition)`: the condition is over the query's rows (no
    /// aggregates); the result keeps the aggregate's type and nullability (`count` still counts 0).
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema::{LoginAttempts, login_attempts};
    /// let q = select_from::<LoginAttempts>()
    ///     .group_by((login_attempts::identifier,))
    ///     .columns((login_attempts::identifier, count_all().filter(login_attempts::success.eq(false))));
    /// assert_eq!(
    ///     q.to_sql().0,
    ///     r#"SELECT "login_attempts"."identifier", count(*) FILTER (WHERE "login_attempts"."success" = $1) FROM "login_attempts" GROUP BY "login_attempts"."identifier""#
    /// );
    /// ```
    fn filter<C: Expression<Rust = bool>>(self, condition: C) -> Filtered<Self, C>
    where
        Self: AggregateCall,
    {
        Filtered(self, condition)
    }
}

impl<E: Expression> FilterExt for E {}

/// An aggregate function's call, which `FILTER (WHERE ..)` may follow.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an aggregate: FILTER (WHERE ..) follows `count`, `sum`, `avg`, `min`, `max`, `array_agg`",
    label = "not an aggregate call",
    note = "to keep only some rows, use `.where_(..)`; to choose a value per row, `case_when(..)`"
)]
pub trait AggregateCall {}

impl AggregateCall for CountAll {}
impl<E: Expression, K: AggFn<E::Rust>> AggregateCall for Agg<E, K> {}

// `A` is an aggregate call: `filter`, the only way to make one, asks for `AggregateCall` (and
// says so when it is not one; asking for `Kind = Aggregate` here too would add a second error).
impl<A: Expression, C: Expression<Rust = bool>> Expression for Filtered<A, C> {
    type Rust = A::Rust;
    type Kind = Aggregate;
    fn into_node(self) -> Node {
        Node::Filter(Box::new((self.0.into_node(), self.1.into_node())))
    }
}

impl<S, IA, IC, A, C> ExprIn<S, (IA, IC)> for Filtered<A, C>
where
    A: ExprIn<S, IA>,
    C: ExprIn<S, IC, Rust = bool>,
    C::Kind: NotAnAggregate,
{
    type Null = A::Null;
}
