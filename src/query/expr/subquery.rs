//! Subqueries as expressions: `IN (SELECT ..)`, `EXISTS (..)` and scalar subqueries. A subquery is
//! any [`Subquery`] (a `Select`, implemented in `select.rs`); this module never names the builder.

use std::marker::PhantomData;

use super::{ExprIn, Expression, Plain};
use crate::query::{
    NotNull, Nullable,
    render::{Node, SelectCore},
};

/// A query usable as a subquery.
pub trait Subquery {
    #[doc(hidden)]
    fn into_select(self) -> SelectCore;
}

/// A subquery with one column, of Rust type `Rust` (for `IN (SELECT ..)` and scalar subqueries).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a query selecting exactly one column",
    label = "a subquery here selects one column: `.columns((x,))`"
)]
pub trait SingleColumn: Subquery {
    /// The column's Rust type.
    type Rust: 'static;
}

/// `EXISTS (SELECT 1 FROM ..)` as a boolean expression (an uncorrelated subquery; for one that uses
/// the outer query's tables, see [`Select::where_exists`](crate::query::Select::where_exists)).
pub fn exists<Q: Subquery>(select: Q) -> Exists {
    Exists::new(select.into_select(), false)
}

/// `NOT EXISTS (SELECT 1 FROM ..)`.
pub fn not_exists<Q: Subquery>(select: Q) -> Exists {
    Exists::new(select.into_select(), true)
}

/// `x [NOT] IN (SELECT one_expression ..)`.
#[must_use]
pub struct InSelect<E> {
    lhs: E,
    select: SelectCore,
    negated: bool,
}

impl<E> InSelect<E> {
    pub(crate) fn new(lhs: E, select: SelectCore, negated: bool) -> Self {
        InSelect { lhs, select, negated }
    }
}

impl<E: Expression> Expression for InSelect<E> {
    type Rust = bool;
    type Kind = E::Kind;
    fn into_node(self) -> Node {
        Node::InSelect { lhs: Box::new(self.lhs.into_node()), select: Box::new(self.select), negated: self.negated }
    }
}

impl<S, I, E: ExprIn<S, I>> ExprIn<S, I> for InSelect<E> {
    type Null = Nullable;
}

/// `[NOT] EXISTS (SELECT ..)`: see [`exists`](super::exists).
#[must_use]
pub struct Exists {
    select: SelectCore,
    negated: bool,
}

impl Exists {
    pub(crate) fn new(select: SelectCore, negated: bool) -> Self {
        Exists { select, negated }
    }
}

impl Expression for Exists {
    type Rust = bool;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Exists { select: Box::new(self.select), negated: self.negated }
    }
}

impl<S> ExprIn<S, ()> for Exists {
    type Null = NotNull;
}

/// `(SELECT x ..)` as an expression: an uncorrelated scalar subquery of Rust type `T`, NULL when
/// it finds no row.
#[must_use]
pub struct Scalar<T> {
    select: SelectCore,
    _t: PhantomData<fn() -> T>,
}

/// A scalar subquery: `scalar(select_from::<Orgs>().columns((count_all(),)))`, usable as an
/// expression anywhere (select list, WHERE, SET).
pub fn scalar<Q: SingleColumn>(select: Q) -> Scalar<Q::Rust> {
    Scalar { select: select.into_select(), _t: PhantomData }
}

impl<T: 'static> Expression for Scalar<T> {
    type Rust = T;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Subquery(Box::new(self.select))
    }
}

impl<S, T: 'static> ExprIn<S, ()> for Scalar<T> {
    type Null = Nullable;
}
