//! The SELECT builder. Each method records a part of the query's shape (`shape.rs`) or adds to an
//! untyped [`SelectCore`], and changes the builder's type as the query gains tables (the scope
//! `S`) or a column list (`C`); the row type is computed only in [`Query`], never in a method
//! signature, so scope errors name the offending column.

use std::marker::PhantomData;

use super::{
    Column, FromRow, NotNull, Nullable, Table,
    exec::{Compiled, Executor, Query},
    expr::{AsExpr, Condition, ExprIn, Expression, OnCondition, OrderItem, SingleColumn, Subquery, WhereCondition},
    item::{AllRows, SelectItemOf, Selection},
    render::{Distinct, Join, JoinKind, Lock, LockStrength, LockWait, Node, Order, SelectCore, TableRef, Writer},
    scope::{Closed, Comparable, Cons, Contains, Entry, InScope, LCons, LNil, Names, Nil},
    shape::{self, Bits, Fill, Shaped},
    value::Param,
};
use crate::Error;

/// A SELECT under construction over scope `S` with column list `C`.
///
/// ```
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let q = select_from::<Users>()
///     .columns((users::id, users::email))
///     .where_(users::username.eq("ann"))
///     .limit(1);
/// let (sql, params) = q.to_sql();
/// assert_eq!(sql, r#"SELECT "users"."id", "users"."email" FROM "users" WHERE "users"."username" = $1 LIMIT $2"#);
/// assert_eq!(format!("{params:?}"), r#"["ann", 1]"#);
/// ```
#[must_use = "a query does nothing until it is fetched or executed"]
pub struct Select<S, C, L = Unlocked> {
    body: Body,
    _p: PhantomData<fn() -> (S, C, L)>,
}

/// A query's parts: recorded as its shape while every part has one (its text then rendered once
/// per shape, see `shape.rs`), else the node tree. Both on the heap, so a builder call moves a
/// pointer, not the query.
enum Body {
    Shaped(Box<Shaped>),
    Core(Box<SelectCore>),
}

// Generic at most over what they record, never over the query's type, and the builder's methods
// call them rather than their own copies: every generic function is compiled again for each
// combination of types it is used with.
impl Body {
    /// The node tree, made from the record first if the query is still shaped.
    fn core_mut(&mut self) -> &mut SelectCore {
        if let Body::Shaped(shaped) = self {
            *self = Body::Core(Box::new(shaped.take_core()));
        }
        match self {
            Body::Core(core) => core,
            Body::Shaped(_) => unreachable!("made a node tree above"),
        }
    }

    /// The record, if the query is still shaped and has room for a part of `clause`.
    #[inline]
    fn shaped(&mut self, clause: u8) -> Option<&mut Shaped> {
        match self {
            Body::Shaped(shaped) if shaped.has_room(clause) => Some(shaped),
            _ => None,
        }
    }

    /// `a JOIN b ON a = b` of two columns.
    #[inline]
    fn join_of<A: Column, B: Column>(&mut self, kind: JoinKind) {
        if let Some(shaped) = self.shaped(0) {
            let mut bits = Bits::default();
            bits.push(u32::from(kind == JoinKind::Left), 1);
            shaped.push(join_part::<A, B>, bits, 0);
        } else {
            self.core_mut().joins.push(join::<A, B>(kind));
        }
    }

    /// `a JOIN table ON condition`.
    fn join_on<T: Table, E: Expression>(&mut self, kind: JoinKind, on: E) {
        if let Some(shaped) = self.shaped(0) {
            let mut bits = Bits::default();
            if bits.push(u32::from(kind == JoinKind::Left), 1) && on.shape_bits(&mut bits) {
                on.bind(shaped.push(join_on_part::<T, E>, bits, 0));
                return;
            }
        }
        self.core_mut().joins.push(Join { kind, table: table_ref::<T>().into(), on: on.into_node() });
    }

    #[inline]
    fn limit(&mut self, n: i64) {
        match self.shaped(shape::LIMIT) {
            Some(shaped) => shaped.push(limit_part, Bits::default(), shape::LIMIT).push(Node::count_param(n)),
            None => self.core_mut().limit = Some(Node::count(n)),
        }
    }

    #[inline]
    fn offset(&mut self, n: i64) {
        match self.shaped(shape::OFFSET) {
            Some(shaped) => shaped.push(offset_part, Bits::default(), shape::OFFSET).push(Node::count_param(n)),
            None => self.core_mut().offset = Some(Node::count(n)),
        }
    }
}

/// A query that may still be grouped or locked (the default).
pub struct Unlocked;
/// A grouped, DISTINCT or HAVING query: its rows are not table rows, so they cannot be locked.
pub struct Grouped;
/// A query with `FOR UPDATE` / `FOR SHARE` ..: it cannot be grouped any more.
pub struct Locked;

