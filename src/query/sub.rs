//! Subqueries and the raw SQL escape hatch. Subqueries are [`Select`]s rendered inside another
//! statement; correlated EXISTS gets the outer scope so the inner query may use outer columns.
//! Raw fragments are text from the program with `{}` placeholders, whose values are bound
//! parameters like every other value.

use std::marker::PhantomData;

use postgres_types::ToSql;

use super::{
    Column, Table,
    expr::{BoolExt, ColumnExt, Condition},
    render::{Node, RawPart, SelectCore, SelectItem},
    scope::{Comparable, InScope},
    select::{NoColumns, Select, SelectItemOf, Selected},
    value::Param,
};

/// `column [NOT] IN (SELECT one_column ..)`.
#[must_use]
pub struct InSelect<C> {
    select: SelectCore,
    negated: bool,
    _c: PhantomData<C>,
}

impl<S, I, C: InScope<S, I>> Condition<S, I> for InSelect<C> {
    type Kind = super::expr::Plain;
    fn into_node(self) -> Node {
        let lhs = Node::Column { table: <C::Table as Table>::NAME, column: C::NAME };
        Node::InSelect { lhs: Box::new(lhs), select: Box::new(self.select), negated: self.negated }
    }
}
impl<C> BoolExt for InSelect<C> {}

/// IN / NOT IN with a subquery selecting one column of the same Rust type.
pub trait InSelectExt: ColumnExt {
    /// `column IN (SELECT ..)`: the subquery selects one column of the same Rust type.
    fn in_select<S2, D, J>(self, select: Select<S2, Selected<(D,), (J,)>>) -> InSelect<Self>
    where
        D: Column + Comparable<Self>,
    {
        InSelect { select: select.into_core(), negated: false, _c: PhantomData }
    }
    /// `column NOT IN (SELECT ..)`.
    fn not_in_select<S2, D, J>(self, select: Select<S2, Selected<(D,), (J,)>>) -> InSelect<Self>
    where
        D: Column + Comparable<Self>,
    {
        InSelect { select: select.into_core(), negated: true, _c: PhantomData }
    }
}

impl<C: Column> InSelectExt for C {}

/// `(SELECT x ..)` as a select item: an uncorrelated scalar subquery, read as `Option<T>` (NULL
/// when it finds no row).
pub struct Scalar<T> {
    select: SelectCore,
    _t: PhantomData<T>,
}

/// A scalar subquery for a select list: `select_from::<Orgs>().columns((count_all(),))`.
pub fn scalar<S2, X, J>(select: Select<S2, Selected<(X,), (J,)>>) -> Scalar<<X as SelectItemOf<S2, J>>::Out>
where
    X: SelectItemOf<S2, J>,
{
    Scalar { select: select.into_core(), _t: PhantomData }
}

impl<S, T> SelectItemOf<S, ()> for Scalar<T> {
    type Out = Option<T>;
    fn item(self) -> SelectItem {
        SelectItem { node: Node::Subquery(Box::new(self.select)), alias: None }
    }
}

/// The inner query of a correlated EXISTS: table `T` in front of the outer scope `S`.
type Inner<T, S, C> = Select<super::Cons<super::Entry<T, super::NotNull>, S>, C>;

impl<S, C> Select<S, C> {
    /// `WHERE EXISTS (SELECT 1 FROM T WHERE ..)`: `build` gets a query over `T` whose scope also
    /// has this query's tables, so it can correlate (`members::user_id.eq_col(users::id)`).
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
        let from = super::render::TableRef { schema: T::SCHEMA, name: T::NAME };
        let inner = build(Select::from_core(SelectCore::new(from)));
        self.push_where(Node::Exists { select: Box::new(inner.into_core()), negated })
    }
}

/// A raw SQL fragment with `{}` placeholders for bound values (`{{` and `}}` are literal braces).
/// Usable as a condition over any query; the text must come from the program, never from input.
/// Every `{}` needs exactly one [`Sql::bind`]; a mismatch renders `$0`, which PostgreSQL rejects
/// ("there is no parameter $0").
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::sql;
/// use taulu::schema::{Users, users};
/// let q = select_from::<Users>()
///     .columns((users::id,))
///     .where_(sql("lower(\"users\".\"email\") = lower({})").bind("Ann@Example.com"));
/// assert_eq!(q.to_sql().0, r#"SELECT "users"."id" FROM "users" WHERE lower("users"."email") = lower($1)"#);
/// ```
#[must_use]
pub struct Sql {
    text: &'static str,
    values: Vec<Param>,
}

/// Starts a raw SQL fragment; see [`Sql`].
pub fn sql(text: &'static str) -> Sql {
    Sql { text, values: Vec::new() }
}

impl Sql {
    /// Binds the value for the next `{}`.
    pub fn bind<V: ToSql + Send + Sync + 'static>(mut self, value: V) -> Self {
        self.values.push(Param::new(value));
        self
    }

    fn node(self) -> Node {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut values = self.values.into_iter();
        let mut chars = self.text.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek()) {
                ('{', Some('{')) | ('}', Some('}')) => {
                    chars.next();
                    text.push(c);
                }
                ('{', Some('}')) => {
                    chars.next();
                    parts.push(RawPart::Text(std::mem::take(&mut text)));
                    // A placeholder without a value renders `$0`, which PostgreSQL rejects with
                    // "there is no parameter $0": a mismatch fails loudly, never silently.
                    match values.next() {
                        Some(v) => parts.push(RawPart::Param(v)),
                        None => parts.push(RawPart::Text("$0".into())),
                    }
                }
                _ => text.push(c),
            }
        }
        if values.next().is_some() {
            text.push_str(" $0"); // more values than placeholders: fail the same way
        }
        parts.push(RawPart::Text(text));
        Node::Raw(parts)
    }
}

impl<S> Condition<S, ()> for Sql {
    type Kind = super::expr::Plain;
    fn into_node(self) -> Node {
        self.node()
    }
}
impl BoolExt for Sql {}
