//! The UPDATE builder: `update::<T>().set(col, value).where_(..)`, RETURNING. An UPDATE without a
//! SET clause cannot run (typestate `NoSet` / `HasSet`); only UPDATE's clauses exist on its type.
//! The untyped [`UpdateCore`] is rendered by `render.rs`.

use std::marker::PhantomData;

use super::{
    NotNull, Table,
    dml::{
        Assignable, ColumnOfTable, NoReturning, NullableColumn, Only, Returning, ReturningAll, misuse,
        returning_queries,
    },
    exec::Compiled,
    expr::{AsExpr, Expression, SetValue, WhereCondition, with_cast},
    item::Selection,
    render::{Node, TableRef, UpdateCore, Writer},
    scope::{Cons, Entry},
};

/// An UPDATE before its first `set`: it cannot run yet.
pub struct NoSet;
/// An UPDATE with at least one `set`.
pub struct HasSet;

/// The builder's type parameters, as a variance-neutral marker.
type Marker<T, St, R, Sc> = fn() -> (T, St, R, Sc);

/// An UPDATE of `T`; `St` is [`NoSet`] until the first `set`, `R` says what it returns, `Sc` is
/// the tables it may read: `T`, plus those of [`from`](Update::from).
#[must_use = "a statement does nothing until it is executed"]
pub struct Update<T, St = HasSet, R = NoReturning, Sc = Only<T>> {
    core: UpdateCore,
    _p: PhantomData<Marker<T, St, R, Sc>>,
}

/// Starts an UPDATE: `update::<Users>().set(users::display_name, "Ann").where_(..)`.
///
/// ```
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let q = update::<Users>().set(users::display_name, "Ann").where_(users::username.eq("ann"));
/// assert_eq!(q.to_sql().0, r#"UPDATE "users" SET "display_name" = $1 WHERE "users"."username" = $2"#);
/// ```
pub fn update<T: super::Writable>() -> Update<T, NoSet> {
    Update {
        core: UpdateCore {
            with: Vec::new(),
            table: TableRef::of::<T>(),
            sets: Vec::new(),
            from: Vec::new(),
            wheres: Vec::new(),
            returning: Vec::new(),
        },
        _p: PhantomData,
    }
}

impl<T: Table, St, R, Sc> Update<T, St, R, Sc> {
    fn retype<St2, R2, Sc2>(self) -> Update<T, St2, R2, Sc2> {
        Update { core: self.core, _p: PhantomData }
    }

    /// `UPDATE t .. FROM other`: `other`'s columns may then be used in SET, WHERE (where the join
    /// condition goes) and RETURNING.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Members, Orgs, members, orgs};
    /// let q = update::<Members>()
    ///     .from(Orgs)
    ///     .set(members::member_role, schema::Role::Admin)
    ///     .where_(orgs::id.eq(members::org_id).and(orgs::slug.eq("acme")))
    ///     .returning((members::user_id, orgs::name));
    /// assert_eq!(
    ///     q.to_sql().0,
    ///     r#"UPDATE "members" SET "member_role" = $1 FROM "orgs" WHERE ("orgs"."id" = "members"."org_id" AND "orgs"."slug" = $2) RETURNING "members"."user_id", "orgs"."name""#
    /// );
    /// ```
    pub fn from<U: Table, J>(mut self, table: U) -> Update<T, St, R, Cons<Entry<U, NotNull>, Sc>>
    where
        Cons<Entry<U, NotNull>, Sc>: super::Names<<U as Table>::Name, J>,
    {
        let _ = table;
        self.core.from.push(TableRef::of::<U>().into());
        self.retype()
    }

    /// Adds `source` to FROM, the scope becoming `Sc2` (the caller's typed method says which).
    pub(crate) fn add_from<Sc2>(mut self, source: super::render::Source) -> Update<T, St, R, Sc2> {
        self.core.from.push(source);
        self.retype()
    }

    pub(crate) fn with_ctes(mut self, ctes: Vec<super::render::CteDef>) -> Self {
        self.core.with = ctes;
        self
    }

    pub(crate) fn into_core(self) -> UpdateCore {
        self.core
    }

    fn compiled(&self) -> Compiled {
        let mut w = Writer::default();
        w.push_update(&self.core);
        Compiled { sql: w.sql, params: w.params, read_only: false }
    }

    fn is_noop(&self) -> bool {
        false
    }

    /// `SET column = value`: a value of the column's Rust type (bound as a parameter) or any
    /// expression of it over the table (`pets::age.add(1)`, `now()`, another column, a scalar
    /// subquery); never an aggregate, never possibly NULL for a NOT NULL column.
    pub fn set<C: ColumnOfTable<T, I> + Assignable, I, V: AsExpr<C::Rust>, J>(
        mut self,
        column: C,
        value: V,
    ) -> Update<T, HasSet, R, Sc>
    where
        V::Expr: SetValue<Sc, J, C>,
    {
        let _ = column;
        self.core.sets.push((C::NAME, with_cast(value.into_expr().into_node(), C::CAST)));
        self.retype()
    }

    /// `SET column = NULL`, for nullable columns.
    pub fn set_null<C: ColumnOfTable<T, I> + NullableColumn + Assignable, I>(
        mut self,
        column: C,
    ) -> Update<T, HasSet, R, Sc> {
        let _ = column;
        self.core.sets.push((C::NAME, Node::Null));
        self.retype()
    }

    /// `WHERE condition`; successive calls combine with AND. Without one, every row is updated.
    pub fn where_<E: WhereCondition<Sc, I>, I>(mut self, condition: E) -> Self {
        self.core.wheres.push(condition.into_node());
        self
    }

    /// `RETURNING cols`: the statement then yields rows of their Rust types.
    pub fn returning<S: Selection<Sc, I>, I>(mut self, columns: S) -> Update<T, St, Returning<S, I>, Sc> {
        self.core.returning = super::dml::returning_items(columns);
        self.retype()
    }

    /// `RETURNING` every column, as the table's row struct.
    pub fn returning_all(mut self) -> Update<T, St, ReturningAll, Sc> {
        self.core.returning = super::dml::all_columns::<T>();
        self.retype()
    }

    #[doc(hidden)]
    pub fn on_conflict<X>(self, _target: X) -> Self
    where
        Self: misuse::OnlyInsertsConflict,
    {
        self
    }
}

impl<T: Table, R, Sc> Update<T, HasSet, R, Sc> {
    super::dml::run_methods!();
}

impl<T: Table, R, Sc> Update<T, NoSet, R, Sc> {
    #[doc(hidden)]
    pub fn execute<E>(&self, _db: &E) -> std::future::Ready<Result<u64, crate::Error>>
    where
        Self: misuse::UpdateNeedsSet,
    {
        unreachable!("an UPDATE without SET does not compile")
    }

    #[doc(hidden)]
    pub fn to_sql(&self) -> (String, Vec<super::Param>)
    where
        Self: misuse::UpdateNeedsSet,
    {
        unreachable!("an UPDATE without SET does not compile")
    }
}

returning_queries!(Update<T, HasSet> in Sc);
