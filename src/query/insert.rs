//! The INSERT builder: `insert_into::<T>().values(row)`, ON CONFLICT (DO NOTHING, DO UPDATE with
//! its own SET and WHERE), RETURNING. Only INSERT's clauses exist on its types; the untyped
//! [`InsertCore`] is rendered by `render.rs`.

use std::marker::PhantomData;

use super::{
    Insertable, Table,
    dml::{
        Assignable, ColumnOfTable, ColumnsOf, FitsRow, NoReturning, Only, Returning, ReturningAll, UpsertScope, misuse,
        returning_queries, run_methods,
    },
    exec::{Compiled, Query},
    expr::{AsExpr, Expression, SetValue, Subquery, WhereCondition, with_cast},
    item::Selection,
    render::{ConflictAction, ConflictTarget, InsertCore, Node, OnConflict, TableRef, Writer},
    scope::Nil,
};

/// From this many rows on, [`InsertInto::values_many`] sends one array per column through UNNEST
/// instead of a VALUES list (see `docs/decisions.md` for the measurement).
pub const UNNEST_FROM_ROWS: usize = 50;

/// `INSERT INTO T`: give it rows with [`InsertInto::values`] / [`InsertInto::values_many`].
#[must_use]
pub struct InsertInto<T>(PhantomData<T>, Vec<super::render::CteDef>);

/// Starts an INSERT.
///
/// ```
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let q = insert_into::<Users>()
///     .values(users::Insert::new("ann", "ann@example.com", "hash"))
///     .returning((users::id,));
/// assert_eq!(
///     q.to_sql().0,
///     r#"INSERT INTO "users" ("username", "email", "password_hash") VALUES ($1, $2, $3) RETURNING "users"."id""#
/// );
/// ```
pub fn insert_into<T: super::Writable>() -> InsertInto<T> {
    InsertInto(PhantomData, Vec::new())
}

impl<T> InsertInto<T> {
    pub(crate) fn with_ctes(ctes: Vec<super::render::CteDef>) -> Self {
        InsertInto(PhantomData, ctes)
    }
}

/// An INSERT into `T` with its rows; `R` says what it returns.
#[must_use = "a statement does nothing until it is executed"]
pub struct Insert<T, R = NoReturning> {
    core: InsertCore,
    _p: PhantomData<fn() -> (T, R)>,
}

impl<T: super::Writable> InsertInto<T> {
    /// One row.
    pub fn values(self, row: T::Insert) -> Insert<T> {
        self.values_many([row])
    }

    /// Several rows in one statement. A column given in some rows and not others gets `DEFAULT`
    /// in the others. No rows at all send nothing: `execute` returns 0, `fetch_all` no rows,
    /// `fetch_optional` `None` and `fetch_one` [`Error::NoRows`](crate::Error::NoRows).
    ///
    /// Past [`UNNEST_FROM_ROWS`] rows (and always past PostgreSQL's 65,535 parameters), when every
    /// row gives every column, the rows go as one array per column,
    /// `INSERT INTO t (a, b) SELECT * FROM UNNEST($1::text[], $2::int4[])`: one statement text
    /// whatever the count, and faster for many rows (`cargo bench --bench bulk_insert`).
    pub fn values_many(self, rows: impl IntoIterator<Item = T::Insert>) -> Insert<T> {
        self.values_many_as(rows, None)
    }

    /// [`values_many`](Self::values_many) with the form forced: `Some(true)` UNNEST (where it can
    /// express the rows), `Some(false)` VALUES. For benches and tests.
    #[doc(hidden)]
    pub fn values_many_as(self, rows: impl IntoIterator<Item = T::Insert>, unnest: Option<bool>) -> Insert<T> {
        let rows: Vec<Vec<super::InsertValue>> = rows.into_iter().map(Insertable::into_values).collect();
        // Columns in table order, the union over the rows.
        let mut columns: Vec<&'static str> =
            T::COLUMNS.iter().copied().filter(|c| rows.iter().any(|r| r.iter().any(|v| v.column == *c))).collect();
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
        // UNNEST cannot say DEFAULT for a missing value, and needs each value's type.
        let full = !rows.is_empty()
            && rows.iter().all(|r: &super::render::InsertRow| {
                r.iter().all(|v| v.as_ref().is_some_and(|(p, _)| p.sql_type().is_some()))
            });
        let past_threshold = rows.len() >= UNNEST_FROM_ROWS || rows.len() * columns.len() > 65_535;
        let unnest = full && unnest.unwrap_or(past_threshold);
        let mut insert = Insert::from_core(columns, rows, None);
        insert.core.with = self.1;
        insert.core.unnest = unnest;
        insert
    }

