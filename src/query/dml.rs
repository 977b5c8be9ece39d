//! INSERT, UPDATE and DELETE builders over one table, with RETURNING. Like SELECT, they assemble
//! an untyped core that [`Writer`] renders; the types only check that every column belongs to the
//! table and every value has the column's Rust type.

use std::marker::PhantomData;

use super::{
    Column, FromRow, Insertable, Nullable, Table,
    exec::{Compiled, Executor},
    expr::Condition,
    render::{Node, SelectItem, TableRef, Writer},
    scope::{Cons, Entry, InScope, Nil},
    select::{Query, Selection},
    value::{Bind, Param},
};
use crate::{Error, query::NotNull};

/// The scope of a single-table statement.
pub type Only<T> = Cons<Entry<T, NotNull>, Nil>;

/// No RETURNING clause: the statement is executed for its row count.
pub struct NoReturning;
/// `RETURNING cols` (indices `I`).
pub struct Returning<R, I>(PhantomData<(R, I)>);
/// `RETURNING` every column, read as the table's row struct.
pub struct ReturningAll;

fn table_ref<T: Table>() -> TableRef {
    TableRef { schema: T::SCHEMA, name: T::NAME }
}

#[derive(Debug, Clone)]
enum ConflictAction {
    Nothing,
    Update(Vec<&'static str>),
}

#[derive(Debug, Clone)]
struct OnConflict {
    target: Vec<&'static str>,
    action: ConflictAction,
}

/// One row of an INSERT: per column, a value (and its cast) or `None` for DEFAULT.
type InsertRow = Vec<Option<(Param, Option<&'static str>)>>;

#[derive(Debug, Clone)]
enum Kind {
    Insert { columns: Vec<&'static str>, rows: Vec<InsertRow>, on_conflict: Option<OnConflict> },
    Update { sets: Vec<(&'static str, Node)> },
    Delete,
}

/// An INSERT, UPDATE or DELETE, untyped.
#[derive(Debug, Clone)]
struct DmlCore {
    table: TableRef,
    kind: Kind,
    wheres: Vec<Node>,
    returning: Vec<SelectItem>,
}

impl DmlCore {
    fn compile(&self) -> Compiled {
        let mut w = Writer::default();
        match &self.kind {
            Kind::Insert { columns, rows, on_conflict } => {
                w.push_sql("INSERT INTO ");
                w.push_table(self.table);
                if columns.is_empty() {
                    w.push_sql(" DEFAULT VALUES");
                } else {
                    w.push_sql(" (");
                    for (i, c) in columns.iter().enumerate() {
                        if i > 0 {
                            w.push_sql(", ");
                        }
                        w.push_ident(c);
                    }
                    w.push_sql(") VALUES ");
                    for (r, row) in rows.iter().enumerate() {
                        w.push_sql(if r > 0 { ", (" } else { "(" });
                        for (i, v) in row.iter().enumerate() {
                            if i > 0 {
                                w.push_sql(", ");
                            }
                            match v {
                                Some((p, cast)) => w.push_bind(p, *cast),
                                None => w.push_sql("DEFAULT"),
                            }
                        }
                        w.push_sql(")");
                    }
                }
                if let Some(oc) = on_conflict {
                    w.push_sql(" ON CONFLICT");
                    if !oc.target.is_empty() {
                        w.push_sql(" (");
                        for (i, c) in oc.target.iter().enumerate() {
                            if i > 0 {
                                w.push_sql(", ");
                            }
                            w.push_ident(c);
                        }
                        w.push_sql(")");
                    }
                    match &oc.action {
                        ConflictAction::Nothing => w.push_sql(" DO NOTHING"),
                        ConflictAction::Update(cols) => {
                            w.push_sql(" DO UPDATE SET ");
                            for (i, c) in cols.iter().enumerate() {
                                if i > 0 {
                                    w.push_sql(", ");
                                }
                                w.push_ident(c);
                                w.push_sql(" = EXCLUDED.");
                                w.push_ident(c);
                            }
                        }
                    }
                }
            }
            Kind::Update { sets } => {
                w.push_sql("UPDATE ");
                w.push_table(self.table);
                w.push_sql(" SET ");
                for (i, (c, v)) in sets.iter().enumerate() {
                    if i > 0 {
                        w.push_sql(", ");
                    }
                    w.push_ident(c);
                    w.push_sql(" = ");
                    w.push_node(v);
                }
            }
            Kind::Delete => {
                w.push_sql("DELETE FROM ");
                w.push_table(self.table);
            }
        }
        if !self.wheres.is_empty() {
            w.push_sql(" WHERE ");
            for (i, n) in self.wheres.iter().enumerate() {
                if i > 0 {
                    w.push_sql(" AND ");
                }
                w.push_node(n);
            }
        }
        if !self.returning.is_empty() {
            w.push_sql(" RETURNING ");
            for (i, item) in self.returning.iter().enumerate() {
                if i > 0 {
                    w.push_sql(", ");
                }
                w.push_node(&item.node);
            }
        }
        Compiled { sql: w.sql, params: w.params, read_only: false }
    }

    fn returning_all<T: Table>(&mut self) {
        self.returning = T::COLUMNS
            .iter()
            .map(|c| SelectItem { node: Node::Column { table: T::NAME, column: c }, alias: None })
            .collect();
    }
}

/// An INSERT, UPDATE or DELETE on table `T`; `R` says what it returns.
#[must_use = "a statement does nothing until it is executed"]
pub struct Dml<T, R> {
    core: DmlCore,
    _p: PhantomData<fn() -> (T, R)>,
}

/// `INSERT INTO T`: give it rows with [`InsertInto::values`] / [`InsertInto::values_many`].
#[must_use]
pub struct InsertInto<T>(PhantomData<T>);

/// Starts an INSERT.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::schema::{Users, users};
/// let q = insert_into::<Users>()
///     .values(users::Insert::new("ann".into(), "ann@example.com".into(), "hash".into()))
///     .returning((users::id,));
/// assert_eq!(
///     q.to_sql().0,
///     r#"INSERT INTO "users" ("username", "email", "password_hash") VALUES ($1, $2, $3) RETURNING "users"."id""#
/// );
/// ```
pub fn insert_into<T: Table>() -> InsertInto<T> {
    InsertInto(PhantomData)
}

impl<T: Table> InsertInto<T> {
    /// One row.
    pub fn values(self, row: T::Insert) -> Dml<T, NoReturning> {
        self.values_many([row])
    }

    /// Several rows in one statement. A column given in some rows and not others gets `DEFAULT`
    /// in the others. No rows at all execute nothing and return nothing.
    pub fn values_many(self, rows: impl IntoIterator<Item = T::Insert>) -> Dml<T, NoReturning> {
        let rows: Vec<Vec<super::InsertValue>> = rows.into_iter().map(Insertable::into_values).collect();
        // Columns in table order, the union over the rows.
        let columns: Vec<&'static str> =
            T::COLUMNS.iter().copied().filter(|c| rows.iter().any(|r| r.iter().any(|v| v.column == *c))).collect();
        let mut columns = columns;
        if columns.is_empty() && rows.len() > 1 {
            // Several rows of nothing but defaults: `VALUES (DEFAULT), (DEFAULT)` on the first column.
            columns.push(T::COLUMNS[0]);
        }
        let rows = rows
            .into_iter()
            .map(|r| {
                columns.iter().map(|c| r.iter().find(|v| v.column == *c).map(|v| (v.value.clone(), v.cast))).collect()
            })
            .collect::<Vec<_>>();
        Dml {
            core: DmlCore {
                table: table_ref::<T>(),
                kind: Kind::Insert { columns, rows, on_conflict: None },
                wheres: vec![],
                returning: vec![],
            },
            _p: PhantomData,
        }
    }
}

/// A tuple of columns of table `T`, for ON CONFLICT targets and DO UPDATE lists.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tuple of columns of this statement's table",
    label = "expected columns of the table being inserted into, as a tuple: `(users::email,)`"
)]
pub trait ColumnsOf<T, I> {
    #[doc(hidden)]
    fn names(self) -> Vec<&'static str>;
}

impl<T: Table, S: Selection<Only<T>, I>, I> ColumnsOf<T, I> for S {
    fn names(self) -> Vec<&'static str> {
        let mut items = Vec::new();
        self.items(&mut items);
        items
            .into_iter()
            .filter_map(|i| match i.node {
                Node::Column { column, .. } => Some(column),
                _ => None,
            })
            .collect()
    }
}

impl<T: Table> Dml<T, NoReturning> {
    /// `ON CONFLICT (cols)`, then [`.do_nothing()`](OnConflictTarget::do_nothing) or
    /// [`.do_update(cols)`](OnConflictTarget::do_update): the target columns must form a unique
    /// constraint or index.
    pub fn on_conflict<C: ColumnsOf<T, I>, I>(self, target: C) -> OnConflictTarget<T> {
        OnConflictTarget { insert: self, target: target.names() }
    }

    /// `ON CONFLICT DO NOTHING` for any unique constraint (also expression indexes such as
    /// `lower(email)`, which a column list cannot name).
    pub fn on_any_conflict_do_nothing(mut self) -> Self {
        self.set_conflict(vec![], ConflictAction::Nothing);
        self
    }

    fn set_conflict(&mut self, target: Vec<&'static str>, action: ConflictAction) {
        if let Kind::Insert { on_conflict, .. } = &mut self.core.kind {
            *on_conflict = Some(OnConflict { target, action });
        }
    }
}

/// An INSERT with an `ON CONFLICT (cols)` target, waiting for its action.
#[must_use]
pub struct OnConflictTarget<T> {
    insert: Dml<T, NoReturning>,
    target: Vec<&'static str>,
}

impl<T: Table> OnConflictTarget<T> {
    /// `ON CONFLICT (target) DO NOTHING`.
    pub fn do_nothing(mut self) -> Dml<T, NoReturning> {
        self.insert.set_conflict(self.target, ConflictAction::Nothing);
        self.insert
    }

    /// `ON CONFLICT (target) DO UPDATE SET c = EXCLUDED.c, ..` for the given columns: an upsert.
    pub fn do_update<U: ColumnsOf<T, J>, J>(mut self, columns: U) -> Dml<T, NoReturning> {
        self.insert.set_conflict(self.target, ConflictAction::Update(columns.names()));
        self.insert
    }
}

/// Starts an UPDATE: `update::<Users>().set(users::display_name, "Ann").where_(..)`.
pub fn update<T: Table>() -> Dml<T, NoReturning> {
    Dml {
        core: DmlCore {
            table: table_ref::<T>(),
            kind: Kind::Update { sets: vec![] },
            wheres: vec![],
            returning: vec![],
        },
        _p: PhantomData,
    }
}

/// Starts a DELETE: `delete_from::<Sessions>().where_(..)`.
pub fn delete_from<T: Table>() -> Dml<T, NoReturning> {
    Dml {
        core: DmlCore { table: table_ref::<T>(), kind: Kind::Delete, wheres: vec![], returning: vec![] },
        _p: PhantomData,
    }
}

/// A column that may be set to NULL.
#[diagnostic::on_unimplemented(
    message = "column `{Self}` is NOT NULL: it cannot be set to NULL",
    label = "this column does not admit NULL"
)]
pub trait NullableColumn: Column {}

