//! Statements written in SQL and typed at build time by `sql!` (the macro `schema!` emits next to
//! the tables): [`TypedSql`] runs them on any [`Executor`] like a built query, and
//! [`SqlShape`] is what the macro inferred, which [`crate::testing::check_sql`] compares with
//! PostgreSQL's own answer.

use std::{future::Future, marker::PhantomData};

use super::{FromRow, exec::Compiled, value::Param};
use crate::Error;

/// What `sql!` inferred for a statement: PostgreSQL's type names (`int4`, `_text`, `role`) of its
/// parameters and result columns, the columns' names and nullability, and where it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlShape {
    /// The statement's text.
    pub sql: &'static str,
    /// The type of `$1`, `$2`, ..
    pub params: &'static [&'static str],
    /// Each result column: (name, type, nullable).
    pub columns: &'static [(&'static str, &'static str, bool)],
    /// Safe to run again after a connection fault (a SELECT without locks or side effects).
    pub read_only: bool,
    /// `file:line` of the `sql!`.
    pub origin: &'static str,
}

/// A statement typed by `sql!`: its text, its parameters (checked against the inferred types at
/// compile time) and its row type `R`, a struct with one field per result column.
///
/// ```no_run
/// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
/// # use taulu_app::schema;
/// let email = "ann@example.com";
/// let user = schema::sql!("SELECT u.id, u.username FROM users u WHERE u.email = $1", email)
///     .fetch_optional(db)
///     .await?;
/// if let Some(user) = user {
///     println!("{} {}", user.id, user.username);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a statement does nothing until it is fetched or executed"]
pub struct TypedSql<R> {
    shape: &'static SqlShape,
    params: Vec<Param>,
    _row: PhantomData<fn() -> R>,
}

impl<R: SqlRow> TypedSql<R> {
    /// Runs the statement and returns every row.
    pub fn fetch_all<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, Vec<R>> {
        Fetch { inner: all_rows::<E, R::Columns>(db, compiled(self.shape, &self.params)) }
    }

    /// Runs the statement and returns its first row, or [`Error::NoRows`]. (The statement is sent
    /// as written: add `LIMIT 1` to it when it could return many rows.)
    pub fn fetch_one<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, R> {
        Fetch { inner: one_row::<E, R::Columns>(db, compiled(self.shape, &self.params)) }
    }

    /// Runs the statement and returns its first row, if any.
    pub fn fetch_optional<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, Option<R>> {
        Fetch { inner: first_row::<E, R::Columns>(db, compiled(self.shape, &self.params)) }
    }
}

/// `sql!(as T, "..", ..)`: a statement whose rows are read into `T`, a struct of the caller's
/// (`#[derive(taulu::FromRow)]`), as sqlx's `query_as!` does. The macro checks at build time that
/// `T`'s fields are, in order, the statement's columns' types.
///
/// ```no_run
/// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
/// # use taulu_app::schema;
/// #[derive(taulu::FromRow)]
/// struct Account {
///     id: uuid::Uuid,
///     username: String,
/// }
/// let accounts: Vec<Account> =
///     schema::sql!(as Account, "SELECT id, username FROM users ORDER BY username").fetch_all(db).await?;
/// # Ok(()) }
/// ```
#[must_use = "a statement does nothing until it is fetched or executed"]
pub struct TypedAs<T> {
    shape: &'static SqlShape,
    params: Vec<Param>,
    _row: PhantomData<fn() -> T>,
}

/// `sql!(scalar, "..", ..)`: a statement of one column whose rows are read as that column's value,
/// as sqlx's `query_scalar!` does: `fetch_one` returns the value itself.
///
/// ```no_run
/// # async fn f(db: &taulu::Db) -> taulu::Result<()> {
/// # use taulu_app::schema;
/// let users: i64 = schema::sql!(scalar, "SELECT count(*) FROM users").fetch_one(db).await?;
/// # Ok(()) }
/// ```
#[must_use = "a statement does nothing until it is fetched or executed"]
pub struct TypedScalar<T> {
    shape: &'static SqlShape,
    params: Vec<Param>,
    _value: PhantomData<fn() -> T>,
}