    /// `INSERT INTO T (cols) SELECT ..`: the rows a query returns. The query selects one value per
    /// column, in order, each of the column's Rust type (a NOT NULL value may go into a nullable
    /// column, not the other way round).
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Orgs, Users, orgs, users};
    /// let q = insert_into::<Orgs>().select(
    ///     (orgs::name, orgs::slug),
    ///     select_from::<Users>().columns((users::username, lower(users::username))),
    /// );
    /// assert_eq!(
    ///     q.to_sql().0,
    ///     r#"INSERT INTO "orgs" ("name", "slug") SELECT "users"."username", lower("users"."username") FROM "users""#
    /// );
    /// ```
    pub fn select<C: ColumnsOf<T, I>, I, Q: Query + Subquery>(self, columns: C, query: Q) -> Insert<T>
    where
        Q::Output: FitsRow<C::Values>,
    {
        let mut insert = Insert::from_core(columns.names(), Vec::new(), Some(Box::new(query.into_select())));
        insert.core.with = self.1;
        insert
    }
}

impl<T: Table> Insert<T> {
    fn from_core(
        columns: Vec<&'static str>,
        rows: Vec<super::render::InsertRow>,
        select: Option<Box<super::render::SelectCore>>,
    ) -> Self {
        Insert {
            core: InsertCore {
                table: TableRef::of::<T>(),
                columns,
                rows,
                exprs: Vec::new(),
                select,
                with: Vec::new(),
                unnest: false,
                on_conflict: None,
                returning: Vec::new(),
            },
            _p: PhantomData,
        }
    }
}

impl<T: Table, R> Insert<T, R> {
    /// The column's value in every row, from an expression: a function (`now()`), a cast, a
    /// scalar subquery, a value; never a column (an INSERT has no row to read yet). It replaces
    /// the value the rows give for that column, if any. For a generated or identity ALWAYS
    /// column it does not compile, nor for a possibly NULL expression into a NOT NULL column.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// use taulu_app::schema::{Orgs, Users, orgs, users};
    /// let q = insert_into::<Users>()
    ///     .values(users::Insert::new("ann", "ann@example.com", "h"))
    ///     .value(users::display_name, upper(val("ann".to_owned())))
    ///     .value(users::created_at, now());
    /// assert_eq!(
    ///     q.to_sql().0,
    ///     r#"INSERT INTO "users" ("username", "email", "password_hash", "display_name", "created_at") VALUES ($1, $2, $3, upper($4::text), now())"#
    /// );
    /// ```
    pub fn value<C: ColumnOfTable<T, I> + Assignable, I, V: AsExpr<C::Rust>, J>(mut self, column: C, value: V) -> Self
    where
        V::Expr: SetValue<Nil, J, C>,
    {
        let _ = column;
        let node = with_cast(value.into_expr().into_node(), C::CAST);
        let core = &mut self.core;
        if let Some(select) = &mut core.select {
            // INSERT .. SELECT: one more select item, for one more column.
            if let Some(i) = core.columns.iter().position(|c| *c == C::NAME) {
                core.columns.remove(i);
                select.items.remove(i);
            }
            core.columns.push(C::NAME);
            select.items.push(super::render::SelectItem { node, alias: None });
            return self;
        }
        // The rows' own value for the column goes (the expression replaces it), and so does an
        // earlier expression for it.
        let values = core.columns.len() - core.exprs.len();
        if let Some(i) = core.columns.iter().position(|c| *c == C::NAME) {
            core.columns.remove(i);
            if i < values {
                core.rows.iter_mut().for_each(|r| {
                    r.remove(i);
                });
            } else {
                core.exprs.remove(i - values);
            }
        }
        core.columns.push(C::NAME);
        core.exprs.push(node);
        // UNNEST sends values only; with an expression the rows go as VALUES.
        core.unnest = false;
        self
    }
}