/// Queries whose rows can be locked.
#[diagnostic::on_unimplemented(
    message = "a grouped or DISTINCT query cannot lock rows (FOR UPDATE / FOR SHARE)",
    label = "this query has GROUP BY, HAVING or DISTINCT",
    note = "lock the rows in a query without grouping (for example the subquery that picks them)"
)]
pub trait CanLock {}
impl CanLock for Unlocked {}
impl CanLock for Locked {}

/// Queries that may be grouped (GROUP BY, HAVING, DISTINCT).
#[diagnostic::on_unimplemented(
    message = "a query that locks rows (FOR UPDATE / FOR SHARE) cannot be grouped or DISTINCT",
    label = "this query locks rows",
    note = "group in an outer query, or lock in a separate query"
)]
pub trait CanGroup {}
impl CanGroup for Unlocked {}
impl CanGroup for Grouped {}

/// No column list yet.
pub struct NoColumns;

/// The column list `T` (indices `I`).
pub struct Selected<T, I>(PhantomData<(T, I)>);

/// Every column of every table in scope, read as the tables' rows ([`AllRows`]).
pub struct AllColumns;

fn table_ref<T: Table>() -> TableRef {
    TableRef::of::<T>()
}

/// `SELECT ..` with no FROM: values and expressions over no table (`now()`, a bound value, a
/// scalar subquery, `exists(q)`).
///
/// ```
/// use taulu::prelude::*;
/// use taulu_app::schema::{Users, users};
/// let q = select_no_from().columns((now(), exists(select_from::<Users>().where_(users::username.eq("ann")))));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT now(), EXISTS (SELECT 1 FROM "users" WHERE "users"."username" = $1)"#
/// );
/// ```
pub fn select_no_from() -> Select<Nil, NoColumns> {
    Select::from_core(SelectCore::new(super::render::Source::Nothing))
}

/// `SELECT .. FROM T`: the start of a query.
#[inline]
pub fn select_from<T: Table>() -> Select<Cons<Entry<T, NotNull>, Nil>, NoColumns> {
    Select { body: Body::Shaped(Shaped::boxed(from_part::<T>)), _p: PhantomData }
}

// The parts of a shaped select (see `shape.rs`): each builds its clause from its type and bits.

fn from_part<T: Table>(_: &mut Bits, _: &mut Fill<'_>, core: &mut SelectCore) {
    core.from = table_ref::<T>().into();
}

fn items_part<T: Selection<S, I>, S, I>(bits: &mut Bits, fill: &mut Fill<'_>, core: &mut SelectCore) {
    core.items.clear();
    T::shape(bits, fill, &mut core.items);
}

fn all_part<S: AllRows>(_: &mut Bits, _: &mut Fill<'_>, core: &mut SelectCore) {
    core.items.clear();
    S::items(&mut core.items);
}

fn where_part<E: Expression>(bits: &mut Bits, fill: &mut Fill<'_>, core: &mut SelectCore) {
    core.wheres.push(E::shape(bits, fill));
}

fn join_kind(bits: &mut Bits) -> JoinKind {
    if bits.take(1) == 1 { JoinKind::Left } else { JoinKind::Inner }
}

fn join_part<A: Column, B: Column>(bits: &mut Bits, _: &mut Fill<'_>, core: &mut SelectCore) {
    core.joins.push(join::<A, B>(join_kind(bits)));
}

fn join_on_part<T: Table, E: Expression>(bits: &mut Bits, fill: &mut Fill<'_>, core: &mut SelectCore) {
    let kind = join_kind(bits);
    core.joins.push(Join { kind, table: table_ref::<T>().into(), on: E::shape(bits, fill) });
}

fn order_part<K: OrderItem<S, I>, S, I>(bits: &mut Bits, fill: &mut Fill<'_>, core: &mut SelectCore) {
    core.order_by.push(K::shape(bits, fill));
}

fn limit_part(_: &mut Bits, fill: &mut Fill<'_>, core: &mut SelectCore) {
    core.limit = Some(fill.param(None));
}

fn offset_part(_: &mut Bits, fill: &mut Fill<'_>, core: &mut SelectCore) {
    core.offset = Some(fill.param(None));
}

/// The second column of a join: one of a table the query already has.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is not from a table this query already has",
    label = "the second column of a join must belong to a table already in the query",
    note = "`inner_join(a, b)` / `left_join(a, b)` join the table of `a`, the FIRST column, ON a = b: \
            write the column of the table being joined first (`.inner_join(orgs::id, members::org_id)`)"
)]
pub trait JoinedTo<S, I>: Column {}

#[diagnostic::do_not_recommend]
impl<S, I, C: InScope<S, I>> JoinedTo<S, I> for C {}