macro_rules! statement_basics {
    ($name:ident, $field:ident) => {
        impl<T> $name<T> {
            #[doc(hidden)]
            pub fn __new(shape: &'static SqlShape, params: Vec<Param>) -> Self {
                $name { shape, params, $field: PhantomData }
            }

            /// What the macro inferred.
            pub fn shape(&self) -> &'static SqlShape {
                self.shape
            }

            /// The SQL text and the parameters.
            pub fn to_sql(&self) -> (&'static str, &[Param]) {
                (self.shape.sql, &self.params)
            }

            /// Runs the statement and returns the number of rows it affected (or returned).
            pub fn execute<'a, E: super::Executor>(&self, db: &'a E) -> Fetch<'a, u64> {
                Fetch { inner: affected(db, compiled(self.shape, &self.params)) }
            }
        }

        impl<T> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("sql", &self.shape.sql).field("params", &self.params).finish()
            }
        }
    };
}

statement_basics!(TypedSql, _row);
statement_basics!(TypedAs, _row);
statement_basics!(TypedScalar, _value);

impl<T: FromRow + Send + 'static> TypedAs<T> {
    /// Runs the statement and returns every row.
    pub fn fetch_all<'a, E: super::Executor>(&self, db: &'a E) -> Boxed<'a, Vec<T>> {
        all_rows::<E, T>(db, compiled(self.shape, &self.params))
    }

    /// Runs the statement and returns its first row, or [`Error::NoRows`].
    pub fn fetch_one<'a, E: super::Executor>(&self, db: &'a E) -> Boxed<'a, T> {
        one_row::<E, T>(db, compiled(self.shape, &self.params))
    }

    /// Runs the statement and returns its first row, if any.
    pub fn fetch_optional<'a, E: super::Executor>(&self, db: &'a E) -> Boxed<'a, Option<T>> {
        first_row::<E, T>(db, compiled(self.shape, &self.params))
    }
}

impl<T: for<'v> postgres_types::FromSql<'v> + Send + 'static> TypedScalar<T> {
    /// Runs the statement and returns every row's value.
    pub fn fetch_all<'a, E: super::Executor>(&self, db: &'a E) -> Boxed<'a, Vec<T>> {
        let rows = all_rows::<E, Cols1<T>>(db, compiled(self.shape, &self.params));
        Box::pin(async move { Ok(rows.await?.into_iter().map(|Cols1(v)| v).collect()) })
    }

    /// Runs the statement and returns its first row's value, or [`Error::NoRows`].
    pub fn fetch_one<'a, E: super::Executor>(&self, db: &'a E) -> Boxed<'a, T> {
        let row = one_row::<E, Cols1<T>>(db, compiled(self.shape, &self.params));
        Box::pin(async move { Ok(row.await?.0) })
    }

    /// Runs the statement and returns its first row's value, if there is a row.
    pub fn fetch_optional<'a, E: super::Executor>(&self, db: &'a E) -> Boxed<'a, Option<T>> {
        let row = first_row::<E, Cols1<T>>(db, compiled(self.shape, &self.params));
        Box::pin(async move { Ok(row.await?.map(|Cols1(v)| v)) })
    }
}

/// A `sql!` row struct: `#[repr(C)]`, with the layout of [`SqlRow::Columns`], which reads it.
/// Implemented by the macro only.
///
/// Every `sql!` has a row struct of its own, so whatever is generic over it is compiled once per
/// statement. To keep that to a few lines, the rows are read as `Columns`, a generic struct of
/// the same field types (`Cols3<String, String, Role>`) compiled once for every statement with
/// those types, and then reinterpreted in place.
///
/// # Safety
/// `Self` and `Columns` are both `#[repr(C)]` with the same field types in the same order (so the
/// same layout), or `Columns` is `Self`.
#[doc(hidden)]
pub unsafe trait SqlRow: Sized {
    /// What reads the row.
    type Columns: FromRow + Send + 'static;
}

