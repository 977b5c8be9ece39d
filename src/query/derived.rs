//! Derived tables: a query used as a table, in FROM / JOIN (a subquery, LATERAL when it uses the
//! tables before it) or in the statement's WITH (a CTE). Its columns are typed by position from the
//! query's select list: `recent.col::<0>()` has the first item's Rust type and nullability. Its
//! columns are named at compile time from the items' types (`ItemNames`, `column_names`), so the
//! alias's column list and every reference to a column render the same name.

use std::marker::PhantomData;

use super::{
    Alias, Column, FromRow, NotNull, Nullability, Nullable, Table,
    delete::Delete,
    expr::{AliasName, As, ExprIn, Expression, OnCondition, Plain, column_node},
    item::Selection,
    meta,
    render::{CteBody, CteDef, DERIVED_COLUMNS, Join, JoinKind, Node, SelectCore, Source, TableRef},
    scope::{Cons, CteJoin, Entry, Here, InScope, InWith, LCons, LNil, Names, Nil, Outer, ScopeEnd, There},
    select::{AllColumns, NoColumns, Select, Selected, Unlocked},
    update::Update,
};

/// Position zero.
pub struct Z;
/// The position after `N`.
pub struct Succ<N>(PhantomData<N>);

/// A type-level position's number.
pub trait Peano: 'static {
    /// `Z` is 0, `Succ<P>` is `P::N + 1`.
    const N: usize;
}

impl Peano for Z {
    const N: usize = 0;
}

impl<P: Peano> Peano for Succ<P> {
    const N: usize = P::N + 1;
}

/// Where column `C` stands (`P`) in an item list: found by type, so `d.column(users::email)`
/// names the derived table's column that selected `users::email`.
#[diagnostic::on_unimplemented(
    message = "`{C}` is not selected by this derived table",
    label = "`column(..)` takes a column of the subquery's select list, or an `alias!` type given to `as_`",
    note = "a string alias is a value, not a type: declare `taulu::alias!(Total)` and select `expr.as_(Total)`",
    note = "a column selected twice is ambiguous here: use `col::<N>()`, its position from 0"
)]
pub trait HasItem<C, P> {}

impl<C, I, T> HasItem<C, Z> for LCons<(C, I), T> {}

/// An item given an [`alias!`](crate::alias) type with `as_`: `d.column(Total)`.
impl<E, N: Alias, I, T> HasItem<N, Z> for LCons<(As<E, N>, I), T> {}

impl<C, H, T: HasItem<C, P>, P> HasItem<C, Succ<P>> for LCons<H, T> {}

/// Item `P` (a position) of an item list over the scope `S`: its Rust type and nullability.
#[diagnostic::on_unimplemented(
    message = "this derived table has no column at that position",
    label = "`col::<N>()` counts the subquery's columns from 0"
)]
pub trait NthItem<P, S> {
    /// The item's Rust type.
    type Rust: 'static;
    /// Whether it can be NULL.
    type Null: Nullability;
}

impl<S, A: ExprIn<S, I>, I, T> NthItem<Z, S> for LCons<(A, I), T> {
    type Rust = A::Rust;
    type Null = A::Null;
}

impl<S, E: ExprIn<S, I>, N, I, T> NthItem<Z, S> for LCons<(As<E, N>, I), T> {
    type Rust = E::Rust;
    type Null = E::Null;
}

impl<S, P, H, T: NthItem<P, S>> NthItem<Succ<P>, S> for LCons<H, T> {
    type Rust = T::Rust;
    type Null = T::Null;
}

/// A column position written as a number (`col::<2>()`), as a type-level position.
pub struct Idx<const N: usize>;

/// The type-level position of `Idx<N>`.
pub trait Position {
    /// `Succ<..Z>`.
    type P;
}

/// `Idx<0>` is `Z`, each next number the `Succ` of the one before.
macro_rules! positions {
    ($p:ty; $n:literal $(, $rest:literal)*) => {
        impl Position for Idx<$n> { type P = $p; }
        positions!(Succ<$p>; $($rest),*);
    };
    ($p:ty;) => {};
}

// Every position a derived table has (`.all()` of a table reaches 64 columns).
positions!(Z; 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56,
    57, 58, 59, 60, 61, 62, 63);

/// The name a select item gives its column where its type says it: a column's name, or the
/// [`alias!`](crate::alias) type given to `as_`.
#[doc(hidden)]
pub trait ItemName {
    /// `None` for an expression, or a string alias (a value, not in the type).
    const NAME: Option<&'static str>;
}

impl<E: Expression> ItemName for E {
    const NAME: Option<&'static str> = E::OUTPUT_NAME;
}

impl<E, N: AliasName> ItemName for As<E, N> {
    const NAME: Option<&'static str> = N::TYPE_NAME;
}

