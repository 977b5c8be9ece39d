//! The DELETE builder: `delete_from::<T>().where_(..)`, RETURNING. Only DELETE's clauses exist on
//! its type; the untyped [`DeleteCore`] is rendered by `render.rs`.

use std::marker::PhantomData;

use super::{
    NotNull, Table,
    dml::{NoReturning, Only, Returning, ReturningAll, misuse, returning_queries, run_methods},
    exec::Compiled,
    expr::WhereCondition,
    item::Selection,
    render::{DeleteCore, TableRef, Writer},
    scope::{Cons, Entry},
};

/// A DELETE from `T`; `R` says what it returns.
#[must_use = "a statement does nothing until it is executed"]
pub struct Delete<T, R = NoReturning, Sc = Only<T>> {
    core: DeleteCore,
    _p: PhantomData<fn() -> (T, R, Sc)>,
}

/// Starts a DELETE: `delete_from::<Sessions>().where_(..)`. Without a `where_`, every row goes.
///
/// ```
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Sessions, sessions};
/// let q = delete_from::<Sessions>().where_(sessions::revoked_at.is_not_null());
/// assert_eq!(q.to_sql().0, r#"DELETE FROM "sessions" WHERE "sessions"."revoked_at" IS NOT NULL"#);
/// ```
pub fn delete_from<T: super::Writable>() -> Delete<T> {
    Delete {
        core: DeleteCore {
            with: Vec::new(),
            table: TableRef::of::<T>(),
            using: Vec::new(),
            wheres: Vec::new(),
            returning: Vec::new(),
        },
        _p: PhantomData,
    }
}

impl<T: Table, R, Sc> Delete<T, R, Sc> {
    fn retype<R2, Sc2>(self) -> Delete<T, R2, Sc2> {
        Delete { core: self.core, _p: PhantomData }
    }

    /// `DELETE FROM t USING other`: `other`'s columns may then be used in WHERE (where the join
    /// condition goes) and RETURNING.
    ///
    /// ```
    /// use taulu::prelude::*;
    /// # use taulu_app::schema;
    /// use schema::{Members, Orgs, members, orgs};
    /// let q = delete_from::<Members>().using(Orgs).where_(orgs::id.eq(members::org_id).and(orgs::slug.eq("old")));
    /// assert_eq!(
    ///     q.to_sql().0,
    ///     r#"DELETE FROM "members" USING "orgs" WHERE ("orgs"."id" = "members"."org_id" AND "orgs"."slug" = $1)"#
    /// );
    /// ```
    pub fn using<U: Table, J>(mut self, table: U) -> Delete<T, R, Cons<Entry<U, NotNull>, Sc>>
    where
        Cons<Entry<U, NotNull>, Sc>: super::Names<<U as Table>::Name, J>,
    {
        let _ = table;
        self.core.using.push(TableRef::of::<U>().into());
        self.retype()
    }

    /// Adds `source` to USING, the scope becoming `Sc2` (the caller's typed method says which).
    pub(crate) fn add_using<Sc2>(mut self, source: super::render::Source) -> Delete<T, R, Sc2> {
        self.core.using.push(source);
        self.retype()
    }

    pub(crate) fn with_ctes(mut self, ctes: Vec<super::render::CteDef>) -> Self {
        self.core.with = ctes;
        self
    }

    pub(crate) fn into_core(self) -> DeleteCore {
        self.core
    }

    fn compiled(&self) -> Compiled {
        let mut w = Writer::default();
        w.push_delete(&self.core);
        Compiled { sql: w.sql, params: w.params, read_only: false }
    }

    fn is_noop(&self) -> bool {
        false
    }

    /// `WHERE condition`; successive calls combine with AND.
    pub fn where_<E: WhereCondition<Sc, I>, I>(mut self, condition: E) -> Self {
        self.core.wheres.push(condition.into_node());
        self
    }

    /// `RETURNING cols` of the deleted rows.
    pub fn returning<S: Selection<Sc, I>, I>(mut self, columns: S) -> Delete<T, Returning<S, I>, Sc> {
        self.core.returning = super::dml::returning_items(columns);
        self.retype()
    }

    /// `RETURNING` every column of the deleted rows, as the table's row struct.
    pub fn returning_all(mut self) -> Delete<T, ReturningAll, Sc> {
        self.core.returning = super::dml::all_columns::<T>();
        self.retype()
    }

    run_methods!();

    #[doc(hidden)]
    pub fn set<C, V>(self, _column: C, _value: V) -> Self
    where
        Self: misuse::DeleteHasNoSet,
    {
        self
    }

    #[doc(hidden)]
    pub fn on_conflict<X>(self, _target: X) -> Self
    where
        Self: misuse::OnlyInsertsConflict,
    {
        self
    }
}

returning_queries!(Delete<T> in Sc);