// SAFETY: `Columns` is `Self`.
unsafe impl SqlRow for () {
    type Columns = ();
}

/// How a fetch's result is made from what the executor read (`Vec<R::Columns>` into `Vec<R>`).
#[doc(hidden)]
pub trait Decoded: Sized {
    /// What the executor reads.
    type Read: Send;
    /// Turns it into `Self`.
    fn cast(read: Self::Read) -> Self;
}

impl Decoded for u64 {
    type Read = u64;
    fn cast(read: u64) -> u64 {
        read
    }
}

impl<R: SqlRow> Decoded for R {
    type Read = R::Columns;
    fn cast(read: R::Columns) -> R {
        let read = std::mem::ManuallyDrop::new(read);
        // SAFETY: `R` has the layout of `R::Columns` (`SqlRow`'s contract); `read` is not dropped.
        unsafe { std::ptr::read((&*read as *const R::Columns).cast::<R>()) }
    }
}

impl<R: SqlRow> Decoded for Option<R> {
    type Read = Option<R::Columns>;
    fn cast(read: Option<R::Columns>) -> Option<R> {
        read.map(R::cast)
    }
}

impl<R: SqlRow> Decoded for Vec<R> {
    type Read = Vec<R::Columns>;
    fn cast(read: Vec<R::Columns>) -> Vec<R> {
        let mut read = std::mem::ManuallyDrop::new(read);
        // SAFETY: the allocation holds `len` initialized `R::Columns`, which have the size,
        // alignment and layout of `R` (`SqlRow`'s contract); `read` is not dropped.
        unsafe { Vec::from_raw_parts(read.as_mut_ptr().cast::<R>(), read.len(), read.capacity()) }
    }
}

type PgRow = tokio_postgres::Row;

// Not generic: compiled once, whatever the row type.
fn compiled(shape: &SqlShape, params: &[Param]) -> Compiled {
    Compiled { sql: shape.sql.to_owned(), params: params.to_vec(), read_only: shape.read_only }
}

/// A boxed fetch future.
pub type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

// Generic over the executor and the column types, not the row type: compiled once per executor
// type and list of column types, however many statements share them.
pub(super) fn all_rows<'a, E: super::Executor, C: FromRow + 'a>(db: &'a E, q: Compiled) -> Boxed<'a, Vec<C>> {
    Box::pin(async move {
        let rows = db.query_rows(&q).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(C::from_row(row)?);
        }
        Ok(out)
    })
}

fn first_row<E: super::Executor, C: FromRow + Send + 'static>(db: &E, q: Compiled) -> Boxed<'_, Option<C>> {
    Box::pin(async move {
        match db.query_first(&q).await? {
            Some(row) => Ok(Some(C::from_row(&row)?)),
            None => Ok(None),
        }
    })
}

pub(super) fn one_row<'a, E: super::Executor, C: FromRow + 'a>(db: &'a E, q: Compiled) -> Boxed<'a, C> {
    Box::pin(async move {
        let row: Option<PgRow> = db.query_first(&q).await?;
        C::from_row(&row.ok_or(Error::NoRows)?)
    })
}

fn affected<E: super::Executor>(db: &E, q: Compiled) -> Boxed<'_, u64> {
    Box::pin(async move { db.execute(&q).await })
}

/// The future of a `sql!` fetch (or execute). The executor's future is boxed and generic over the
/// column types only; all that is compiled per statement is this poll and the final cast.
#[must_use = "futures do nothing unless awaited"]
pub struct Fetch<'a, T: Decoded> {
    inner: Boxed<'a, T::Read>,
}