/// The names of an item list's items, by position ([`ItemName`]; `None` past its end).
#[doc(hidden)]
pub trait ItemNames {
    /// One per position a derived table may have.
    const NAMES: [Option<&'static str>; MAX_DERIVED_COLUMNS];
}

impl ItemNames for LNil {
    const NAMES: [Option<&'static str>; MAX_DERIVED_COLUMNS] = [None; MAX_DERIVED_COLUMNS];
}

impl<A: ItemName, I, T: ItemNames> ItemNames for LCons<(A, I), T> {
    const NAMES: [Option<&'static str>; MAX_DERIVED_COLUMNS] = {
        let mut names = [None; MAX_DERIVED_COLUMNS];
        names[0] = A::NAME;
        let mut i = 1;
        while i < MAX_DERIVED_COLUMNS {
            names[i] = T::NAMES[i - 1];
            i += 1;
        }
        names
    };
}

/// A derived table's column names: each item's own name ([`ItemName`]) where no other item has
/// it, else `"c<position>"` (a name spelled `c<digits>` too, so the two kinds never meet).
const fn column_names(names: &[Option<&'static str>; MAX_DERIVED_COLUMNS]) -> [&'static str; MAX_DERIVED_COLUMNS] {
    let mut out = DERIVED_COLUMNS;
    let mut i = 0;
    while i < MAX_DERIVED_COLUMNS {
        if let Some(name) = names[i] {
            let mut unique = !positional(name.as_bytes());
            let mut j = 0;
            while j < MAX_DERIVED_COLUMNS {
                if let Some(other) = names[j]
                    && j != i
                    && same(name.as_bytes(), other.as_bytes())
                {
                    unique = false;
                }
                j += 1;
            }
            if unique {
                out[i] = name;
            }
        }
        i += 1;
    }
    out
}

/// `c` followed by digits only.
const fn positional(name: &[u8]) -> bool {
    if name.len() < 2 || name[0] != b'c' {
        return false;
    }
    let mut i = 1;
    while i < name.len() {
        if !name[i].is_ascii_digit() {
            return false;
        }
        i += 1;
    }
    true
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A select list's items as a type-level list, and its width (1 to 16 items, as many as a
/// select list takes).
pub trait SelItems<S, I> {
    /// The items, each with its index in the scope.
    type Items: ItemNames;
    /// The number of items.
    const WIDTH: usize;
}

macro_rules! item_list {
    () => { LNil };
    ($a:ident $i:ident $(, $ra:ident $ri:ident)*) => { LCons<($a, $i), item_list!($($ra $ri),*)> };
}

macro_rules! sel_items {
    ($( $w:literal ($($a:ident $i:ident),+) )+) => {$(
        impl<S, $($a: ItemName, $i),+> SelItems<S, ($($i,)+)> for ($($a,)+) {
            type Items = item_list!($($a $i),+);
            const WIDTH: usize = $w;
        }
    )+};
}

sel_items! {
    1 (A0 I0)
    2 (A0 I0, A1 I1)
    3 (A0 I0, A1 I1, A2 I2)
    4 (A0 I0, A1 I1, A2 I2, A3 I3)
    5 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4)
    6 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5)
    7 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6)
    8 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7)
    9 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8)
    10 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8, A9 I9)
    11 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8, A9 I9, A10 I10)
    12 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8, A9 I9, A10 I10, A11 I11)
    13 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8, A9 I9, A10 I10, A11 I11, A12 I12)
    14 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8, A9 I9, A10 I10, A11 I11, A12 I12, A13 I13)
    15 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8, A9 I9, A10 I10, A11 I11, A12 I12, A13 I13, A14 I14)
    16 (A0 I0, A1 I1, A2 I2, A3 I3, A4 I4, A5 I5, A6 I6, A7 I7, A8 I8, A9 I9, A10 I10, A11 I11, A12 I12, A13 I13, A14 I14, A15 I15)
}

/// A statement that can be a derived table: a select with a column list of 1 to 16 items or `.all()`
/// of one table, or (as a CTE only) an INSERT, UPDATE or DELETE with such a RETURNING list.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a table",
    label = "a derived table is a select with a column list (or, in WITH, a statement with RETURNING) of 1 to 16 columns, or `.all()` of one table"
)]
pub trait DerivedQuery {
    /// The statement's scope.
    type Scope;
    /// Its items, as a type-level list.
    type Items: ItemNames;
    /// Its row type.
    type Row: FromRow;
    /// The number of columns.
    const WIDTH: usize;
    /// The derived table's column names, by position (see [`column_names`]).
    #[doc(hidden)]
    const NAMES: [&'static str; MAX_DERIVED_COLUMNS] = column_names(&Self::Items::NAMES);
    /// The first `WIDTH` of them: what the table's alias lists, `AS "A"("id", "c1")`.
    #[doc(hidden)]
    const COLUMNS: &'static [&'static str] = {
        let names: &'static [&'static str; MAX_DERIVED_COLUMNS] = &Self::NAMES;
        names.split_at(Self::WIDTH).0
    };
    #[doc(hidden)]
    fn into_body(self) -> CteBody;
}

