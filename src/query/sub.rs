//! Correlated EXISTS: the inner query gets the outer scope, so it may use outer columns.

use super::{
    Table,
    render::{Node, SelectCore},
    select::{NoColumns, Select},
};

/// The inner query of a correlated EXISTS: table `T` in front of the outer scope `S`.
type Inner<T, S, C> = Select<super::Cons<super::Entry<T, super::NotNull>, S>, C, super::select::Unlocked>;

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
        let from = super::render::TableRef::of::<T>();
        let inner = build(Select::from_core(SelectCore::new(from)));
        self.push_where(Node::Exists { select: Box::new(inner.into_core()), negated })
    }
}
