//! What INSERT, UPDATE and DELETE share: the single-table scope, the RETURNING states, and the
//! run methods. Each statement has its own builder (`insert.rs`, `update.rs`, `delete.rs`), so
//! only the clauses a statement has exist on its type; their untyped cores are rendered by
//! `render.rs`. No SQL text is written here.

use std::marker::PhantomData;

use super::{
    Column, Nullable, Table,
    expr::{ExprIn, Expression},
    item::Selection,
    render::SelectItem,
    scope::{Cons, Entry, InScope, Nil},
};
use crate::query::NotNull;

/// The scope of a single-table statement.
pub type Only<T> = Cons<Entry<T, NotNull>, Nil>;

/// No RETURNING clause: the statement is executed for its row count.
pub struct NoReturning;
/// `RETURNING cols` (indices `I`).
pub struct Returning<R, I>(PhantomData<(R, I)>);
/// `RETURNING` every column, read as the table's row struct.
pub struct ReturningAll;

/// The items of `RETURNING *` in table order.
pub(crate) fn all_columns<T: Table>() -> Vec<SelectItem> {
    let mut items = Vec::new();
    super::item::table_items::<T>(&mut items);
    items
}

/// The row an INSERT proposed, `EXCLUDED`, as a table of the DO UPDATE scope.
pub struct ExcludedRow<T>(PhantomData<T>);

/// The scope of `ON CONFLICT .. DO UPDATE`: the existing row of `T` and the proposed one.
pub type UpsertScope<T> = Cons<Entry<ExcludedRow<T>, NotNull>, Only<T>>;

/// `EXCLUDED."column"`: the value the INSERT proposed for the column, in DO UPDATE SET / WHERE.
#[must_use]
pub struct Excluded<C>(C);

/// `EXCLUDED.column`: in `ON CONFLICT .. DO UPDATE`, the value the row being inserted has for
/// the column (`.do_update_set(users::email, excluded(users::email))`).
pub fn excluded<C: Column>(column: C) -> Excluded<C> {
    Excluded(column)
}

impl<C: Column> Expression for Excluded<C> {
    type Rust = C::Rust;
    type Kind = super::expr::Plain;
    const CAST: Option<&'static str> = C::CAST;
    fn into_node(self) -> super::render::Node {
        super::render::Node::Excluded(C::NAME)
    }
}

impl<S, I, C: Column> ExprIn<S, I> for Excluded<C>
where
    S: HasExcluded<C::Table, I>,
{
    type Null = C::Null;
}

/// A scope with the row an INSERT proposed: only `ON CONFLICT .. DO UPDATE`.
#[diagnostic::on_unimplemented(
    message = "`excluded(..)` is only valid in ON CONFLICT .. DO UPDATE",
    label = "there is no proposed row here",
    note = "`excluded(column)` is the value an INSERT proposed, in `.do_update_set(..)`, `Upsert::set(..)` and `Upsert::where_(..)` of an INSERT into `{T}`"
)]
pub trait HasExcluded<T, I> {}

#[diagnostic::do_not_recommend]
impl<T, I, S: super::scope::Contains<ExcludedRow<T>, I>> HasExcluded<T, I> for S {}

/// The items of `RETURNING cols`.
pub(crate) fn returning_items<S: Selection<Sc, I>, Sc, I>(columns: S) -> Vec<SelectItem> {
    let mut items = Vec::new();
    columns.items(&mut items);
    items
}

/// A tuple of columns of table `T`, for ON CONFLICT targets and DO UPDATE lists.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tuple of columns of this statement's table",
    label = "expected columns of the table being inserted into, as a tuple: `(users::email,)`"
)]
pub trait ColumnsOf<T, I> {
    /// The Rust values a row of these columns takes (`Option<T>` for nullable ones).
    type Values;
    #[doc(hidden)]
    fn names(self) -> Vec<&'static str>;
}

/// A value of type `Self` may be stored in a column whose Rust type (with nullability) is `T`.
#[diagnostic::on_unimplemented(
    message = "a selected `{Self}` cannot be inserted into a column of type `{T}`",
    label = "the query's columns must match the INSERT's columns, in order"
)]
pub trait Fits<T> {}
impl<T> Fits<T> for T {}
impl<T> Fits<Option<T>> for T {}

/// A row of the query may be inserted into the columns `T` (tuple of the columns' types).
#[diagnostic::on_unimplemented(
    message = "the query's rows `{Self}` do not match the INSERT's columns `{T}`",
    label = "select one value per INSERT column, in order, each of the column's type"
)]
pub trait FitsRow<T> {}