impl<T: Table> Insert<T, NoReturning> {
    /// `ON CONFLICT (targets)`, then [`.do_nothing()`](OnConflictTarget::do_nothing) or
    /// [`.do_update(cols)`](OnConflictTarget::do_update): the targets (columns, or expressions of an
    /// expression index such as `(lower(users::email),)`) must match a unique constraint or index.
    pub fn on_conflict<C: Selection<Only<T>, I>, I>(self, target: C) -> OnConflictTarget<T> {
        let mut items = Vec::new();
        target.items(&mut items);
        let target = ConflictTarget::Exprs(items.into_iter().map(|i| i.node).collect());
        OnConflictTarget { insert: self, target, target_where: Vec::new() }
    }

    /// `ON CONFLICT ON CONSTRAINT "name"`: names a unique or exclusion constraint.
    pub fn on_conflict_on_constraint(self, name: &'static str) -> OnConflictTarget<T> {
        OnConflictTarget { insert: self, target: ConflictTarget::Constraint(name), target_where: Vec::new() }
    }

    /// `ON CONFLICT DO NOTHING` for any unique constraint or index (also expression indexes
    /// such as `lower(email)`).
    pub fn on_any_conflict_do_nothing(mut self) -> Self {
        self.core.on_conflict =
            Some(OnConflict { target: ConflictTarget::Any, target_where: Vec::new(), action: ConflictAction::Nothing });
        self
    }
}

/// An INSERT with an `ON CONFLICT` target, waiting for its action.
#[must_use]
pub struct OnConflictTarget<T> {
    insert: Insert<T>,
    target: ConflictTarget,
    target_where: Vec<Node>,
}

impl<T: Table> OnConflictTarget<T> {
    /// `ON CONFLICT (target) WHERE condition`: the predicate of a partial unique index (`CREATE
    /// UNIQUE INDEX .. WHERE deleted_at IS NULL`), which PostgreSQL needs to take that index as the
    /// arbiter; a condition over the table, without aggregates.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema::{Sessions, sessions};
    /// # let insert = || insert_into::<Sessions>().values(sessions::Insert::new(uuid::Uuid::nil(), vec![1u8], chrono::Utc::now()));
    /// let q = insert().on_conflict((sessions::user_id,)).where_(sessions::revoked_at.is_null()).do_nothing();
    /// assert!(q.to_sql().0.ends_with(r#"ON CONFLICT ("user_id") WHERE "sessions"."revoked_at" IS NULL DO NOTHING"#));
    /// ```
    pub fn where_<E: WhereCondition<Only<T>, I>, I>(mut self, condition: E) -> Self {
        self.target_where.push(condition.into_node());
        self
    }

    /// `ON CONFLICT (target) DO NOTHING`.
    pub fn do_nothing(mut self) -> Insert<T> {
        let (target, target_where) = (self.target, self.target_where);
        self.insert.core.on_conflict = Some(OnConflict { target, target_where, action: ConflictAction::Nothing });
        self.insert
    }

    /// `ON CONFLICT (target) DO UPDATE SET c = EXCLUDED.c, ..` for the given columns: an upsert
    /// that takes the new row's values. Add [`Upsert::set`] for other assignments and
    /// [`Upsert::where_`] to update only some conflicting rows.
    pub fn do_update<U: ColumnsOf<T, J>, J>(self, columns: U) -> Upsert<T> {
        let sets = columns.names().into_iter().map(|c| (c, Node::Excluded(c))).collect();
        self.upsert(sets)
    }

    /// `ON CONFLICT (target) DO UPDATE SET column = value`: an upsert that sets a value or an
    /// expression over the existing row and [`excluded`](super::excluded)`(column)`, the proposed
    /// one (add more with [`Upsert::set`]).
    pub fn do_update_set<C: ColumnOfTable<T, I> + Assignable, I, V: AsExpr<C::Rust>, J>(
        self,
        column: C,
        value: V,
    ) -> Upsert<T>
    where
        V::Expr: SetValue<UpsertScope<T>, J, C>,
    {
        self.upsert(Vec::new()).set(column, value)
    }