#[diagnostic::do_not_recommend]
impl<C: Column<Null = Nullable>> NullableColumn for C {}

impl<T: Table, R> Dml<T, R> {
    fn retype<R2>(self) -> Dml<T, R2> {
        Dml { core: self.core, _p: PhantomData }
    }

    fn is_noop(&self) -> bool {
        matches!(&self.core.kind, Kind::Insert { rows, .. } if rows.is_empty())
    }

    /// The SQL text and its parameters.
    pub fn to_sql(&self) -> (String, Vec<Param>) {
        let c = self.core.compile();
        (c.sql, c.params)
    }

    /// `SET column = $n` (UPDATE); the value must have the column's Rust type.
    pub fn set<C: InScope<Only<T>, I>, I, V: Bind<C::Rust>>(mut self, column: C, value: V) -> Self {
        let _ = column;
        if let Kind::Update { sets } = &mut self.core.kind {
            sets.push((C::NAME, Node::Param(value.bind(), C::CAST)));
        }
        self
    }

    /// `SET column = NULL` (UPDATE), for nullable columns.
    pub fn set_null<C: InScope<Only<T>, I> + NullableColumn, I>(mut self, column: C) -> Self {
        let _ = column;
        if let Kind::Update { sets } = &mut self.core.kind {
            sets.push((C::NAME, Node::Null));
        }
        self
    }

