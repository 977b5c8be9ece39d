//! Correlated subqueries (EXISTS, scalar): the inner query gets the outer scope, so it may use
//! outer columns.

use std::marker::PhantomData;

use super::{
    Cons, Entry, NotNull, Nullable, Table,
    expr::{ExprIn, Expression, Json, Plain, SingleColumn, Subquery},
    render::{Node, SelectCore, TableRef},
    select::{NoColumns, Select},
};

/// The inner query of a correlated EXISTS: table `T` in front of the outer scope `S`.
type Inner<T, S, C> = Select<Cons<Entry<T, NotNull>, S>, C, super::select::Unlocked>;

impl<S, C, L> Select<S, C, L> {
    /// `WHERE EXISTS (SELECT 1 FROM T WHERE ..)`: `build` gets a query over `T` whose scope also
    /// has this query's tables, so it can correlate (`members::user_id.eq(users::id)`).
    pub fn where_exists<T: Table, F, C2>(self, build: F) -> Self
    where
        F: FnOnce(Inner<T, S, NoColumns>) -> Inner<T, S, C2>,
    {
        self.exists::<T, F, C2>(build, false)
    }

    /// `WHERE NOT EXISTS (SELECT 1 FROM T WHERE ..)`; see [`Select::where_exists`].
    pub fn where_not_exists<T: Table, F, C2>(self, build: F) -> Self
    where
        F: FnOnce(Inner<T, S, NoColumns>) -> Inner<T, S, C2>,
    {
        self.exists::<T, F, C2>(build, true)
    }

    fn exists<T: Table, F, C2>(self, build: F, negated: bool) -> Self
    where
        F: FnOnce(Inner<T, S, NoColumns>) -> Inner<T, S, C2>,
    {
        self.push_where(correlated_exists_as(T::default(), build, negated).into_node())
    }
}

/// A correlated scalar subquery: `(SELECT x FROM T WHERE ..)` whose WHERE may use the outer
/// query's tables (scope `S`), of Rust type `R`, NULL when it finds no row. Made by [`correlated`].
#[must_use]
pub struct Correlated<S, R> {
    select: SelectCore,
    _p: PhantomData<fn() -> (S, R)>,
}

/// `(SELECT .. FROM T ..)` correlated with the query it is used in: `build` gets a query over `T`
/// whose scope also has the outer query's tables, and selects one column.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::correlated;
/// # use taulu_app::schema;
/// use schema::{Members, Users, members, users};
/// let q = select_from::<Users>().columns((
///     users::username,
///     correlated(Members, |m| m.columns((count_all(),)).where_(members::user_id.eq(users::id))).as_("orgs"),
/// ));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "users"."username", (SELECT count(*) FROM "members" WHERE "members"."user_id" = "users"."id") AS "orgs" FROM "users""#
/// );
/// ```
pub fn correlated<T: Table, S, F, Q>(table: T, build: F) -> Correlated<S, Q::Rust>
where
    F: FnOnce(Inner<T, S, NoColumns>) -> Q,
    Q: SingleColumn,
{
    let _ = table;
    let from = super::render::TableRef::of::<T>();
    let inner = build(Select::from_core(SelectCore::new(from)));
    Correlated { select: inner.into_select(), _p: PhantomData }
}

impl<S, R: 'static> Expression for Correlated<S, R> {
    type Rust = R;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Subquery(Box::new(self.select))
    }
}

impl<S, R: 'static> ExprIn<S, ()> for Correlated<S, R> {
    type Null = Nullable;
}

/// A correlated `[NOT] EXISTS (SELECT 1 FROM T WHERE ..)` as a boolean expression over the outer
/// query's tables (scope `S`): usable wherever a condition or a value goes (a select list, ON,
/// the WHERE of an UPDATE or DELETE), unlike [`Select::where_exists`]. Made by
/// [`correlated_exists`] and [`correlated_not_exists`].
#[must_use]
pub struct CorrelatedExists<S> {
    select: SelectCore,
    negated: bool,
    _p: PhantomData<fn() -> S>,
}

/// `EXISTS (SELECT 1 FROM T ..)` correlated with the query it is used in: `build` gets a query
/// over `T` whose scope also has the outer query's tables.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::correlated_exists;
/// use taulu_app::schema::{Members, Users, members, users};
/// // Users with a flag saying whether they belong to any org.
/// let q = select_from::<Users>().columns((
///     users::username,
///     correlated_exists(Members, |m| m.where_(members::user_id.eq(users::id))).as_("in_an_org"),
/// ));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "users"."username", EXISTS (SELECT 1 FROM "members" WHERE "members"."user_id" = "users"."id") AS "in_an_org" FROM "users""#
/// );
/// ```
pub fn correlated_exists<T: Table, S, F, C>(table: T, build: F) -> CorrelatedExists<S>
where
    F: FnOnce(Inner<T, S, NoColumns>) -> Inner<T, S, C>,
{
    correlated_exists_as(table, build, false)
}