impl<S, T: Selection<S, I>, I, L> Query for Select<S, Selected<T, I>, L>
where
    T::Row: FromRow + Send,
{
    type Output = T::Row;
    fn compile(&self) -> Compiled {
        self.compiled()
    }
    fn decode(row: &tokio_postgres::Row) -> Result<T::Row, Error> {
        T::Row::from_row(row)
    }
}

impl<S: AllRows<Rows: Send>, L> Query for Select<S, AllColumns, L> {
    type Output = S::Rows;
    fn compile(&self) -> Compiled {
        self.compiled()
    }
    fn decode(row: &tokio_postgres::Row) -> Result<S::Rows, Error> {
        S::read(row)
    }
}

impl<S, C, L> Subquery for Select<S, C, L> {
    fn into_select(self) -> SelectCore {
        self.into_core()
    }
}

impl<S, X: SelectItemOf<S, J> + Expression, J, L> SingleColumn for Select<S, Selected<(X,), (J,)>, L> {
    type Rust = X::Rust;
}

impl<S, C, L> Select<S, C, L> {
    fn retype<S2, C2, L2>(self) -> Select<S2, C2, L2> {
        Select { body: self.body, _p: PhantomData }
    }

    pub(crate) fn from_core(core: SelectCore) -> Self {
        Select { body: Body::Core(Box::new(core)), _p: PhantomData }
    }

    pub(crate) fn into_core(self) -> SelectCore {
        match self.body {
            Body::Shaped(mut shaped) => shaped.take_core(),
            Body::Core(core) => *core,
        }
    }

    pub(crate) fn push_join(&mut self, join: Join) {
        self.body.core_mut().joins.push(join);
    }

    pub(crate) fn retype_core<S2, C2, L2>(self) -> Select<S2, C2, L2> {
        self.retype()
    }

    pub(crate) fn push_where(mut self, node: Node) -> Self {
        self.body.core_mut().wheres.push(node);
        self
    }

    fn compiled(&self) -> Compiled {
        self.compile_as(false)
    }

    /// The statement, with `LIMIT 1` when `first` and no limit of its own.
    #[inline]
    fn compile_as(&self, first: bool) -> Compiled {
        match &self.body {
            Body::Shaped(shaped) => {
                let (sql, params) = shaped.compile(first);
                Compiled { sql, params, read_only: true }
            }
            Body::Core(core) => {
                let mut w = Writer::default();
                w.push_select_inner(core, first);
                // A locking read takes row locks: not a read a replica could serve.
                Compiled { sql: w.sql, params: w.params, read_only: core.locks.is_empty() }
            }
        }
    }

    /// The SQL text and its parameters (like Kysely's `compile()`).
    pub fn to_sql(&self) -> (String, Vec<Param>) {
        let c = self.compiled();
        (c.sql, c.params)
    }

    /// [`to_sql`](Self::to_sql) of a query that is not needed after: its values move into the
    /// result instead of being copied.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// let q = select_from::<Users>().limit(1).columns((users::id,)).where_(users::username.eq("ann"));
    /// let (sql, params) = q.into_sql();
    /// // The values are numbered in text order, whatever order the methods were called in.
    /// assert_eq!(sql, r#"SELECT "users"."id" FROM "users" WHERE "users"."username" = $1 LIMIT $2"#);
    /// assert_eq!(format!("{params:?}"), r#"["ann", 1]"#);
    /// ```
    #[inline]
    pub fn into_sql(mut self) -> (String, Vec<Param>) {
        match &mut self.body {
            Body::Shaped(shaped) => shaped.take_compiled(false),
            Body::Core(_) => self.to_sql(),
        }
    }

    /// `SELECT col, col, ..`: the row type becomes the tuple of the columns' Rust types
    /// (`Option<T>` for nullable and left-joined columns).
    #[inline]
    pub fn columns<T: Selection<S, I>, I>(mut self, columns: T) -> Select<S, Selected<T, I>, L> {
        if let Some(shaped) = self.body.shaped(shape::ITEMS) {
            let mut bits = Bits::default();
            if columns.shape_bits(&mut bits) {
                columns.bind(shaped.push(items_part::<T, S, I>, bits, shape::ITEMS));
                return self.retype();
            }
        }
        let core = self.body.core_mut();
        core.items.clear();
        columns.items(&mut core.items);
        self.retype()
    }

    /// Every column of every table in the query, read as the generated row structs: `users::Row`
    /// from one table, `(users::Row, Option<orgs::Row>)` over a join (a left-joined table's row is
    /// `None` where nothing matched).
    pub fn all(mut self) -> Select<S, AllColumns, L>
    where
        S: AllRows,
    {
        if let Some(shaped) = self.body.shaped(shape::ITEMS) {
            shaped.push(all_part::<S>, Bits::default(), shape::ITEMS);
            return self.retype();
        }
        let core = self.body.core_mut();
        core.items.clear();
        S::items(&mut core.items);
        self.retype()
    }