/// A derived table that may stand in FROM / JOIN: a SELECT (PostgreSQL takes data-modifying
/// statements in WITH only).
#[diagnostic::on_unimplemented(
    message = "an INSERT, UPDATE or DELETE can only be used as a CTE",
    label = "not a SELECT",
    note = "put it in a WITH: `with(&cte)`, then read it with `select_from_cte`"
)]
pub trait SelectQuery: DerivedQuery {}

impl<S, T: SelItems<S, I> + Selection<S, I>, I, L> DerivedQuery for Select<S, Selected<T, I>, L>
where
    T::Row: FromRow,
{
    type Scope = S;
    type Items = T::Items;
    type Row = T::Row;
    const WIDTH: usize = T::WIDTH;
    fn into_body(self) -> CteBody {
        CteBody::Select(Box::new(Select::into_core(self)))
    }
}

impl<S, T: SelItems<S, I> + Selection<S, I>, I, L> SelectQuery for Select<S, Selected<T, I>, L> where T::Row: FromRow {}

impl<Tb: Table, T: SelItems<super::Only<Tb>, I> + Selection<super::Only<Tb>, I>, I> DerivedQuery
    for super::Insert<Tb, super::Returning<T, I>>
where
    T::Row: FromRow,
{
    type Scope = super::Only<Tb>;
    type Items = T::Items;
    type Row = T::Row;
    const WIDTH: usize = T::WIDTH;
    fn into_body(self) -> CteBody {
        CteBody::Insert(Box::new(self.into_core()))
    }
}

impl<Tb: Table, T: SelItems<Sc, I> + Selection<Sc, I>, I, Sc> DerivedQuery
    for super::Update<Tb, super::HasSet, super::Returning<T, I>, Sc>
where
    T::Row: FromRow,
{
    type Scope = Sc;
    type Items = T::Items;
    type Row = T::Row;
    const WIDTH: usize = T::WIDTH;
    fn into_body(self) -> CteBody {
        CteBody::Update(Box::new(self.into_core()))
    }
}

impl<Tb: Table, T: SelItems<Sc, I> + Selection<Sc, I>, I, Sc> DerivedQuery
    for super::Delete<Tb, super::Returning<T, I>, Sc>
where
    T::Row: FromRow,
{
    type Scope = Sc;
    type Items = T::Items;
    type Row = T::Row;
    const WIDTH: usize = T::WIDTH;
    fn into_body(self) -> CteBody {
        CteBody::Delete(Box::new(self.into_core()))
    }
}

/// A table's columns as a type-level list of select items (`schema!` emits it for every table and
/// view): what `.all()` selects, so a derived table or CTE whose body is
/// `select_from::<T>().all()` types its columns like one with the same column list.
#[doc(hidden)]
pub trait TableColumns: Table {
    /// `LCons<(column, Here), ..>`, in table order.
    type Items: ItemNames;
}

/// The most columns a derived table names (`"c0"` .. `"c63"`); a select list takes at most 16,
/// `.all()` of a table up to this.
const MAX_DERIVED_COLUMNS: usize = DERIVED_COLUMNS.len();

// Not recommended: for `.all()` of a join, the error is the trait's own ("cannot be used as a
// table"), not the scope's shape this impl needs.
#[diagnostic::do_not_recommend]
impl<T: TableColumns, E: ScopeEnd, L> DerivedQuery for Select<Cons<Entry<T, NotNull>, E>, AllColumns, L> {
    type Scope = Cons<Entry<T, NotNull>, E>;
    type Items = T::Items;
    type Row = T::Row;
    const WIDTH: usize = {
        assert!(T::COLUMNS.len() <= MAX_DERIVED_COLUMNS, "a derived table takes at most 64 columns");
        T::COLUMNS.len()
    };
    fn into_body(self) -> CteBody {
        CteBody::Select(Box::new(Select::into_core(self)))
    }
}

#[diagnostic::do_not_recommend]
impl<T: TableColumns, E: ScopeEnd, L> SelectQuery for Select<Cons<Entry<T, NotNull>, E>, AllColumns, L> {}

/// A [`lateral`] subquery `Q`, built over the scope `S` of the query it may join.
pub struct Lateral<S, Q>(Q, PhantomData<fn() -> S>);

impl<S, Q: DerivedQuery> DerivedQuery for Lateral<S, Q> {
    type Scope = Q::Scope;
    type Items = Q::Items;
    type Row = Q::Row;
    const WIDTH: usize = Q::WIDTH;
    fn into_body(self) -> CteBody {
        self.0.into_body()
    }
}

impl<S, Q: SelectQuery> SelectQuery for Lateral<S, Q> {}

/// Where a derived table may stand: a subquery anywhere; a [`lateral`] one only after the tables
/// it was built over (the scope `S` of the query it joins ends with them).
#[diagnostic::on_unimplemented(
    message = "this LATERAL subquery reads tables that are not in this query",
    label = "built with `lateral(&q, ..)` over another query",
    note = "build it from the query it joins: `let latest = lateral(&base, ..); base.left_join_derived(latest, on_true())`"
)]
pub trait JoinsAfter<S, I> {}

