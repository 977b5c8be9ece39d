//! The type-level FROM/JOIN scope of a query and the checks against it: a column may only be used
//! when its table is in scope, a left-joined table's columns read as `Option`, join columns must
//! have the same Rust type. Pure types and traits; nothing here runs (see TYPES-SPIKE.md).

use std::marker::PhantomData;

use super::{Column, Nullability};

/// The empty scope: the end of a statement's scope without WITH.
pub struct Nil;

/// The end of the scope of a statement that starts with a WITH ([`with`](super::with)): it may
/// read its CTEs.
pub struct InWith;

/// The end of the scope of a query that reads a CTE of a statement around it (a subquery built
/// with the free [`select_from_cte`](super::select_from_cte), or a plain select that joined a
/// CTE): it cannot run on its own.
pub struct Outer;

/// Where a scope list ends: [`Nil`], [`InWith`] or [`Outer`].
pub trait ScopeEnd {}
impl ScopeEnd for Nil {}
impl ScopeEnd for InWith {}
impl ScopeEnd for Outer {}

/// A scope whose statement can run on its own: every CTE it reads is in its WITH.
#[diagnostic::on_unimplemented(
    message = "this query reads a CTE but has no WITH: it cannot run on its own",
    label = "a CTE read outside the statement that defines it",
    note = "start the statement with the WITH: `with(&cte).select_from_cte(&cte)`, or `with(&cte).select_from::<T>().inner_join_cte(&cte, ..)`; the free `select_from_cte(&cte)` is a subquery of a statement that has the WITH"
)]
pub trait Closed {}
impl Closed for Nil {}
impl Closed for InWith {}
impl<H, R: Closed> Closed for Cons<H, R> {}

/// The scope after a CTE is joined: unchanged in a statement with WITH, else ending in [`Outer`]
/// (the CTE must then come from a statement around this query).
pub trait CteJoin {
    /// The scope with its end adjusted.
    type Out;
}
impl CteJoin for Nil {
    type Out = Outer;
}
impl CteJoin for InWith {
    type Out = InWith;
}
impl CteJoin for Outer {
    type Out = Outer;
}
impl<H, R: CteJoin> CteJoin for Cons<H, R> {
    type Out = Cons<H, R::Out>;
}

/// A scope: the newest table `H` (an [`Entry`]) in front of the rest `R`.
pub struct Cons<H, R>(PhantomData<(H, R)>);

/// A table `T` in scope with nullability `N`: [`NotNull`](super::NotNull) for FROM and INNER JOIN,
/// [`Nullable`](super::Nullable) for the right side of a LEFT JOIN.
pub struct Entry<T, N>(PhantomData<(T, N)>);

/// Index: the table is at the head of the scope. Inferred, never written.
pub struct Here;

/// Index: the table is further down the scope. Inferred, never written.
pub struct There<I>(PhantomData<I>);

/// The scope contains table `T` (at inferred position `I`).
#[diagnostic::on_unimplemented(
    message = "table `{T}` is not in this query's FROM/JOIN scope",
    label = "`{T}` is not joined here",
    note = "join `{T}` first (inner_join / left_join), or select from it"
)]
pub trait Contains<T, I> {
    /// Whether the table's rows may be absent (left joined).
    type Null: Nullability;
}

impl<T, N: Nullability, R> Contains<T, Here> for Cons<Entry<T, N>, R> {
    type Null = N;
}

impl<T, H, R, I> Contains<T, There<I>> for Cons<H, R>
where
    R: Contains<T, I>,
{
    type Null = R::Null;
}

/// The scope has a FROM item named `K` (a table's own name, or its alias; see
/// [`Table::Name`](super::Table::Name)) at position `I`. Asked with `I` inferred when a table
/// joins: a name found twice leaves `I` ambiguous, which is the compile error for a name used
/// twice (the same table joined twice without an alias, or two tables under one alias).
pub trait Names<K, I> {}

impl<T: super::Table, N, R> Names<T::Name, Here> for Cons<Entry<T, N>, R> {}

impl<K, H, R: Names<K, I>, I> Names<K, There<I>> for Cons<H, R> {}

/// A column usable in a query whose scope is `S`; `Out` is the Rust type it reads as there
/// (`Option<T>` when the column is nullable or its table is left-joined).
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is not from a table in this query",
    label = "table `{T}` is not in this query's FROM/JOIN scope",
    note = "join `{T}` first (inner_join / left_join), or select from it; in a subquery that reads the outer query's tables, use `correlated(..)` / `correlated_exists(..)` instead of `scalar(..)` / `exists(..)`"
)]
pub trait InScope<S, I, T = <Self as Column>::Table>: Column {
    /// Whether it can be NULL here: when the column is nullable or its table is left-joined.
    type Null: Nullability;
    /// The Rust type the column reads as in this scope.
    type Out;
}

#[diagnostic::do_not_recommend]
impl<C: Column, S, I> InScope<S, I> for C
where
    S: Contains<C::Table, I>,
{
    type Null = <S::Null as Nullability>::Or<C::Null>;
    type Out = <<S::Null as Nullability>::Or<C::Null> as Nullability>::Wrap<C::Rust>;
}

/// Type equality as a trait bound, so a mismatch fails as E0277 with our message rather than as an
/// associated-type mismatch (E0271 ignores `on_unimplemented`).
pub trait SameType<T> {}
impl<T> SameType<T> for T {}

/// Column `Self` can be compared or joined with column `A`: their Rust types are equal.
#[diagnostic::on_unimplemented(
    message = "cannot compare or join `{Self}` with `{A}`: the two columns have different Rust types",
    label = "this column's type differs from the other column's type"
)]
pub trait Comparable<A> {}

#[diagnostic::do_not_recommend]
impl<A: Column, B: Column> Comparable<A> for B where B::Rust: SameType<A::Rust> {}

/// A type-level list (a select list's items, each with its index in the subquery's scope; a
/// struct's fields).
pub struct LCons<H, T>(PhantomData<(H, T)>);
/// The end of an item list.
pub struct LNil;