    /// `SELECT DISTINCT`.
    pub fn distinct(mut self) -> Select<S, C, Grouped>
    where
        L: CanGroup,
    {
        self.body.core_mut().distinct = Distinct::All;
        self.retype()
    }

    /// `SELECT DISTINCT ON (cols)`; pair it with an `order_by` starting with the same columns.
    pub fn distinct_on<T: Selection<S, I>, I>(mut self, columns: T) -> Select<S, C, Grouped>
    where
        L: CanGroup,
    {
        let mut items = Vec::new();
        columns.items(&mut items);
        self.body.core_mut().distinct = Distinct::On(items.into_iter().map(|i| i.node).collect());
        self.retype()
    }

    /// `WHERE condition`; successive calls combine with AND. Aggregates belong in
    /// [`having`](Self::having).
    #[inline]
    pub fn where_<E: WhereCondition<S, I>, I>(mut self, condition: E) -> Self {
        if let Some(shaped) = self.body.shaped(0) {
            let mut bits = Bits::default();
            if Expression::shape_bits(&condition, &mut bits) {
                Expression::bind(condition, shaped.push(where_part::<E>, bits, 0));
                return self;
            }
        }
        self.body.core_mut().wheres.push(condition.into_node());
        self
    }

    /// `GROUP BY` columns or expressions.
    pub fn group_by<G: Selection<S, I>, I>(mut self, columns: G) -> Select<S, C, Grouped>
    where
        L: CanGroup,
    {
        let mut items = Vec::new();
        columns.items(&mut items);
        self.body.core_mut().group_by.extend(items.into_iter().map(|i| i.node));
        self.retype()
    }

    /// `HAVING condition` (usually on an aggregate: `count_all().gt(1)`); successive calls AND.
    pub fn having<E: Condition<S, I>, I>(mut self, condition: E) -> Select<S, C, Grouped>
    where
        L: CanGroup,
    {
        self.body.core_mut().having.push(condition.into_node());
        self.retype()
    }

    /// `WHERE condition` when there is one: `.where_opt(name.map(|n| users::username.eq(n)))`.
    pub fn where_opt<E: WhereCondition<S, I>, I>(self, condition: Option<E>) -> Self {
        match condition {
            Some(c) => self.where_(c),
            None => self,
        }
    }

    /// Keyset pagination: ORDER BY the keys ascending and, given the last row's keys as a cursor,
    /// only the rows after it: `WHERE (a, b) > ($1, $2) ORDER BY a, b`. Put a unique key last
    /// (`(users::created_at, users::id)`) so the order is total; pass `None` for the first page.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// let cursor = Some((chrono::DateTime::<chrono::Utc>::UNIX_EPOCH, uuid::Uuid::nil()));
    /// let q = select_from::<Users>()
    ///     .columns((users::created_at, users::id, users::username))
    ///     .after((users::created_at, users::id), cursor)
    ///     .limit(20);
    /// assert_eq!(
    ///     q.to_sql().0,
    ///     r#"SELECT "users"."created_at", "users"."id", "users"."username" FROM "users" WHERE ("users"."created_at", "users"."id") > ($1::timestamptz, $2::uuid) ORDER BY "users"."created_at", "users"."id" LIMIT $3"#
    /// );
    /// ```
    pub fn after<K: Keyset<S, I>, I>(mut self, keys: K, cursor: Option<K::Cursor>) -> Self {
        let (nodes, values) = keys.split(cursor);
        if let Some(values) = values {
            self.body.core_mut().wheres.push(Node::binary(Node::Row(nodes.clone()), ">", Node::Row(values)));
        }
        for n in nodes {
            self.body.core_mut().order_by.push((n, Order { desc: false, nulls: None }));
        }
        self
    }

    /// `FOR UPDATE`: lock the rows read until the transaction ends (add [`of`](Self::of),
    /// [`skip_locked`](Self::skip_locked), [`nowait`](Self::nowait)). Not on a grouped or DISTINCT
    /// query.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{LoginAttempts, login_attempts};
    /// // The job-queue pattern: each worker claims rows no other worker holds.
    /// let claim = select_from::<LoginAttempts>()
    ///     .columns((login_attempts::id,))
    ///     .where_(login_attempts::success.eq(false))
    ///     .order_by(login_attempts::id)
    ///     .limit(10)
    ///     .for_update()
    ///     .skip_locked();
    /// assert!(claim.to_sql().0.ends_with("LIMIT $2 FOR UPDATE SKIP LOCKED"));
    /// ```
    pub fn for_update(self) -> Select<S, C, Locked>
    where
        L: CanLock,
    {
        self.lock(LockStrength::Update)
    }