impl<S, S0, T, IT, L> JoinsAfter<S, ()> for Select<S0, Selected<T, IT>, L> {}
impl<S, S0, L> JoinsAfter<S, ()> for Select<S0, AllColumns, L> {}

// Data-modifying statements are refused as tables by `SelectQuery`, with its own message; they
// are no LATERAL, so this bound has nothing to add.
impl<S, Tb, R> JoinsAfter<S, ()> for super::Insert<Tb, R> {}
impl<S, Tb, St, R, Sc> JoinsAfter<S, ()> for Update<Tb, St, R, Sc> {}
impl<S, Tb, R, Sc> JoinsAfter<S, ()> for Delete<Tb, R, Sc> {}

impl<S: EndsWith<S0, J>, S0, Q, J> JoinsAfter<S, J> for Lateral<S0, Q> {}

/// A scope whose last entries are the scope `S` (`I`: where `S` starts).
#[diagnostic::on_unimplemented(
    message = "a LATERAL subquery reads tables that are not in the query it joins",
    label = "the subquery was built with `lateral(&q, ..)` over other tables",
    note = "build it from the query it joins: `let latest = lateral(&base, ..); base.left_join_derived(latest, on_true())`"
)]
pub trait EndsWith<S, I> {}

impl<S> EndsWith<S, Here> for S {}

impl<H, R: EndsWith<S, I>, S, I> EndsWith<S, There<I>> for Cons<H, R> {}

/// A query made into a table named `A` ([`derived`], [`lateral`]): use it in FROM
/// ([`select_from_derived`]), in a join ([`Select::inner_join_derived`], ..), or as a CTE
/// ([`with`]); read its columns with [`col`](Derived::col).
#[must_use]
pub struct Derived<A, Q> {
    body: CteBody,
    lateral: bool,
    recursive: Option<Box<SelectCore>>,
    /// `UNION ALL` (true) or `UNION` between a recursive CTE's terms.
    union_all: bool,
    _p: PhantomData<fn() -> (A, Q)>,
}

/// The table type of a derived table in a query's scope.
pub struct DerivedTable<A, Q>(PhantomData<fn() -> (A, Q)>);

impl<A, Q> Clone for DerivedTable<A, Q> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A, Q> Copy for DerivedTable<A, Q> {}
impl<A, Q> Default for DerivedTable<A, Q> {
    fn default() -> Self {
        DerivedTable(PhantomData)
    }
}

/// `query AS "A"`: the query as a table named by the alias `A` (declared with
/// [`alias!`](crate::alias)).
///
/// Its columns keep the names their items give them: a column its own (`"identifier"`), an
/// expression the [`alias!`](crate::alias) type given to `as_` (`"Total"`); an expression without
/// one, a string alias, or a name two items share is named by its position (`"c1"`). Read them
/// with [`col::<N>()`](Derived::col), or with [`column`](Derived::column) by the column or alias
/// type they selected.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::{derived, select_from_derived};
/// # use taulu_app::schema;
/// use schema::{LoginAttempts, login_attempts};
/// taulu::alias!(Failures, Total);
/// let per_identifier = derived(
///     Failures,
///     select_from::<LoginAttempts>()
///         .columns((login_attempts::identifier, count_all().as_(Total), max(login_attempts::attempted_at)))
///         .where_(login_attempts::success.eq(false))
///         .group_by((login_attempts::identifier,)),
/// );
/// let (who, n) = (per_identifier.column(login_attempts::identifier), per_identifier.column(Total));
/// let last = per_identifier.col::<2>();
/// let q = select_from_derived(per_identifier).columns((who, last)).where_(n.ge(3));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "Failures"."identifier", "Failures"."c2" FROM (SELECT "login_attempts"."identifier", count(*) AS "Total", max("login_attempts"."attempted_at") FROM "login_attempts" WHERE "login_attempts"."success" = $1 GROUP BY "login_attempts"."identifier") AS "Failures"("identifier", "Total", "c2") WHERE "Failures"."Total" >= $2"#
/// );
/// ```
pub fn derived<A: Alias, Q: DerivedQuery>(alias: A, query: Q) -> Derived<A, Q> {
    let _ = alias;
    Derived { body: query.into_body(), lateral: false, recursive: None, union_all: true, _p: PhantomData }
}