    fn upsert(mut self, sets: Vec<(&'static str, Node)>) -> Upsert<T> {
        let action = ConflictAction::Update { sets, wheres: Vec::new() };
        let (target, target_where) = (self.target, self.target_where);
        self.insert.core.on_conflict = Some(OnConflict { target, target_where, action });
        Upsert { insert: self.insert }
    }
}

/// An INSERT .. ON CONFLICT .. DO UPDATE being built: more assignments, a WHERE on the existing
/// row, then run it (or add RETURNING) like any INSERT.
#[must_use = "a statement does nothing until it is executed"]
pub struct Upsert<T> {
    insert: Insert<T>,
}

impl<T: Table> Upsert<T> {
    fn action(&mut self) -> (&mut Vec<(&'static str, Node)>, &mut Vec<Node>) {
        match &mut self.insert.core.on_conflict {
            Some(OnConflict { action: ConflictAction::Update { sets, wheres }, .. }) => (sets, wheres),
            _ => unreachable!("an Upsert is built with a DO UPDATE action"),
        }
    }

    /// Also `SET column = value` when the row conflicts: a value, or an expression over the
    /// existing row and [`excluded`](super::excluded)`(column)`.
    pub fn set<C: ColumnOfTable<T, I> + Assignable, I, V: AsExpr<C::Rust>, J>(mut self, column: C, value: V) -> Self
    where
        V::Expr: SetValue<UpsertScope<T>, J, C>,
    {
        let _ = column;
        self.action().0.push((C::NAME, with_cast(value.into_expr().into_node(), C::CAST)));
        self
    }

    /// `DO UPDATE .. WHERE condition` over the existing row and [`excluded`](super::excluded)
    /// values: update the existing row only when it holds (otherwise the row is left as it is, and
    /// RETURNING does not return it).
    pub fn where_<E: WhereCondition<UpsertScope<T>, I>, I>(mut self, condition: E) -> Self {
        self.action().1.push(condition.into_node());
        self
    }

    /// `RETURNING cols` of the inserted or updated rows.
    pub fn returning<S: Selection<Only<T>, I>, I>(self, columns: S) -> Insert<T, Returning<S, I>> {
        self.insert.returning(columns)
    }

    /// `RETURNING` every column of the inserted or updated rows.
    pub fn returning_all(self) -> Insert<T, ReturningAll> {
        self.insert.returning_all()
    }

    /// Runs the statement and returns the number of rows inserted or updated.
    pub async fn execute<E: super::Executor>(&self, db: &E) -> Result<u64, crate::Error> {
        self.insert.execute(db).await
    }

    /// The SQL text and its parameters.
    pub fn to_sql(&self) -> (String, Vec<super::Param>) {
        self.insert.to_sql()
    }
}

impl<T: Table, R> Insert<T, R> {
    pub(crate) fn into_core(self) -> InsertCore {
        self.core
    }

    fn compiled(&self) -> Compiled {
        let mut w = Writer::default();
        w.push_insert(&self.core);
        Compiled { sql: w.sql, params: w.params, read_only: false }
    }

    fn is_noop(&self) -> bool {
        self.core.rows.is_empty() && self.core.select.is_none()
    }

    fn retype<R2>(self) -> Insert<T, R2> {
        Insert { core: self.core, _p: PhantomData }
    }

    /// `RETURNING cols`: the statement then yields rows of their Rust types.
    pub fn returning<S: Selection<Only<T>, I>, I>(mut self, columns: S) -> Insert<T, Returning<S, I>> {
        self.core.returning = super::dml::returning_items(columns);
        self.retype()
    }

    /// `RETURNING` every column, as the table's row struct.
    pub fn returning_all(mut self) -> Insert<T, ReturningAll> {
        self.core.returning = super::dml::all_columns::<T>();
        self.retype()
    }

    run_methods!();

    #[doc(hidden)]
    pub fn where_<X>(self, _condition: X) -> Self
    where
        Self: misuse::InsertHasNoWhere,
    {
        self
    }

    #[doc(hidden)]
    pub fn set<C, V>(self, _column: C, _value: V) -> Self
    where
        Self: misuse::InsertHasNoSet,
    {
        self
    }
}

returning_queries!(Insert<T>);