    /// `FOR NO KEY UPDATE`: like `FOR UPDATE`, but does not block inserts referencing the rows.
    pub fn for_no_key_update(self) -> Select<S, C, Locked>
    where
        L: CanLock,
    {
        self.lock(LockStrength::NoKeyUpdate)
    }

    /// `FOR SHARE`.
    pub fn for_share(self) -> Select<S, C, Locked>
    where
        L: CanLock,
    {
        self.lock(LockStrength::Share)
    }

    /// `FOR KEY SHARE`.
    pub fn for_key_share(self) -> Select<S, C, Locked>
    where
        L: CanLock,
    {
        self.lock(LockStrength::KeyShare)
    }

    fn lock(mut self, strength: LockStrength) -> Select<S, C, Locked> {
        self.body.core_mut().locks.push(Lock { strength, of: Vec::new(), wait: LockWait::Wait });
        self.retype()
    }
}

impl<S, C> Select<S, C, Locked> {
    fn last_lock(&mut self) -> &mut Lock {
        self.body.core_mut().locks.last_mut().expect("a Locked select has a lock clause")
    }

    /// `.. OF "table"`: lock only the rows of this table (one of the query's).
    pub fn of<T: Table, I>(mut self, table: T) -> Self
    where
        S: Contains<T, I>,
    {
        let _ = table;
        self.last_lock().of.push(table_ref::<T>());
        self
    }

    /// `.. SKIP LOCKED`: skip rows another transaction holds (the job-queue pattern).
    pub fn skip_locked(mut self) -> Self {
        self.last_lock().wait = LockWait::SkipLocked;
        self
    }

    /// `.. NOWAIT`: fail at once (SQLSTATE 55P03) instead of waiting for a locked row.
    pub fn nowait(mut self) -> Self {
        self.last_lock().wait = LockWait::Nowait;
        self
    }
}

/// The sort keys of keyset pagination ([`Select::after`]): a tuple of 1 to 3 columns or
/// expressions of the query, and `Cursor`, the tuple of their values (their Rust types).
pub trait Keyset<S, I> {
    /// The last row's key values.
    type Cursor;
    #[doc(hidden)]
    fn split(self, cursor: Option<Self::Cursor>) -> (Vec<Node>, Option<Vec<Node>>);
}

macro_rules! keysets {
    ($( ($($k:ident $i:ident $n:tt),+) )+) => {$(
        impl<S, $($k: ExprIn<S, $i>, $i),+> Keyset<S, ($($i,)+)> for ($($k,)+)
        where
            $($k::Rust: AsExpr<$k::Rust>),+
        {
            type Cursor = ($($k::Rust,)+);
            fn split(self, cursor: Option<Self::Cursor>) -> (Vec<Node>, Option<Vec<Node>>) {
                let keys = vec![$(self.$n.into_node()),+];
                let values = cursor.map(|c| vec![$(c.$n.into_expr().into_node()),+]);
                (keys, values)
            }
        }
    )+};
}

keysets! {
    (K0 I0 0)
    (K0 I0 0, K1 I1 1)
    (K0 I0 0, K1 I1 1, K2 I2 2)
}

/// A struct made with `#[derive(taulu::FromRow)]`: `Fields` is the tuple of its fields, in
/// declaration order, each a [`Field`] of its name and type.
pub trait RowStruct: FromRow {
    /// The fields, as a tuple of [`Field`]s.
    type Fields;
}

/// A field of a [`RowStruct`]: `N` names it (a unit type `#[derive(FromRow)]` makes, named like
/// the field), `T` is its type.
pub struct Field<N, T>(PhantomData<fn() -> (N, T)>);

/// A query's row (a tuple) matches struct `T`'s fields (a tuple of [`Field`]s): as many columns as
/// fields, each of its field's type, in order. Checked column by column, so an error names the
/// field.
pub trait MatchesFields<T, F> {}

impl<T, R: Tuple, F: Tuple> MatchesFields<T, F> for R where R::List: FieldsFrom<T, F::List> {}

/// A tuple as a type-level list (the one derived tables' items use), to be walked one element
/// at a time.
#[doc(hidden)]
pub trait Tuple {
    /// `LCons<A, LCons<B, .. LNil>>`.
    type List;
}

/// The columns `Self` fill the fields `F` of struct `T`, one by one.
#[diagnostic::on_unimplemented(
    message = "the query selects a different number of columns than `{T}` has fields",
    label = "select one column per field of `{T}`, in the fields' order"
)]
#[doc(hidden)]
pub trait FieldsFrom<T, F> {}
impl<T> FieldsFrom<T, LNil> for LNil {}
impl<T, A: FillsField<T, N, F>, R: FieldsFrom<T, RF>, N, F, RF> FieldsFrom<T, LCons<Field<N, F>, RF>> for LCons<A, R> {}