/// A LATERAL subquery over `T` named `A`, which may use the columns of `outer`'s tables: join it to
/// `outer` with [`Select::inner_join_derived`] / [`Select::left_join_derived`]. (`outer` is only
/// read for its type: it tells the subquery which tables it may use.)
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::lateral;
/// # use taulu_app::schema;
/// use schema::{LoginAttempts, Users, login_attempts, users};
/// taulu::alias!(Latest);
/// let base = select_from::<Users>();
/// let latest = lateral(&base, Latest, LoginAttempts, |a| {
///     a.columns((login_attempts::attempted_at,))
///         .where_(login_attempts::identifier.eq(users::username))
///         .order_by(login_attempts::attempted_at.desc())
///         .limit(1)
/// });
/// let at = latest.col::<0>();
/// let q = base.left_join_derived(latest, sql("true")).columns((users::username, at));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "users"."username", "Latest"."attempted_at" FROM "users" LEFT JOIN LATERAL (SELECT "login_attempts"."attempted_at" FROM "login_attempts" WHERE "login_attempts"."identifier" = "users"."username" ORDER BY "login_attempts"."attempted_at" DESC LIMIT $1) AS "Latest"("attempted_at") ON true"#
/// );
/// ```
pub fn lateral<S, C, L, A: Alias, T: Table, Q: SelectQuery, F>(
    outer: &Select<S, C, L>,
    alias: A,
    table: T,
    build: F,
) -> Derived<A, Lateral<S, Q>>
where
    F: FnOnce(Select<Cons<Entry<T, NotNull>, S>, NoColumns, Unlocked>) -> Q,
{
    let (_, _, _) = (outer, alias, table);
    let inner = build(Select::from_core(SelectCore::new(TableRef::of::<T>())));
    Derived { body: inner.into_body(), lateral: true, recursive: None, union_all: true, _p: PhantomData }
}

impl<A: Alias, Q: DerivedQuery> Derived<A, Q> {
    /// Column `N` (from 0) of the derived table, typed as the subquery's item `N` (named as
    /// [`derived`] says).
    pub fn col<const N: usize>(&self) -> Col<DerivedTable<A, Q>, <Idx<N> as Position>::P>
    where
        Idx<N>: Position,
    {
        Col(PhantomData)
    }

    /// The derived table's column that selected `column` (a column of its subquery's select
    /// list, or of a table `.all()` selected), typed as there: `recent.column(users::email)`; or
    /// the one given the [`alias!`](crate::alias) type `column` with `as_`: `recent.column(Total)`.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// use taulu::query::{derived, select_from_derived};
    /// # use taulu_app::schema;
    /// use schema::{Users, users};
    /// taulu::alias!(Named);
    /// let named = derived(Named, select_from::<Users>().columns((users::id, users::email)));
    /// let email = named.column(users::email);
    /// let q = select_from_derived(named).columns((email,)).where_(email.like("%@example.com"));
    /// assert_eq!(
    ///     q.to_sql().0,
    ///     r#"SELECT "Named"."email" FROM (SELECT "users"."id", "users"."email" FROM "users") AS "Named"("id", "email") WHERE "Named"."email" LIKE $1"#
    /// );
    /// ```
    pub fn column<C, P>(&self, column: C) -> Col<DerivedTable<A, Q>, P>
    where
        Q::Items: HasItem<C, P>,
    {
        let _ = column;
        Col(PhantomData)
    }

    fn source(self) -> Source {
        match self.body {
            CteBody::Select(select) => {
                Source::Derived { select, alias: A::NAME, columns: Q::COLUMNS, lateral: self.lateral }
            }
            _ => unreachable!("only a SELECT is a SelectQuery"),
        }
    }
}

/// A recursive CTE: `"A"(..) AS (base UNION ALL step)`, where `step` reads the CTE itself (join it
/// with [`Select::inner_join_cte`]) and returns rows of the base query's type. Use the result with
/// [`with`] like any CTE; the WITH becomes `WITH RECURSIVE`.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::{recursive, with};
/// # use taulu_app::schema;
/// use schema::{Members, members};
/// taulu::alias!(Reach);
/// // Users reachable from user `me` through shared orgs (a graph walk; UNION ALL, so bound it).
/// let me = uuid::Uuid::nil();
/// let reach = recursive(
///     Reach,
///     select_from::<Members>().columns((members::org_id, val(0i32))).where_(members::user_id.eq(me)),
///     |reach| {
///         select_from::<Members>()
///             .inner_join_cte(reach, reach.col::<0>().eq(members::org_id))
///             .columns((members::org_id, reach.col::<1>().add(1)))
///             .where_(reach.col::<1>().lt(3))
///     },
/// );
/// let q = with(&reach).select_from_cte(&reach).columns((reach.col::<0>(),)).distinct();
/// assert!(q.to_sql().0.starts_with(r#"WITH RECURSIVE "Reach"("org_id", "c1") AS (SELECT "members"."org_id", $1::integer FROM "members" WHERE "members"."user_id" = $2 UNION ALL SELECT"#));
/// ```
pub fn recursive<A: Alias, Q: SelectQuery, R, F>(alias: A, base: Q, step: F) -> Derived<A, Q>
where
    F: FnOnce(&Derived<A, Q>) -> R,
    R: super::exec::Query + super::expr::Subquery,
    R::Output: super::compound::SameRow<Q::Row>,
{
    let mut cte = derived(alias, base);
    let term = step(&cte).into_select();
    cte.recursive = Some(Box::new(term));
    cte
}

