//! Set operations: `UNION`, `UNION ALL`, `INTERSECT`, `EXCEPT` over queries whose rows have the
//! same Rust type (checked at compile time), with ORDER BY (by output position), LIMIT and OFFSET
//! over the combination.

use std::marker::PhantomData;

use super::{
    FromRow,
    exec::{Compiled, Executor, Query},
    expr::Subquery,
    render::{CompoundCore, Node, Order, SetOp, SetOperand, Writer},
    select::{MatchesFields, RowStruct, Select},
    value::Param,
};
use crate::Error;

/// Two row types are the same: what a set operation's queries must return.
#[diagnostic::on_unimplemented(
    message = "a set operation needs queries with the same row type: `{Self}` and `{T}` differ",
    label = "this query's rows differ from the first query's",
    note = "select the same number of columns, with the same Rust types and nullability, in the same order"
)]
pub trait SameRow<T> {}
impl<T> SameRow<T> for T {}

/// What a set operation takes: a SELECT, or a set operation of its own (it is grouped:
/// `a.union(b.intersect(c))` is `(a) UNION ((b) INTERSECT (c))`).
pub trait IntoSetOperand {
    /// The Rust value of one of its rows.
    type Row;
    #[doc(hidden)]
    fn into_operand(self) -> SetOperand;
}

impl<Q: Query + Subquery> IntoSetOperand for Q {
    type Row = Q::Output;
    fn into_operand(self) -> SetOperand {
        SetOperand::Select(Box::new(self.into_select()))
    }
}

impl<R> IntoSetOperand for Compound<R> {
    type Row = R;
    fn into_operand(self) -> SetOperand {
        SetOperand::Compound(Box::new(self.core))
    }
}

/// Queries combined with UNION / INTERSECT / EXCEPT, reading rows of type `R`.
///
/// ```
/// use taulu::prelude::*;
/// # use taulu_app::schema;
/// use schema::{Orgs, Users, orgs, users};
/// let q = select_from::<Users>()
///     .columns((users::username,))
///     .union(select_from::<Orgs>().columns((orgs::slug,)))
///     .order_by_nth(1)
///     .limit(10);
/// assert_eq!(
///     q.to_sql().0,
///     r#"(SELECT "users"."username" FROM "users") UNION (SELECT "orgs"."slug" FROM "orgs") ORDER BY 1 LIMIT $1"#
/// );
/// ```
#[must_use = "a query does nothing until it is fetched"]
pub struct Compound<R> {
    core: CompoundCore,
    _r: PhantomData<fn() -> R>,
}

macro_rules! set_ops {
    ($($name:ident => $op:ident, $doc:literal;)*) => {
        impl<S, C, L> Select<S, C, L>
        where
            Self: Query,
        {
            $(
                #[doc = concat!("`(this) ", $doc, " (other)`: both queries' rows must have the same type.")]
                pub fn $name<Q: IntoSetOperand>(self, other: Q) -> Compound<<Self as Query>::Output>
                where
                    Q::Row: SameRow<<Self as Query>::Output>,
                {
                    let first = SetOperand::Select(Box::new(self.into_select()));
                    Compound { core: CompoundCore::new(first, SetOp::$op, other.into_operand()), _r: PhantomData }
                }
            )*
        }

        impl<R> Compound<R> {
            $(
                #[doc = concat!("`.. ", $doc, " (other)`: one more query with the same row type.")]
                pub fn $name<Q: IntoSetOperand>(mut self, other: Q) -> Self
                where
                    Q::Row: SameRow<R>,
                {
                    self.core.rest.push((SetOp::$op, other.into_operand()));
                    self
                }
            )*
        }
    };
}

set_ops! {
    union => Union, "UNION";
    union_all => UnionAll, "UNION ALL";
    intersect => Intersect, "INTERSECT";
    except => Except, "EXCEPT";
}

impl<R> Compound<R> {
    /// `ORDER BY n` (1-based position in the row) ascending; successive calls add sort keys.
    pub fn order_by_nth(mut self, position: usize) -> Self {
        self.core.order_by.push((position, Order { desc: false, nulls: None }));
        self
    }