impl<T: Decoded> Future for Fetch<'_, T> {
    type Output = Result<T, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match self.get_mut().inner.as_mut().poll(cx) {
            std::task::Poll::Ready(Ok(read)) => std::task::Poll::Ready(Ok(T::cast(read))),
            std::task::Poll::Ready(Err(e)) => std::task::Poll::Ready(Err(e)),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

/// The row types `sql!` reads statements of up to 32 columns into (see [`SqlRow`]).
macro_rules! columns {
    ($($name:ident ($($t:ident $n:tt),+))+) => {$(
        #[doc(hidden)]
        #[repr(C)]
        pub struct $name<$($t),+>($(pub $t),+);

        impl<$($t: for<'a> postgres_types::FromSql<'a>),+> FromRow for $name<$($t),+> {
            fn from_row_at(row: &PgRow, start: usize) -> Result<Self, Error> {
                // As the builder's tuples read columns (see `item.rs`, why not a shared helper).
                Ok($name($(row.try_get::<_, $t>(start + $n).map_err(Error::Db)?),+))
            }
        }

        // serde for a `sql!` row, given its field names: what `#[derive(Serialize, Deserialize)]`
        // on the row does, compiled once per list of column types instead of once per statement.
        #[cfg(feature = "serde")]
        impl<$($t: serde::Serialize),+> RowSerde for $name<$($t),+> {
            fn serialize_named<S: serde::Serializer>(&self, names: &'static [&'static str], s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut row = s.serialize_struct("Row", names.len())?;
                $(row.serialize_field(names[$n], &self.$n)?;)+
                row.end()
            }
        }

        #[cfg(feature = "serde")]
        impl<'de, $($t: serde::Deserialize<'de>),+> RowDeserialize<'de> for $name<$($t),+> {
            fn deserialize_named<D: serde::Deserializer<'de>>(d: D, names: &'static [&'static str]) -> Result<Self, D::Error> {
                struct Fields<$($t),+>(&'static [&'static str], PhantomData<fn() -> ($($t,)+)>);
                impl<'de, $($t: serde::Deserialize<'de>),+> serde::de::Visitor<'de> for Fields<$($t),+> {
                    type Value = $name<$($t),+>;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("struct Row")
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                        Ok($name($(
                            seq.next_element::<$t>()?.ok_or_else(|| serde::de::Error::invalid_length($n, &self))?
                        ),+))
                    }
                    #[allow(non_snake_case)]
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        $(let mut $t: Option<$t> = None;)+
                        while let Some(key) = map.next_key_seed(row_serde::Key(self.0))? {
                            match key {
                                $(Some($n) => {
                                    if $t.is_some() {
                                        return Err(serde::de::Error::duplicate_field(self.0[$n]));
                                    }
                                    $t = Some(map.next_value()?);
                                })+
                                _ => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                        Ok($name($(match $t {
                            Some(v) => v,
                            None => row_serde::missing(self.0[$n])?,
                        }),+))
                    }
                }
                d.deserialize_struct("Row", names, Fields(names, PhantomData))
            }
        }
    )+};
}

/// serde for a `sql!` row's column layout, given the row's field names.
#[cfg(feature = "serde")]
#[doc(hidden)]
pub trait RowSerde {
    /// Serializes as a struct named `Row` with these fields.
    fn serialize_named<S: serde::Serializer>(&self, names: &'static [&'static str], s: S) -> Result<S::Ok, S::Error>;
}

/// See [`RowSerde`].
#[cfg(feature = "serde")]
#[doc(hidden)]
pub trait RowDeserialize<'de>: Sized {
    /// Deserializes a struct named `Row` with these fields (from a map or a sequence, unknown
    /// fields ignored, a missing `Option` field `None`), as serde's derive does.
    fn deserialize_named<D: serde::Deserializer<'de>>(d: D, names: &'static [&'static str]) -> Result<Self, D::Error>;
}

/// `Serialize::serialize` of a `sql!` row: as its column layout, under its field names.
#[cfg(feature = "serde")]
#[doc(hidden)]
pub fn serialize_row<R: SqlRow, S: serde::Serializer>(
    row: &R,
    names: &'static [&'static str],
    s: S,
) -> Result<S::Ok, S::Error>
where
    R::Columns: RowSerde,
{
    // SAFETY: `R` has the layout of `R::Columns` (`SqlRow`'s contract).
    let columns = unsafe { &*(row as *const R).cast::<R::Columns>() };
    columns.serialize_named(names, s)
}

