//! Window functions: `row_number() rank() dense_rank() lag(x) lead(x) first_value(x)` and any
//! aggregate, each `.over(window)`, where the window is `partition_by((..))`, `.order_by(..)` and an
//! optional frame. A windowed expression is a [`Windowed`] kind: refused in WHERE, ON and SET.

use std::marker::PhantomData;

use super::{
    Agg, AggFn, Aggregation, CountAll, ExprIn, Expression, NotAnAggregate, OrderItem,
    func::{Args, ArgsIn, MayBeNull, NeverNull, NullRule, Strict},
};
use crate::query::{
    NotNull, Nullability,
    render::{Frame, FrameBound, Node, WindowSpec},
};

/// Uses a window function (`.over(..)`).
pub struct Windowed;

impl Aggregation for Windowed {
    type Or<B: Aggregation> = Windowed;
}

/// A window function before its OVER clause: `row_number()`, `lag(x)`, ..
#[must_use]
pub struct WindowFn<A, R, P> {
    name: &'static str,
    args: A,
    _p: PhantomData<fn() -> (R, P)>,
}

fn call<A, R, P>(name: &'static str, args: A) -> WindowFn<A, R, P> {
    WindowFn { name, args, _p: PhantomData }
}

/// `row_number()`: the row's position in its partition, from 1.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::window;
/// # use taulu_app::schema;
/// use schema::{Members, members};
/// let q = select_from::<Members>().columns((
///     members::user_id,
///     row_number().over(partition_by((members::org_id,)).order_by(members::created_at.desc())).as_("n"),
///     count_all().over(window()),
/// ));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "members"."user_id", row_number() OVER (PARTITION BY "members"."org_id" ORDER BY "members"."created_at" DESC) AS "n", count(*) OVER () FROM "members""#
/// );
/// ```
pub fn row_number() -> WindowFn<(), i64, NeverNull> {
    call("row_number", ())
}

/// `rank()`: position with gaps after ties.
pub fn rank() -> WindowFn<(), i64, NeverNull> {
    call("rank", ())
}

/// `dense_rank()`: position without gaps.
pub fn dense_rank() -> WindowFn<(), i64, NeverNull> {
    call("dense_rank", ())
}

/// `lag(x)`: `x` of the previous row of the partition; NULL on the first.
pub fn lag<E: Expression>(x: E) -> WindowFn<(E,), E::Rust, MayBeNull> {
    call("lag", (x,))
}

/// `lead(x)`: `x` of the next row of the partition; NULL on the last.
pub fn lead<E: Expression>(x: E) -> WindowFn<(E,), E::Rust, MayBeNull> {
    call("lead", (x,))
}

/// `first_value(x)`: `x` of the first row of the window frame.
pub fn first_value<E: Expression>(x: E) -> WindowFn<(E,), E::Rust, Strict> {
    call("first_value", (x,))
}

/// What can take an OVER clause: window functions and aggregates.
pub trait Windowable {
    /// The Rust type of its value.
    type Rust: 'static;
    #[doc(hidden)]
    fn into_call(self) -> Node;
}

/// A windowable call over the scope `S`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot take an OVER clause in this query",
    label = "a window function or aggregate over this query's tables"
)]
pub trait WindowableIn<S, I>: Windowable {
    /// Whether its value can be NULL.
    type Null: Nullability;
}

impl<A: Args, R: 'static, P: NullRule> Windowable for WindowFn<A, R, P> {
    type Rust = R;
    fn into_call(self) -> Node {
        Node::Function(self.name, self.args.nodes())
    }
}

impl<S, I, A: ArgsIn<S, I>, R: 'static, P: NullRule> WindowableIn<S, I> for WindowFn<A, R, P>
where
    A::Kind: NotAnAggregate,
{
    type Null = P::Out<A::Any, A::All>;
}

impl<E: Expression, K: AggFn<E::Rust>> Windowable for Agg<E, K> {
    type Rust = K::Out;
    fn into_call(self) -> Node {
        self.into_node()
    }
}

impl<S, I, E: ExprIn<S, I>, K: AggFn<E::Rust>> WindowableIn<S, I> for Agg<E, K>
where
    Agg<E, K>: ExprIn<S, I>,
{
    type Null = <Agg<E, K> as ExprIn<S, I>>::Null;
}

impl<A: Windowable + Expression<Kind = super::Aggregate>, C: Expression<Rust = bool>> Windowable
    for super::agg::Filtered<A, C>
{
    type Rust = <A as Expression>::Rust;
    fn into_call(self) -> Node {
        self.into_node()
    }
}

impl<S, I, A: Windowable + Expression<Kind = super::Aggregate>, C: Expression<Rust = bool>> WindowableIn<S, I>
    for super::agg::Filtered<A, C>