macro_rules! column_tuples {
    ($( ($($c:ident $i:ident),+) )+) => {$(
        impl<T, $($c: ColumnOfTable<T, $i>, $i),+> ColumnsOf<T, ($($i,)+)> for ($($c,)+) {
            type Values = ($(<$c::Null as super::Nullability>::Wrap<$c::Rust>,)+);
            fn names(self) -> Vec<&'static str> {
                vec![$($c::NAME),+]
            }
        }

        impl<$($c, $i: Fits<$c>),+> FitsRow<($($c,)+)> for ($($i,)+) {}
    )+};
}

column_tuples! {
    (C0 I0)
    (C0 I0, C1 I1)
    (C0 I0, C1 I1, C2 I2)
    (C0 I0, C1 I1, C2 I2, C3 I3)
    (C0 I0, C1 I1, C2 I2, C3 I3, C4 I4)
    (C0 I0, C1 I1, C2 I2, C3 I3, C4 I4, C5 I5)
    (C0 I0, C1 I1, C2 I2, C3 I3, C4 I4, C5 I5, C6 I6)
    (C0 I0, C1 I1, C2 I2, C3 I3, C4 I4, C5 I5, C6 I6, C7 I7)
}

/// A column of the table an UPDATE changes.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is not a column of the table this statement changes",
    label = "belongs to `{C}`, not to the table being updated",
    note = "an UPDATE sets columns of its own table; to change `{C}`, write `update::<{C}>()`"
)]
pub trait ColumnOfTable<T, I, C = <Self as Column>::Table>: Column {}

#[diagnostic::do_not_recommend]
impl<T, I, C: InScope<Only<T>, I>> ColumnOfTable<T, I> for C {}

/// A column an UPDATE (or an upsert's DO UPDATE) may set: `schema!` implements it for every
/// column of a table but a generated one and an identity column `GENERATED ALWAYS`, which
/// PostgreSQL computes (it refuses any other value, SQLSTATE 428C9).
#[diagnostic::on_unimplemented(
    message = "column `{Self}` cannot be set: PostgreSQL computes its value",
    label = "a generated column, or an identity column GENERATED ALWAYS",
    note = "leave it out of the SET list: a generated column follows its expression, an identity ALWAYS column keeps its value"
)]
pub trait Assignable: Column {}

#[diagnostic::do_not_recommend]
impl<C: Column<Assign = Settable>> Assignable for C {}

/// [`Column::Assign`] of a column an UPDATE may set.
#[doc(hidden)]
pub enum Settable {}

/// [`Column::Assign`] of a column PostgreSQL computes, or one no statement writes (a derived
/// table's).
#[doc(hidden)]
pub enum Computed {}

/// A column that may be set to NULL.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is NOT NULL: it cannot be set to NULL",
    label = "this column does not admit NULL"
)]
pub trait NullableColumn: Column {}

#[diagnostic::do_not_recommend]
impl<C: Column<Null = Nullable>> NullableColumn for C {}

/// The run methods of a statement builder: `execute`, and the fetch methods that its `Query`
/// impl (RETURNING) allows. `$core` is an expression over `self` giving its `Compiled`; `$noop`
/// says the statement would do nothing (an insert of no rows), in which case nothing is sent.
macro_rules! run_methods {
    () => {
        /// Runs the statement and returns the number of rows it inserted, updated or deleted.
        pub async fn execute<E: $crate::query::Executor>(&self, db: &E) -> Result<u64, $crate::Error> {
            if self.is_noop() {
                return Ok(0);
            }
            db.execute(&self.compiled()).await
        }

        /// Runs the statement and returns every row of its RETURNING clause.
        pub async fn fetch_all<E: $crate::query::Executor>(
            &self,
            db: &E,
        ) -> Result<Vec<<Self as $crate::query::Query>::Output>, $crate::Error>
        where
            Self: $crate::query::Query,
        {
            if self.is_noop() {
                return Ok(vec![]);
            }
            $crate::query::exec::fetch_rows::<Self, E>(db, &self.compiled()).await
        }

        /// Runs the statement and returns the first RETURNING row, or [`Error::NoRows`](crate::Error::NoRows).
        pub async fn fetch_one<E: $crate::query::Executor>(
            &self,
            db: &E,
        ) -> Result<<Self as $crate::query::Query>::Output, $crate::Error>
        where
            Self: $crate::query::Query,
        {
            self.fetch_optional(db).await?.ok_or($crate::Error::NoRows)
        }

        /// Runs the statement and returns the first RETURNING row, if any.
        pub async fn fetch_optional<E: $crate::query::Executor>(
            &self,
            db: &E,
        ) -> Result<Option<<Self as $crate::query::Query>::Output>, $crate::Error>
        where
            Self: $crate::query::Query,
        {
            if self.is_noop() {
                return Ok(None);
            }
            $crate::query::exec::decode_first::<Self>(db.query_first(&self.compiled()).await?)
        }

        /// The SQL text and its parameters.
        pub fn to_sql(&self) -> (String, Vec<$crate::query::Param>) {
            let c = self.compiled();
            (c.sql, c.params)
        }

        /// PostgreSQL's plan for the statement (`EXPLAIN`), one line per row, with its values
        /// bound; nothing runs.
        pub async fn explain<E: $crate::query::Executor>(&self, db: &E) -> Result<Vec<String>, $crate::Error> {
            $crate::query::exec::explain(db, self.compiled(), false).await
        }

        /// `EXPLAIN (ANALYZE, BUFFERS)`: runs the statement and reports the plan with its timings
        /// and buffer use. A write is applied: run it in a transaction you roll back to see the
        /// plan only.
        pub async fn explain_analyze<E: $crate::query::Executor>(&self, db: &E) -> Result<Vec<String>, $crate::Error> {
            $crate::query::exec::explain(db, self.compiled(), true).await
        }
    };
}