    /// `ORDER BY n DESC`.
    pub fn order_by_nth_desc(mut self, position: usize) -> Self {
        self.core.order_by.push((position, Order { desc: true, nulls: None }));
        self
    }

    /// `LIMIT $n` over the combined rows.
    pub fn limit(mut self, n: impl TryInto<i64>) -> Self {
        self.core.limit = Some(Node::count(n));
        self
    }

    /// `OFFSET $n` over the combined rows.
    pub fn offset(mut self, n: impl TryInto<i64>) -> Self {
        self.core.offset = Some(Node::count(n));
        self
    }

    fn compiled(&self) -> Compiled {
        let mut w = Writer::default();
        w.push_compound(&self.core);
        Compiled { sql: w.sql, params: w.params, read_only: true }
    }

    /// The SQL text and its parameters.
    pub fn to_sql(&self) -> (String, Vec<Param>) {
        let c = self.compiled();
        (c.sql, c.params)
    }

    /// The SQL text and its parameters, consuming the query (as [`Select::into_sql`](super::Select::into_sql)).
    pub fn into_sql(self) -> (String, Vec<Param>) {
        self.to_sql()
    }

    /// Runs the query and reads every row as struct `T`, whose fields match the combined columns
    /// in order and type (as [`Select::fetch_all_as`](super::Select::fetch_all_as)).
    pub fn fetch_all_as<'a, T: RowStruct + 'a>(&self, db: &'a impl Executor) -> super::typed::Boxed<'a, Vec<T>>
    where
        R: MatchesFields<T, T::Fields>,
    {
        super::typed::all_rows(db, self.compiled())
    }

    /// Runs the query and reads its first row as struct `T`, or [`Error::NoRows`].
    pub fn fetch_one_as<'a, T: RowStruct + 'a>(&self, db: &'a impl Executor) -> super::typed::Boxed<'a, T>
    where
        R: MatchesFields<T, T::Fields>,
    {
        super::typed::one_row(db, self.compiled())
    }

    /// Runs the query and returns every row.
    pub async fn fetch_all<E: Executor>(&self, db: &E) -> Result<Vec<R>, Error>
    where
        R: FromRow + Send,
    {
        super::exec::fetch_rows::<Self, E>(db, &self.compiled()).await
    }

    /// Runs the query and returns the first row, or [`Error::NoRows`].
    pub async fn fetch_one<E: Executor>(&self, db: &E) -> Result<R, Error>
    where
        R: FromRow + Send,
    {
        self.fetch_optional(db).await?.ok_or(Error::NoRows)
    }

    /// Runs the query and returns the first row, if any.
    pub async fn fetch_optional<E: Executor>(&self, db: &E) -> Result<Option<R>, Error>
    where
        R: FromRow + Send,
    {
        super::exec::decode_first::<Self>(db.query_first(&self.compiled()).await?)
    }

    /// Runs the query and returns its rows as a stream, decoded as they arrive (see
    /// [`Select::fetch_stream`](super::Select::fetch_stream)).
    pub async fn fetch_stream<'a, E: Executor>(
        &self,
        db: &'a E,
    ) -> Result<impl futures_util::Stream<Item = Result<R, Error>> + Send + 'a, Error>
    where
        R: FromRow + Send + 'a,
    {
        use futures_util::StreamExt as _;
        let rows = db.query_stream(self.compiled()).await?;
        Ok(rows.map(|r| r.and_then(|row| R::from_row(&row))))
    }

    /// PostgreSQL's plan for the query (`EXPLAIN`), one line per row; nothing runs.
    pub async fn explain<E: Executor>(&self, db: &E) -> Result<Vec<String>, Error> {
        super::exec::explain(db, self.compiled(), false).await
    }

    /// `EXPLAIN (ANALYZE, BUFFERS)`: runs the query and reports the plan with its timings.
    pub async fn explain_analyze<E: Executor>(&self, db: &E) -> Result<Vec<String>, Error> {
        super::exec::explain(db, self.compiled(), true).await
    }
}

impl<R: FromRow + Send> Query for Compound<R> {
    type Output = R;
    fn compile(&self) -> Compiled {
        self.compiled()
    }
    fn decode(row: &tokio_postgres::Row) -> Result<R, Error> {
        R::from_row(row)
    }
}
