//! Expressions whose shape is chosen at run time, still checked against the query's tables:
//! [`Boxed`] erases an expression's type but keeps its scope `S` and Rust type, so conditions
//! collected in a loop ([`all_of`], [`any_of`]) or sort keys picked from a user's enum can only
//! name tables the query has.

use std::marker::PhantomData;

use super::{Aggregation, ExprIn, Expression, OrderKey, Ordered};
use crate::query::{
    Nullable,
    render::{Node, Order},
};

/// A type-erased expression of Rust type `T` over the scope `S` (`K`: [`Plain`](super::Plain) or
/// [`Aggregate`](super::Aggregate)). Made by [`ExpressionMethods::boxed`](super::ExpressionMethods::boxed);
/// read as possibly NULL.
#[must_use]
pub struct Boxed<S, T, K = super::Plain> {
    node: Node,
    _p: PhantomData<fn() -> (S, T, K)>,
}

impl<S, T, K> Boxed<S, T, K> {
    pub(crate) fn new(node: Node) -> Self {
        Boxed { node, _p: PhantomData }
    }
}

impl<S, T: 'static, K: Aggregation> Expression for Boxed<S, T, K> {
    type Rust = T;
    type Kind = K;
    fn into_node(self) -> Node {
        self.node
    }
}

impl<S, T: 'static, K: Aggregation> ExprIn<S, ()> for Boxed<S, T, K> {
    type Null = Nullable;
}

/// Every condition holds: `(a AND b AND ..)`; no conditions is `true`.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::{all_of, any_of};
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let (name, email): (Option<&str>, Option<&str>) = (Some("ann"), None);
/// let mut filters = Vec::new();
/// if let Some(n) = name {
///     filters.push(users::username.eq(n).boxed());
/// }
/// if let Some(e) = email {
///     filters.push(users::email.eq(e).boxed());
/// }
/// let q = select_from::<Users>().columns((users::id,)).where_(all_of(filters));
/// assert_eq!(q.to_sql().0, r#"SELECT "users"."id" FROM "users" WHERE "users"."username" = $1"#);
/// ```
pub fn all_of<S, K: Aggregation>(conditions: impl IntoIterator<Item = Boxed<S, bool, K>>) -> Boxed<S, bool, K> {
    Boxed::new(Node::And(conditions.into_iter().map(|c| c.node).collect()))
}

/// Some condition holds: `(a OR b OR ..)`; no conditions is `false`.
pub fn any_of<S, K: Aggregation>(conditions: impl IntoIterator<Item = Boxed<S, bool, K>>) -> Boxed<S, bool, K> {
    Boxed::new(Node::Or(conditions.into_iter().map(|c| c.node).collect()))
}

/// A sort key chosen at run time, over the scope `S`: `users::created_at.desc().boxed()`.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::BoxedOrder;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// enum Sort { Newest, Name }
/// let sort = Sort::Name;
/// let key = match sort {
///     Sort::Newest => users::created_at.desc().boxed(),
///     Sort::Name => users::username.asc().nulls_last().boxed(),
/// };
/// let q = select_from::<Users>().columns((users::id,)).order_by(key);
/// assert_eq!(q.to_sql().0, r#"SELECT "users"."id" FROM "users" ORDER BY "users"."username" NULLS LAST"#);
/// ```
#[must_use]
pub struct BoxedOrder<S> {
    node: Node,
    order: Order,
    _s: PhantomData<fn() -> S>,
}

impl<E: Expression> Ordered<E> {
    /// The sort key with its type erased, for keys chosen at run time (checked against the
    /// query's tables where it is used).
    pub fn boxed<S, I>(self) -> BoxedOrder<S>
    where
        E: ExprIn<S, I>,
    {
        let (e, order) = self.into_parts();
        BoxedOrder { node: e.into_node(), order, _s: PhantomData }
    }
}

impl<S> OrderKey for BoxedOrder<S> {
    type Expr = Boxed<S, (), super::Plain>;
    fn into_parts(self) -> (Self::Expr, Order) {
        (Boxed::new(self.node), self.order)
    }
}