where
    super::agg::Filtered<A, C>: ExprIn<S, I>,
{
    type Null = <super::agg::Filtered<A, C> as ExprIn<S, I>>::Null;
}

impl Windowable for CountAll {
    type Rust = i64;
    fn into_call(self) -> Node {
        Node::CountStar
    }
}

impl<S> WindowableIn<S, ()> for CountAll {
    type Null = NotNull;
}

/// A frame bound: `UNBOUNDED PRECEDING`, `n PRECEDING`, `CURRENT ROW`, `n FOLLOWING`,
/// `UNBOUNDED FOLLOWING`.
pub use crate::query::render::FrameBound as Bound;

/// A window: `PARTITION BY ..`, `ORDER BY ..` and a frame. `P` is a tuple of expressions, `O` the
/// list of sort keys.
#[must_use]
pub struct Window<P, O> {
    partition: P,
    order: O,
    frame: Option<Frame>,
}

/// `OVER ()`: the whole result as one partition.
pub fn window() -> Window<(), ()> {
    Window { partition: (), order: (), frame: None }
}

/// `OVER (PARTITION BY ..)`: `partition_by((members::org_id,))`.
pub fn partition_by<P: Args>(expressions: P) -> Window<P, ()> {
    Window { partition: expressions, order: (), frame: None }
}

impl<P, O> Window<P, O> {
    /// `ORDER BY key` within each partition; successive calls add sort keys.
    pub fn order_by<K>(self, key: K) -> Window<P, (O, K)> {
        Window { partition: self.partition, order: (self.order, key), frame: self.frame }
    }

    /// `ROWS BETWEEN start AND end`.
    pub fn rows_between(mut self, start: FrameBound, end: FrameBound) -> Self {
        self.frame = Some(Frame { rows: true, start, end });
        self
    }

    /// `RANGE BETWEEN start AND end`.
    pub fn range_between(mut self, start: FrameBound, end: FrameBound) -> Self {
        self.frame = Some(Frame { rows: false, start, end });
        self
    }
}

/// The sort keys of a window over the scope `S` (a nested list, checked key by key).
pub trait WindowOrder<S, I> {}

impl<S> WindowOrder<S, ()> for () {}

impl<S, IP, IK, P: WindowOrder<S, IP>, K: OrderItem<S, IK>> WindowOrder<S, (IP, IK)> for (P, K) {}

/// A window over the scope `S`: its partition expressions and sort keys are in scope.
pub trait WindowIn<S, I> {}

impl<S, IP, IO, P: ArgsIn<S, IP>, O: WindowOrder<S, IO>> WindowIn<S, (IP, IO)> for Window<P, O> where
    P::Kind: NotAnAggregate
{
}

/// `call OVER (window)`.
#[must_use]
pub struct Over<F, W> {
    call: F,
    window: W,
}

/// `.over(window)` on window functions and aggregates.
pub trait OverExt: Windowable + Sized {
    /// `self OVER (window)`: `row_number().over(partition_by((members::org_id,)).order_by(members::created_at))`.
    fn over<W>(self, window: W) -> Over<Self, W> {
        Over { call: self, window }
    }
}

impl<F: Windowable> OverExt for F {}

impl<F: Windowable, W: WindowSpecOf> Expression for Over<F, W> {
    type Rust = F::Rust;
    type Kind = Windowed;
    fn into_node(self) -> Node {
        Node::Over(Box::new(self.call.into_call()), Box::new(self.window.into_spec()))
    }
}

/// A window's spec, scope aside (the scope is checked by [`WindowIn`]).
pub trait WindowSpecOf {
    #[doc(hidden)]
    fn into_spec(self) -> WindowSpec;
}

impl<P: Args, O: OrderNodes> WindowSpecOf for Window<P, O> {
    fn into_spec(self) -> WindowSpec {
        let mut order = Vec::new();
        self.order.push_nodes(&mut order);
        WindowSpec { partition: self.partition.nodes(), order, frame: self.frame }
    }
}

/// Sort keys as nodes, scope aside.
pub trait OrderNodes {
    #[doc(hidden)]
    fn push_nodes(self, out: &mut Vec<(Node, crate::query::render::Order)>);
}

impl OrderNodes for () {
    fn push_nodes(self, _: &mut Vec<(Node, crate::query::render::Order)>) {}
}

impl<P: OrderNodes, K: super::OrderKey> OrderNodes for (P, K) {
    fn push_nodes(self, out: &mut Vec<(Node, crate::query::render::Order)>) {
        self.0.push_nodes(out);
        let (e, order) = self.1.into_parts();
        out.push((e.into_node(), order));
    }
}

impl<S, IF, IW, F: WindowableIn<S, IF>, W: WindowSpecOf + WindowIn<S, IW>> ExprIn<S, (IF, IW)> for Over<F, W> {
    type Null = F::Null;
}