/// [`recursive`] with `UNION` instead of `UNION ALL` between the terms: rows already produced
/// are dropped, so a walk over a graph with cycles ends by itself (PostgreSQL stops when a step
/// adds no new row).
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::{recursive_distinct, with};
/// use taulu_app::schema::{Members, members};
/// taulu::alias!(Orgs2);
/// let me = uuid::Uuid::nil();
/// let reach = recursive_distinct(
///     Orgs2,
///     select_from::<Members>().columns((members::org_id,)).where_(members::user_id.eq(me)),
///     |r| select_from::<Members>().inner_join_cte(r, r.col::<0>().eq(members::org_id)).columns((members::org_id,)),
/// );
/// let q = with(&reach).select_from_cte(&reach).columns((reach.col::<0>(),));
/// assert!(q.to_sql().0.contains(r#" UNION SELECT "members"."org_id" FROM "members" INNER JOIN "Orgs2""#));
/// ```
pub fn recursive_distinct<A: Alias, Q: SelectQuery, R, F>(alias: A, base: Q, step: F) -> Derived<A, Q>
where
    F: FnOnce(&Derived<A, Q>) -> R,
    R: super::exec::Query + super::expr::Subquery,
    R::Output: super::compound::SameRow<Q::Row>,
{
    let mut cte = recursive(alias, base, step);
    cte.union_all = false;
    cte
}

/// The placeholder row description of derived tables (they are not in the schema; read-only, like
/// views: they implement `Table`, not `Writable`).
static DERIVED_INFO: meta::TableInfo =
    meta::TableInfo { schema: "", name: "(derived)", columns: &[], origin: "query", view: true };

impl FromRow for () {
    fn from_row_at(_: &tokio_postgres::Row, _: usize) -> Result<Self, crate::Error> {
        Ok(())
    }
}

impl<A: Alias, Q: DerivedQuery + 'static> Table for DerivedTable<A, Q> {
    const SCHEMA: &'static str = "public";
    const NAME: &'static str = A::NAME;
    const COLUMNS: &'static [&'static str] = Q::COLUMNS;
    const INFO: &'static meta::TableInfo = &DERIVED_INFO;
    type Row = Q::Row;
    type Name = A;
}

/// A column of a derived table `D`, at position `P` (`Z`, `Succ<Z>`, ..).
pub struct Col<D, P>(PhantomData<fn() -> (D, P)>);

impl<D, P> Clone for Col<D, P> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<D, P> Copy for Col<D, P> {}
impl<D, P> Default for Col<D, P> {
    fn default() -> Self {
        Col(PhantomData)
    }
}

impl<A: Alias, Q: DerivedQuery + 'static, P: Peano> Column for Col<DerivedTable<A, Q>, P>
where
    Q::Items: NthItem<P, Q::Scope>,
{
    type Table = DerivedTable<A, Q>;
    type Rust = <Q::Items as NthItem<P, Q::Scope>>::Rust;
    type Null = <Q::Items as NthItem<P, Q::Scope>>::Null;
    type Assign = super::dml::Computed;
    const NAME: &'static str = Q::NAMES[P::N];
    const SQL_TYPE: &'static str = "";
    const CAST: Option<&'static str> = None;
}

impl<A: Alias, Q: DerivedQuery + 'static, P: Peano> Expression for Col<DerivedTable<A, Q>, P>
where
    Self: Column,
{
    type Rust = <Self as Column>::Rust;
    type Kind = Plain;
    const OUTPUT_NAME: Option<&'static str> = Some(<Self as Column>::NAME);
    fn into_node(self) -> Node {
        column_node::<Self>()
    }
}

impl<S, I, A: Alias, Q: DerivedQuery + 'static, P: Peano> ExprIn<S, I> for Col<DerivedTable<A, Q>, P>
where
    Self: InScope<S, I>,
{
    type Null = <Self as InScope<S, I>>::Null;
}

/// `SELECT .. FROM (subquery) AS "A"(..)`.
pub fn select_from_derived<A: Alias, Q: SelectQuery + JoinsAfter<Nil, JL> + 'static, JL>(
    table: Derived<A, Q>,
) -> Select<Cons<Entry<DerivedTable<A, Q>, NotNull>, Nil>, NoColumns> {
    Select::from_core(SelectCore::new(table.source()))
}

/// A WITH clause being written: its CTEs, then the query that uses them.
#[must_use]
pub struct With {
    ctes: Vec<CteDef>,
}

