//! Values that become bound parameters: [`Bind`] says which Rust values a column of Rust type `T`
//! accepts. One impl per Rust type (no widening: `eq(5)` on a `bigint` column infers `i64`), plus
//! `&str`/`&String` for text and `&[u8]` for bytea. There is deliberately no impl for `Option`:
//! comparing with NULL is `is_null()`, never `eq(None)`.

use std::{fmt, sync::Arc};

use postgres_types::ToSql;

use crate::query::SqlEnum;

/// A bound parameter value, shareable and printable (`Debug` shows the value).
#[derive(Clone)]
pub struct Param(pub(crate) Arc<dyn ToSql + Send + Sync>);

impl Param {
    /// Wraps any value tokio-postgres can serialize.
    pub fn new<T: ToSql + Send + Sync + 'static>(value: T) -> Self {
        Param(Arc::new(value))
    }

    /// The value as tokio-postgres takes it.
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        &*self.0
    }
}

impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// `Self` is a value for a column whose Rust type is `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a value of a column of type `{T}`",
    label = "expected a value of type `{T}`",
    note = "to test for NULL use `.is_null()` / `.is_not_null()`, never `eq(None)`"
)]
pub trait Bind<T> {
    /// The value as a parameter.
    fn bind(self) -> Param;
}

macro_rules! bind_self {
    ($($t:ty),* $(,)?) => {$(
        impl Bind<$t> for $t {
            fn bind(self) -> Param {
                Param::new(self)
            }
        }
        impl Bind<Vec<$t>> for Vec<$t> {
            fn bind(self) -> Param {
                Param::new(self)
            }
        }
    )*};
}

bind_self!(
    i8,
    i16,
    i32,
    i64,
    u32,
    f32,
    f64,
    bool,
    String,
    uuid::Uuid,
    rust_decimal::Decimal,
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::NaiveDateTime,
    chrono::DateTime<chrono::Utc>,
    serde_json::Value,
    std::net::IpAddr,
);

impl Bind<Vec<u8>> for Vec<u8> {
    fn bind(self) -> Param {
        Param::new(self)
    }
}

impl Bind<Vec<u8>> for &[u8] {
    fn bind(self) -> Param {
        Param::new(self.to_vec())
    }
}

impl Bind<String> for &str {
    fn bind(self) -> Param {
        Param::new(self.to_owned())
    }
}

impl Bind<String> for &String {
    fn bind(self) -> Param {
        Param::new(self.clone())
    }
}

impl<E: SqlEnum + ToSql + Send + Sync> Bind<E> for E {
    fn bind(self) -> Param {
        Param::new(self)
    }
}