/// `NOT EXISTS (SELECT 1 FROM T ..)`, correlated; see [`correlated_exists`].
pub fn correlated_not_exists<T: Table, S, F, C>(table: T, build: F) -> CorrelatedExists<S>
where
    F: FnOnce(Inner<T, S, NoColumns>) -> Inner<T, S, C>,
{
    correlated_exists_as(table, build, true)
}

fn correlated_exists_as<T: Table, S, F, C>(table: T, build: F, negated: bool) -> CorrelatedExists<S>
where
    F: FnOnce(Inner<T, S, NoColumns>) -> Inner<T, S, C>,
{
    let _ = table;
    let from = super::render::TableRef::of::<T>();
    let inner = build(Select::from_core(SelectCore::new(from)));
    CorrelatedExists { select: inner.into_core(), negated, _p: PhantomData }
}

impl<S> Expression for CorrelatedExists<S> {
    type Rust = bool;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Exists { select: Box::new(self.select), negated: self.negated }
    }
}

impl<S> ExprIn<S, ()> for CorrelatedExists<S> {
    type Null = super::NotNull;
}

/// A correlated subquery read as JSON: its rows as an array ([`json_array`], `Json<Vec<R>>`) or
/// its first row as an object ([`json_object`], `Json<R>`, nullable).
#[must_use]
pub struct JsonFrom<S, R, Shape> {
    select: SelectCore,
    _p: PhantomData<fn() -> (S, R, Shape)>,
}

/// Every row, as a JSON array.
pub struct ArrayOf;
/// The first row, as a JSON object.
pub struct ObjectOf;

type JsonInner<T, S> = Select<Cons<Entry<T, NotNull>, S>, NoColumns>;

fn json_from<T: Table, S, Q: Subquery, R, Shape>(build: impl FnOnce(JsonInner<T, S>) -> Q) -> JsonFrom<S, R, Shape> {
    let inner = build(Select::from_core(SelectCore::new(TableRef::of::<T>())));
    JsonFrom { select: inner.into_select(), _p: PhantomData }
}

/// The rows of a subquery over `T` (correlated with the outer query) as one JSON array, `[]` when
/// there are none: Kysely's `jsonArrayFrom`. Each row is an object keyed by the selected columns'
/// names (or aliases); it reads as `Json<Vec<MyStruct>>` with `MyStruct: serde::Deserialize`.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::json_array;
/// # use taulu_app::schema;
/// use schema::{Members, Users, members, users};
/// let q = select_from::<Users>().columns((
///     users::username,
///     json_array::<_, _, _, serde_json::Value>(Members, |m| {
///         m.columns((members::org_id, members::member_role)).where_(members::user_id.eq(users::id))
///     }),
/// ));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "users"."username", (SELECT coalesce(jsonb_agg(agg), '[]'::jsonb) FROM (SELECT "members"."org_id", "members"."member_role" FROM "members" WHERE "members"."user_id" = "users"."id") AS agg) FROM "users""#
/// );
/// ```
pub fn json_array<T: Table, S, Q: Subquery, R>(
    table: T,
    build: impl FnOnce(JsonInner<T, S>) -> Q,
) -> JsonFrom<S, R, ArrayOf> {
    let _ = table;
    json_from(build)
}

/// The first row of a subquery over `T` (correlated with the outer query) as one JSON object, NULL
/// when there is none: Kysely's `jsonObjectFrom`. It reads as `Option<Json<MyStruct>>`.
pub fn json_object<T: Table, S, Q: Subquery, R>(
    table: T,
    build: impl FnOnce(JsonInner<T, S>) -> Q,
) -> JsonFrom<S, R, ObjectOf> {
    let _ = table;
    json_from(build)
}

impl<S, R: 'static> Expression for JsonFrom<S, R, ArrayOf> {
    type Rust = Json<Vec<R>>;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::JsonFrom(Box::new(self.select), true)
    }
}

impl<S, R: 'static> ExprIn<S, ()> for JsonFrom<S, R, ArrayOf> {
    type Null = NotNull;
}

impl<S, R: 'static> Expression for JsonFrom<S, R, ObjectOf> {
    type Rust = Json<R>;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::JsonFrom(Box::new(self.select), false)
    }
}

impl<S, R: 'static> ExprIn<S, ()> for JsonFrom<S, R, ObjectOf> {
    type Null = Nullable;
}