/// `Deserialize::deserialize` of a `sql!` row.
#[cfg(feature = "serde")]
#[doc(hidden)]
pub fn deserialize_row<'de, R: SqlRow, D: serde::Deserializer<'de>>(
    d: D,
    names: &'static [&'static str],
) -> Result<R, D::Error>
where
    R::Columns: RowDeserialize<'de>,
{
    Ok(R::cast(R::Columns::deserialize_named(d, names)?))
}

#[cfg(feature = "serde")]
mod row_serde {
    use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

    /// A field's name read as its position among the row's fields (`None`: not a field).
    pub struct Key(pub &'static [&'static str]);

    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Option<usize>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
            d.deserialize_identifier(self)
        }
    }

    impl<'de> Visitor<'de> for Key {
        type Value = Option<usize>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("field identifier")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
            Ok(self.0.iter().position(|n| *n == v))
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Option<usize>, E> {
            Ok(self.0.iter().position(|n| n.as_bytes() == v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<usize>, E> {
            Ok(usize::try_from(v).ok().filter(|i| *i < self.0.len()))
        }
    }

    /// A field the input lacks: `None` for an `Option`, otherwise "missing field", as serde's
    /// derive reads it.
    pub fn missing<'de, T: de::Deserialize<'de>, E: de::Error>(name: &'static str) -> Result<T, E> {
        struct Missing<E>(&'static str, std::marker::PhantomData<E>);
        impl<'de, E: de::Error> Deserializer<'de> for Missing<E> {
            type Error = E;
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, E> {
                Err(E::missing_field(self.0))
            }
            fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
                visitor.visit_none()
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
                unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
            }
        }
        T::deserialize(Missing(name, std::marker::PhantomData))
    }
}

columns! {
    Cols1(A0 0)
    Cols2(A0 0, A1 1)
    Cols3(A0 0, A1 1, A2 2)
    Cols4(A0 0, A1 1, A2 2, A3 3)
    Cols5(A0 0, A1 1, A2 2, A3 3, A4 4)
    Cols6(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5)
    Cols7(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6)
    Cols8(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7)
    Cols9(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8)
    Cols10(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9)
    Cols11(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10)
    Cols12(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11)
    Cols13(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12)
    Cols14(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13)
    Cols15(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14)
    Cols16(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15)
    Cols17(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16)
    Cols18(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17)
    Cols19(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18)
    Cols20(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19)
    Cols21(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20)
    Cols22(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21)
    Cols23(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22)
    Cols24(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23)
    Cols25(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24)
    Cols26(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24, A25 25)
    Cols27(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24, A25 25, A26 26)
    Cols28(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24, A25 25, A26 26, A27 27)
    Cols29(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24, A25 25, A26 26, A27 27, A28 28)
    Cols30(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24, A25 25, A26 26, A27 27, A28 28, A29 29)
    Cols31(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24, A25 25, A26 26, A27 27, A28 28, A29 29, A30 30)
    Cols32(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7, A8 8, A9 9, A10 10, A11 11, A12 12, A13 13, A14 14, A15 15, A16 16, A17 17, A18 18, A19 19, A20 20, A21 21, A22 22, A23 23, A24 24, A25 25, A26 26, A27 27, A28 28, A29 29, A30 30, A31 31)
}

/// Every `sql!` of a crate, found by `taulu::sql_statements!` at build time: for
/// `taulu::testing::check_sql` (feature `testing`).
pub type SqlStatements = &'static [SqlShape];

/// One statement of a `sql!` accuracy corpus (`taulu::__private::sql_corpus!`): what the macro
/// made of it, or why it refused, and the nullability a person checked by hand, if given.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct CorpusEntry {
    pub line: usize,
    pub sql: &'static str,
    pub typed: Result<SqlShape, &'static str>,
    pub nullable: Option<&'static [bool]>,
}