/// A column read as `Self` fills field `N` of struct `T`, of type `F`.
#[diagnostic::on_unimplemented(
    message = "field `{N}` of `{T}` is `{F}`, but its column reads as `{Self}`",
    label = "the column for field `{N}` of `{T}`",
    note = "select the fields' columns in order; a nullable or left-joined column reads as `Option<..>`: make its field an `Option`"
)]
#[doc(hidden)]
pub trait FillsField<T, N, F> {}
impl<T, N, F> FillsField<T, N, F> for F {}

macro_rules! tuple_list {
    ($(($($x:ident),+))+) => {$(
        impl<$($x),+> Tuple for ($($x,)+) {
            type List = tuple_list!(@list $($x),+);
        }
    )+};
    (@list $h:ident $(, $rest:ident)*) => { LCons<$h, tuple_list!(@list $($rest),*)> };
    (@list) => { LNil };
}

tuple_list! {
    (X0)
    (X0, X1)
    (X0, X1, X2)
    (X0, X1, X2, X3)
    (X0, X1, X2, X3, X4)
    (X0, X1, X2, X3, X4, X5)
    (X0, X1, X2, X3, X4, X5, X6)
    (X0, X1, X2, X3, X4, X5, X6, X7)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8, X9)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14)
    (X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11, X12, X13, X14, X15)
}

/// A select whose column list is erased into its row type `R`, so it can be named in a function
/// signature and built across branches: `BoxedSelect<Only<Users>, (Uuid, String)>`. It keeps its
/// scope, so conditions added later are still checked.
pub type BoxedSelect<S, R, L = Unlocked> = Select<S, BoxedColumns<R>, L>;

/// The column state of a [`BoxedSelect`]: rows of type `R`.
pub struct BoxedColumns<R>(PhantomData<R>);

impl<S, R: FromRow + Send, L> Query for Select<S, BoxedColumns<R>, L> {
    type Output = R;
    fn compile(&self) -> Compiled {
        self.compiled()
    }
    fn decode(row: &tokio_postgres::Row) -> Result<R, Error> {
        R::from_row(row)
    }
}

impl<S, C, L> Select<S, C, L> {
    /// The query with its column list erased into its row type ([`BoxedSelect`]).
    ///
    /// ```
    /// use taulu::prelude::*;
    /// use taulu::query::{BoxedSelect, Only};
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// fn base() -> BoxedSelect<Only<Users>, (uuid::Uuid, String)> {
    ///     select_from::<Users>().columns((users::id, users::username)).boxed()
    /// }
    /// let mut q = base();
    /// if true {
    ///     q = q.where_(users::username.like("a%"));
    /// }
    /// assert_eq!(q.to_sql().0, r#"SELECT "users"."id", "users"."username" FROM "users" WHERE "users"."username" LIKE $1"#);
    /// ```
    pub fn boxed(self) -> Select<S, BoxedColumns<<Self as Query>::Output>, L>
    where
        Self: Query,
    {
        self.retype()
    }

    /// The query's rows read as struct `T` (`#[derive(taulu::FromRow)]`), whose fields must match
    /// the selected columns' types in order: a mismatch is a compile error.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// #[derive(taulu::FromRow)]
    /// struct Account {
    ///     id: uuid::Uuid,
    ///     email: String,
    ///     display_name: Option<String>,
    /// }
    /// let q = select_from::<Users>().columns((users::id, users::email, users::display_name)).select_as::<Account>();
    /// # let _ = q;
    /// ```
    pub fn select_as<T: RowStruct>(self) -> Select<S, BoxedColumns<T>, L>
    where
        Self: Query,
        <Self as Query>::Output: MatchesFields<T, T::Fields>,
    {
        self.retype()
    }