    /// `WHERE condition` (UPDATE, DELETE); successive calls combine with AND.
    pub fn where_<E: Condition<Only<T>, I>, I>(mut self, condition: E) -> Self {
        self.core.wheres.push(condition.into_node());
        self
    }

    /// `RETURNING cols`: the statement then yields rows of their Rust types.
    pub fn returning<S: Selection<Only<T>, I>, I>(mut self, columns: S) -> Dml<T, Returning<S, I>> {
        self.core.returning.clear();
        columns.items(&mut self.core.returning);
        self.retype()
    }

    /// `RETURNING` every column, as the table's row struct.
    pub fn returning_all(mut self) -> Dml<T, ReturningAll> {
        self.core.returning_all::<T>();
        self.retype()
    }

    /// Runs the statement and returns the number of rows it inserted, updated or deleted.
    pub async fn execute<E: Executor>(&self, db: &E) -> Result<u64, Error> {
        if self.is_noop() {
            return Ok(0);
        }
        db.execute(&self.core.compile()).await
    }

    /// Runs the statement and returns every row of its RETURNING clause.
    pub async fn fetch_all<E: Executor>(&self, db: &E) -> Result<Vec<<Self as Query>::Output>, Error>
    where
        Self: Query,
    {
        if self.is_noop() {
            return Ok(vec![]);
        }
        super::exec::fetch_rows(db, &self.core.compile()).await
    }

    /// Runs the statement and returns the first RETURNING row, or [`Error::NoRows`].
    pub async fn fetch_one<E: Executor>(&self, db: &E) -> Result<<Self as Query>::Output, Error>
    where
        Self: Query,
    {
        super::exec::decode_first(db.query_first(&self.core.compile()).await?)?.ok_or(Error::NoRows)
    }

    /// Runs the statement and returns the first RETURNING row, if any.
    pub async fn fetch_optional<E: Executor>(&self, db: &E) -> Result<Option<<Self as Query>::Output>, Error>
    where
        Self: Query,
    {
        super::exec::decode_first(db.query_first(&self.core.compile()).await?)
    }
}

impl<T: Table, S: Selection<Only<T>, I>, I> Query for Dml<T, Returning<S, I>>
where
    S::Row: FromRow,
{
    type Output = S::Row;
    fn compile(&self) -> Compiled {
        self.core.compile()
    }
}

impl<T: Table> Query for Dml<T, ReturningAll> {
    type Output = T::Row;
    fn compile(&self) -> Compiled {
        self.core.compile()
    }
}