pub(crate) use run_methods;

/// The `Query` impls of a statement builder `$ty<T, states.., R[, Sc]>` for its two RETURNING
/// states; `in Sc` names the builder's scope parameter (UPDATE .. FROM, DELETE .. USING), else the
/// scope is the statement's table alone.
macro_rules! returning_queries {
    ($ty:ident < T $(, $state:ty)* >) => {
        returning_queries!(@impl $ty [$($state,)*] [] $crate::query::Only<T>);
    };
    ($ty:ident < T $(, $state:ty)* > in $sc:ident) => {
        returning_queries!(@impl $ty [$($state,)*] [$sc] $sc);
    };
    (@impl $ty:ident [$($state:ty,)*] [$($tail:ident)?] $scope:ty) => {
        impl<T: $crate::Table, $($tail,)? S: $crate::query::Selection<$scope, I>, I> $crate::query::Query
            for $ty<T, $($state,)* $crate::query::Returning<S, I> $(, $tail)?>
        where
            S::Row: $crate::FromRow + Send,
        {
            type Output = S::Row;
            fn compile(&self) -> $crate::query::Compiled {
                self.compiled()
            }
            fn decode(row: &$crate::__private::PgRow) -> Result<S::Row, $crate::Error> {
                <S::Row as $crate::FromRow>::from_row(row)
            }
        }

        impl<T: $crate::Table<Row: Send> $(, $tail)?> $crate::query::Query for $ty<T, $($state,)* $crate::query::ReturningAll $(, $tail)?> {
            type Output = T::Row;
            fn compile(&self) -> $crate::query::Compiled {
                self.compiled()
            }
            fn decode(row: &$crate::__private::PgRow) -> Result<T::Row, $crate::Error> {
                <T::Row as $crate::FromRow>::from_row(row)
            }
        }
    };
}

pub(crate) use returning_queries;

/// Clauses a statement does not have. Each is a method that exists only to fail with a message
/// saying what to write instead (a missing method would get rustc's generic E0599).
pub mod misuse {
    /// `.where_(..)` on an INSERT.
    #[diagnostic::on_unimplemented(
        message = "an INSERT has no WHERE clause",
        label = "`where_` does not apply to INSERT",
        note = "to skip rows that would conflict, use `.on_conflict((cols,)).do_nothing()`; to change existing rows, use `update::<T>().set(..).where_(..)`"
    )]
    pub trait InsertHasNoWhere {}

    /// `.set(..)` on an INSERT.
    #[diagnostic::on_unimplemented(
        message = "an INSERT takes its values from `.values(..)`, not `.set(..)`",
        label = "`set` does not apply to INSERT",
        note = "give the row as `T::Insert::new(..)` with its `with_*` setters; `set` belongs to UPDATE"
    )]
    pub trait InsertHasNoSet {}

    /// `.set(..)` on a DELETE.
    #[diagnostic::on_unimplemented(
        message = "a DELETE sets nothing",
        label = "`set` does not apply to DELETE",
        note = "to change rows instead of deleting them, use `update::<T>().set(..)`"
    )]
    pub trait DeleteHasNoSet {}

    /// `.on_conflict(..)` on an UPDATE or DELETE.
    #[diagnostic::on_unimplemented(
        message = "ON CONFLICT belongs to INSERT",
        label = "`on_conflict` does not apply here",
        note = "an UPDATE or DELETE cannot conflict; for an upsert write `insert_into::<T>().values(..).on_conflict(..).do_update(..)`"
    )]
    pub trait OnlyInsertsConflict {}

    /// Running an UPDATE that sets nothing.
    #[diagnostic::on_unimplemented(
        message = "this UPDATE has no SET clause",
        label = "an UPDATE needs at least one `.set(column, value)` before it can run",
        note = "add `.set(column, value)` or `.set_null(column)`"
    )]
    pub trait UpdateNeedsSet {}
}