    /// Runs the query and reads every row as struct `T` (see [`select_as`](Self::select_as)):
    /// `.fetch_all_as::<Account>(db)`.
    ///
    /// ```no_run
    /// use taulu::prelude::*;
    /// # use taulu_app::schema::{Users, users};
    /// #[derive(taulu::FromRow)]
    /// struct Account {
    ///     id: uuid::Uuid,
    ///     email: String,
    /// }
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// let accounts = select_from::<Users>().columns((users::id, users::email)).fetch_all_as::<Account>(db).await?;
    /// let first = select_from::<Users>().columns((users::id, users::email)).fetch_one_as::<Account>(db).await?;
    /// # let _ = (accounts, first);
    /// # Ok(()) }
    /// ```
    // A boxed future of a named type (as `sql!`'s fetch methods return), not an `async fn` or
    // `impl Future`: the bound below is then checked once, at the call (an opaque future
    // re-checks it where it is built and awaited: three copies of one error).
    pub fn fetch_all_as<'a, T: RowStruct + 'a>(&self, db: &'a impl Executor) -> super::typed::Boxed<'a, Vec<T>>
    where
        Self: Query,
        S: Closed,
        <Self as Query>::Output: MatchesFields<T, T::Fields>,
    {
        super::typed::all_rows(db, self.compile())
    }

    /// Runs the query and reads its first row as struct `T`, or [`Error::NoRows`].
    pub fn fetch_one_as<'a, T: RowStruct + 'a>(&self, db: &'a impl Executor) -> super::typed::Boxed<'a, T>
    where
        Self: Query,
        S: Closed,
        <Self as Query>::Output: MatchesFields<T, T::Fields>,
    {
        super::typed::one_row(db, self.compile_first())
    }

    /// `INNER JOIN a's table ON a = b`, where `b` is a column already in scope. The joined table
    /// is inferred from `a`. A table can be joined once (a second join of it does not compile).
    pub fn inner_join<A, B, I, JoiningATableTwiceNeedsAnAlias>(
        mut self,
        a: A,
        b: B,
    ) -> Select<Cons<Entry<A::Table, NotNull>, S>, C, L>
    where
        A: Column,
        B: JoinedTo<S, I> + Comparable<A>,
        Cons<Entry<A::Table, NotNull>, S>: Names<<A::Table as Table>::Name, JoiningATableTwiceNeedsAnAlias>,
    {
        let _ = (a, b);
        self.body.join_of::<A, B>(JoinKind::Inner);
        self.retype()
    }

    /// `INNER JOIN table ON condition`, any condition over the query's tables and the joined one:
    /// `.inner_join_on(Pets, pets::owner_id.eq(person::id).and(pets::adopted.is_not_null()))`.
    pub fn inner_join_on<T: Table, E, I, JoiningATableTwiceNeedsAnAlias>(
        mut self,
        table: T,
        on: E,
    ) -> Select<Cons<Entry<T, NotNull>, S>, C, L>
    where
        E: OnCondition<Cons<Entry<T, NotNull>, S>, I>,
        Cons<Entry<T, NotNull>, S>: Names<<T as Table>::Name, JoiningATableTwiceNeedsAnAlias>,
    {
        let _ = table;
        self.body.join_on::<T, E>(JoinKind::Inner, on);
        self.retype()
    }

    /// `LEFT JOIN table ON condition`: like [`inner_join_on`](Self::inner_join_on); the joined
    /// table's columns read as `Option<T>`.
    pub fn left_join_on<T: Table, E, I, JoiningATableTwiceNeedsAnAlias>(
        mut self,
        table: T,
        on: E,
    ) -> Select<Cons<Entry<T, Nullable>, S>, C, L>
    where
        E: OnCondition<Cons<Entry<T, Nullable>, S>, I>,
        Cons<Entry<T, Nullable>, S>: Names<<T as Table>::Name, JoiningATableTwiceNeedsAnAlias>,
    {
        let _ = table;
        self.body.join_on::<T, E>(JoinKind::Left, on);
        self.retype()
    }

    /// `CROSS JOIN table`: every row of the query with every row of `table`.
    pub fn cross_join<T: Table, JoiningATableTwiceNeedsAnAlias>(
        mut self,
        table: T,
    ) -> Select<Cons<Entry<T, NotNull>, S>, C, L>
    where
        Cons<Entry<T, NotNull>, S>: Names<<T as Table>::Name, JoiningATableTwiceNeedsAnAlias>,
    {
        let _ = table;
        self.body.core_mut().joins.push(Join {
            kind: JoinKind::Cross,
            table: table_ref::<T>().into(),
            on: Node::And(Vec::new()),
        });
        self.retype()
    }

    /// `LEFT JOIN a's table ON a = b`: the joined table's columns read as `Option<T>`.
    pub fn left_join<A, B, I, JoiningATableTwiceNeedsAnAlias>(
        mut self,
        a: A,
        b: B,
    ) -> Select<Cons<Entry<A::Table, Nullable>, S>, C, L>
    where
        A: Column,
        B: JoinedTo<S, I> + Comparable<A>,
        Cons<Entry<A::Table, Nullable>, S>: Names<<A::Table as Table>::Name, JoiningATableTwiceNeedsAnAlias>,
    {
        let _ = (a, b);
        self.body.join_of::<A, B>(JoinKind::Left);
        self.retype()
    }

    /// `ORDER BY expression [DESC] [NULLS FIRST|LAST]` (a column, an aggregate, any expression over
    /// the query's tables); successive calls add sort keys.
    #[inline]
    pub fn order_by<K: OrderItem<S, I>, I>(mut self, key: K) -> Self {
        if let Some(shaped) = self.body.shaped(0) {
            let mut bits = Bits::default();
            if key.shape_bits(&mut bits) {
                key.bind(shaped.push(order_part::<K, S, I>, bits, 0));
                return self;
            }
        }
        self.body.core_mut().order_by.push(key.into_order());
        self
    }
    /// `LIMIT $n`, from any integer type (`usize` from a `len()` too); a count past `i64::MAX`
    /// is `i64::MAX`.
    #[inline]
    pub fn limit(mut self, n: impl TryInto<i64>) -> Self {
        self.body.limit(n.try_into().unwrap_or(i64::MAX));
        self
    }

    /// `OFFSET $n`, from any integer type.
    #[inline]
    pub fn offset(mut self, n: impl TryInto<i64>) -> Self {
        self.body.offset(n.try_into().unwrap_or(i64::MAX));
        self
    }

    /// Runs the query and returns every row.
    pub async fn fetch_all<E: Executor>(&self, db: &E) -> Result<Vec<<Self as Query>::Output>, Error>
    where
        Self: Query,
        S: Closed,
    {
        super::exec::fetch_rows::<Self, E>(db, &self.compile()).await
    }

    /// Runs the query and returns its rows as a stream, decoded as they arrive: the result is never
    /// held in memory whole (on a `Db` the stream keeps its connection checked out until dropped).
    ///
    /// ```no_run
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// use futures_util::TryStreamExt as _;
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{LoginAttempts, login_attempts};
    /// let q = select_from::<LoginAttempts>().columns((login_attempts::id, login_attempts::identifier));
    /// let mut rows = q.fetch_stream(db).await?;
    /// while let Some((id, identifier)) = rows.try_next().await? {
    ///     # let _ = (id, identifier);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn fetch_stream<'a, E: Executor>(
        &self,
        db: &'a E,
    ) -> Result<impl futures_util::Stream<Item = Result<<Self as Query>::Output, Error>> + Send + 'a, Error>
    where
        Self: Query,
        S: Closed,
    {
        use futures_util::StreamExt as _;
        let rows = db.query_stream(self.compile()).await?;
        Ok(rows.map(|r| r.and_then(|row| <Self as Query>::decode(&row))))
    }

    /// Runs the query and returns the first row, or [`Error::NoRows`]. Without a `limit` of its
    /// own the query is sent with `LIMIT 1`, so the server produces one row, not all of them.
    pub async fn fetch_one<E: Executor>(&self, db: &E) -> Result<<Self as Query>::Output, Error>
    where
        Self: Query,
        S: Closed,
    {
        super::exec::decode_first::<Self>(db.query_first(&self.compile_first()).await?)?.ok_or(Error::NoRows)
    }

    /// Runs the query and returns the first row, if any (with `LIMIT 1`, like
    /// [`fetch_one`](Self::fetch_one)).
    pub async fn fetch_optional<E: Executor>(&self, db: &E) -> Result<Option<<Self as Query>::Output>, Error>
    where
        Self: Query,
        S: Closed,
    {
        super::exec::decode_first::<Self>(db.query_first(&self.compile_first()).await?)
    }

    /// PostgreSQL's plan for the query (`EXPLAIN`), one line per row, with its values bound;
    /// nothing runs.
    ///
    /// ```no_run
    /// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
    /// use taulu::prelude::*;
    /// use taulu_app::schema::{Users, users};
    /// let plan = select_from::<Users>().columns((users::id,)).where_(users::username.eq("ann")).explain(db).await?;
    /// assert!(plan[0].contains("users_username_key"));
    /// # Ok(()) }
    /// ```
    pub async fn explain<E: Executor>(&self, db: &E) -> Result<Vec<String>, Error>
    where
        Self: Query,
        S: Closed,
    {
        super::exec::explain(db, self.compile(), false).await
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)`: runs the query and reports the plan with its timings and
    /// buffer use.
    pub async fn explain_analyze<E: Executor>(&self, db: &E) -> Result<Vec<String>, Error>
    where
        Self: Query,
        S: Closed,
    {
        super::exec::explain(db, self.compile(), true).await
    }

    /// The statement for fetching its first row: `LIMIT 1` unless it has a limit. (LIMIT may
    /// follow OFFSET in PostgreSQL's grammar, and nothing is rendered after them.)
    fn compile_first(&self) -> Compiled
    where
        Self: Query,
    {
        self.compile_as(true)
    }
}

fn join<A: Column, B: Column>(kind: JoinKind) -> Join {
    Join {
        kind,
        table: table_ref::<A::Table>().into(),
        on: Node::binary(super::expr::column_node::<A>(), "=", super::expr::column_node::<B>()),
    }
}