/// `WITH "A"(..) AS (query) ..`: the derived table as a CTE of the statement that follows (add
/// more with [`With::and`]); use it with [`With::select_from`] and [`Select::inner_join_cte`].
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::{derived, with};
/// # use taulu_app::schema;
/// use schema::{LoginAttempts, Users, login_attempts, users};
/// taulu::alias!(Recent);
/// let recent = derived(
///     Recent,
///     select_from::<LoginAttempts>().columns((login_attempts::identifier, count_all())).group_by((login_attempts::identifier,)),
/// );
/// let (who, n) = (recent.col::<0>(), recent.col::<1>());
/// let q = with(&recent)
///     .select_from::<Users>()
///     .inner_join_cte(&recent, who.eq(users::username))
///     .columns((users::username, n));
/// assert_eq!(
///     q.to_sql().0,
///     r#"WITH "Recent"("identifier", "c1") AS (SELECT "login_attempts"."identifier", count(*) FROM "login_attempts" GROUP BY "login_attempts"."identifier") SELECT "users"."username", "Recent"."c1" FROM "users" INNER JOIN "Recent" ON "Recent"."identifier" = "users"."username""#
/// );
/// ```
pub fn with<A: Alias, Q: DerivedQuery>(cte: &Derived<A, Q>) -> With {
    With { ctes: Vec::new() }.and(cte)
}

impl With {
    /// Another CTE.
    pub fn and<A: Alias, Q: DerivedQuery>(mut self, cte: &Derived<A, Q>) -> Self {
        self.ctes.push(CteDef {
            name: A::NAME,
            columns: Q::COLUMNS,
            body: cte.body.clone(),
            recursive: cte.recursive.clone(),
            union_all: cte.union_all,
        });
        self
    }

    /// The statement: `SELECT .. FROM T` with the CTEs available to join.
    pub fn select_from<T: Table>(self) -> Select<Cons<Entry<T, NotNull>, InWith>, NoColumns> {
        let mut core = SelectCore::new(TableRef::of::<T>());
        core.with = self.ctes;
        Select::from_core(core)
    }

    /// `WITH .. INSERT INTO T ..`: an INSERT whose `.select(..)` reads the CTEs (see
    /// [`select_from_cte`]), as in `WITH moved AS (DELETE .. RETURNING ..) INSERT .. SELECT .. FROM moved`.
    pub fn insert_into<T: super::Writable>(self) -> super::InsertInto<T> {
        super::InsertInto::with_ctes(self.ctes)
    }

    /// `WITH .. UPDATE T ..`: an UPDATE that reads the CTEs, in its FROM
    /// ([`Update::from_cte`](super::Update::from_cte)) or in subqueries.
    pub fn update<T: super::Writable>(self) -> super::Update<T, super::NoSet> {
        super::update::<T>().with_ctes(self.ctes)
    }

    /// `WITH .. DELETE FROM T ..`: a DELETE that reads the CTEs, in its USING
    /// ([`Delete::using_cte`](super::Delete::using_cte)) or in subqueries.
    pub fn delete_from<T: super::Writable>(self) -> super::Delete<T> {
        super::delete_from::<T>().with_ctes(self.ctes)
    }

    /// The statement reading from one of the CTEs: `SELECT .. FROM "A"`.
    pub fn select_from_cte<A: Alias, Q: DerivedQuery + 'static>(
        self,
        cte: &Derived<A, Q>,
    ) -> Select<Cons<Entry<DerivedTable<A, Q>, NotNull>, InWith>, NoColumns> {
        let _ = cte;
        let mut core = SelectCore::new(Source::Cte(A::NAME));
        core.with = self.ctes;
        Select::from_core(core)
    }
}

/// `SELECT .. FROM "A"` for a CTE of the statement it is part of (the SELECT of a
/// [`With::insert_into`], a subquery): the WITH itself belongs to that statement, so this query
/// cannot run on its own (a compile error; see [`Closed`](super::Closed)).
pub fn select_from_cte<A: Alias, Q: DerivedQuery + 'static>(
    cte: &Derived<A, Q>,
) -> Select<Cons<Entry<DerivedTable<A, Q>, NotNull>, Outer>, NoColumns> {
    let _ = cte;
    Select::from_core(SelectCore::new(Source::Cte(A::NAME)))
}

impl<T: Table, St, R, Sc> Update<T, St, R, Sc> {
    /// `UPDATE t SET .. FROM "A"`: a CTE of this statement's [`with`] (`with(&a).update::<T>()`),
    /// its columns (`a.col::<N>()`) then usable in SET, WHERE and RETURNING.
    pub fn from_cte<A: Alias, Q: DerivedQuery + 'static, J>(
        self,
        cte: &Derived<A, Q>,
    ) -> Update<T, St, R, Cons<Entry<DerivedTable<A, Q>, NotNull>, Sc>>
    where
        Cons<Entry<DerivedTable<A, Q>, NotNull>, Sc>: Names<A, J>,
    {
        let _ = cte;
        self.add_from(Source::Cte(A::NAME))
    }
}

impl<T: Table, R, Sc> Delete<T, R, Sc> {
    /// `DELETE FROM t USING "A"`: a CTE of this statement's [`with`]
    /// (`with(&a).delete_from::<T>()`), its columns then usable in WHERE and RETURNING.
    pub fn using_cte<A: Alias, Q: DerivedQuery + 'static, J>(
        self,
        cte: &Derived<A, Q>,
    ) -> Delete<T, R, Cons<Entry<DerivedTable<A, Q>, NotNull>, Sc>>
    where
        Cons<Entry<DerivedTable<A, Q>, NotNull>, Sc>: Names<A, J>,
    {
        let _ = cte;
        self.add_using(Source::Cte(A::NAME))
    }
}

impl<S, C, L> Select<S, C, L> {
    fn join_source<S2, C2, L2>(mut self, kind: JoinKind, table: Source, on: Node) -> Select<S2, C2, L2> {
        self.push_join(Join { kind, table, on });
        Select::retype_core(self)
    }

    /// `INNER JOIN (subquery) AS "A"(..) ON condition` (`LATERAL` for a [`lateral`] one).
    pub fn inner_join_derived<A: Alias, Q: SelectQuery + JoinsAfter<S, JL> + 'static, E, I, J, JL>(
        self,
        table: Derived<A, Q>,
        on: E,
    ) -> Select<Cons<Entry<DerivedTable<A, Q>, NotNull>, S>, C, L>
    where
        E: OnCondition<Cons<Entry<DerivedTable<A, Q>, NotNull>, S>, I>,
        Cons<Entry<DerivedTable<A, Q>, NotNull>, S>: Names<A, J>,
    {
        self.join_source(JoinKind::Inner, table.source(), on.into_node())
    }

    /// `LEFT JOIN (subquery) AS "A"(..) ON condition`: its columns read as `Option`.
    pub fn left_join_derived<A: Alias, Q: SelectQuery + JoinsAfter<S, JL> + 'static, E, I, J, JL>(
        self,
        table: Derived<A, Q>,
        on: E,
    ) -> Select<Cons<Entry<DerivedTable<A, Q>, Nullable>, S>, C, L>
    where
        E: OnCondition<Cons<Entry<DerivedTable<A, Q>, Nullable>, S>, I>,
        Cons<Entry<DerivedTable<A, Q>, Nullable>, S>: Names<A, J>,
    {
        self.join_source(JoinKind::Left, table.source(), on.into_node())
    }

    /// `CROSS JOIN (subquery) AS "A"(..)` (`CROSS JOIN LATERAL` for a [`lateral`] one: the
    /// subquery once per row of the tables before it, rows where it returns none dropped; for a
    /// row kept with NULLs instead, `left_join_derived(d, on_true())`).
    pub fn cross_join_derived<A: Alias, Q: SelectQuery + JoinsAfter<S, JL> + 'static, J, JL>(
        self,
        table: Derived<A, Q>,
    ) -> Select<Cons<Entry<DerivedTable<A, Q>, NotNull>, S>, C, L>
    where
        Cons<Entry<DerivedTable<A, Q>, NotNull>, S>: Names<A, J>,
    {
        self.join_source(JoinKind::Cross, table.source(), Node::And(Vec::new()))
    }

    /// `INNER JOIN "A" ON condition`, for a CTE of this statement's [`with`] (or, in a subquery or
    /// a recursive CTE's term, of the statement around it: such a query cannot run on its own).
    pub fn inner_join_cte<A: Alias, Q: DerivedQuery + 'static, E, I, J>(
        self,
        cte: &Derived<A, Q>,
        on: E,
    ) -> Select<Cons<Entry<DerivedTable<A, Q>, NotNull>, S::Out>, C, L>
    where
        S: CteJoin,
        E: OnCondition<Cons<Entry<DerivedTable<A, Q>, NotNull>, S::Out>, I>,
        Cons<Entry<DerivedTable<A, Q>, NotNull>, S::Out>: Names<A, J>,
    {
        let _ = cte;
        self.join_source(JoinKind::Inner, Source::Cte(A::NAME), on.into_node())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(items: &[Option<&'static str>]) -> Vec<&'static str> {
        let mut all = [None; MAX_DERIVED_COLUMNS];
        all[..items.len()].copy_from_slice(items);
        column_names(&all)[..items.len()].to_vec()
    }

    #[test]
    fn every_position_a_derived_table_has_is_written_as_its_number() {
        fn n<const N: usize>() -> usize
        where
            Idx<N>: Position<P: Peano>,
        {
            <<Idx<N> as Position>::P as Peano>::N
        }
        assert_eq!([n::<0>(), n::<1>(), n::<16>(), n::<40>(), n::<63>()], [0, 1, 16, 40, 63]);
        assert_eq!(MAX_DERIVED_COLUMNS, 64);
    }

    #[test]
    fn an_item_keeps_its_name_unless_another_has_it_or_it_looks_positional() {
        assert_eq!(names(&[Some("id"), None, Some("email")]), ["id", "c1", "email"]);
        assert_eq!(names(&[Some("id"), Some("name"), Some("id")]), ["c0", "name", "c2"]);
        // `c2` would meet position 2's name; `c` and `cx` are names like any other.
        assert_eq!(names(&[Some("c2"), Some("c"), None, Some("cx")]), ["c0", "c", "c2", "cx"]);
        // Names are compared as PostgreSQL compares quoted identifiers: exactly.
        assert_eq!(names(&[Some("Id"), Some("id")]), ["Id", "id"]);
    }
}
