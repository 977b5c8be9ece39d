//! Values that become bound parameters: [`Bind`] says which Rust values a column of Rust type `T`
//! accepts, and each of them is also an expression ([`AsExpr`]). One impl per Rust type (no
//! widening: `eq(5)` on a `bigint` column infers `i64`), plus `&str`/`&String` for text and `&[u8]`
//! for bytea. An `Option` is never a value: comparing with NULL is `is_null()`, never `eq(None)`.
//! [`RawValue`] and [`SqlArg`] say the same for raw fragments and `sql!` parameters.

use postgres_types::{ToSql, Type};

use super::{AsExpr, Bound};
use crate::query::{
    SqlEnum,
    value::{Interval, Param, Raw, Value},
};

/// `Self` is a value for a column whose Rust type is `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a value of a column of type `{T}`",
    label = "expected a value of type `{T}`"
)]
pub trait Bind<T> {
    /// The value as a parameter.
    fn bind(self) -> Param;
}

/// A value as an expression: `AsExpr<$target> for $value`, bound as a parameter.
macro_rules! into_expr {
    ($value:ty => $target:ty) => {
        impl AsExpr<$target> for $value {
            type Expr = Bound<$target>;
            fn into_expr(self) -> Bound<$target> {
                Bound::new(self)
            }
        }
    };
}

/// One row per Rust type: its PostgreSQL scalar and array types, and how the scalar is stored
/// (inline in [`Value`], or shared behind an `Arc`).
macro_rules! bind_self {
    ($($t:ty => $ty:ident, $array:ident, $store:expr;)*) => {$(
        impl Bind<$t> for $t {
            fn bind(self) -> Param {
                Param(($store)(self), Some(Type::$ty))
            }
        }
        impl Bind<Vec<$t>> for Vec<$t> {
            fn bind(self) -> Param {
                Param::typed(self, Type::$array)
            }
        }
        impl RawValue for $t {
            fn into_param(self) -> Param {
                Param(($store)(self), Some(Type::$ty))
            }
        }
        impl RawValue for Option<$t> {
            fn into_param(self) -> Param {
                Param::typed(self, Type::$ty)
            }
        }
        impl RawValue for Vec<$t> {
            fn into_param(self) -> Param {
                Param::typed(self, Type::$array)
            }
        }
        impl SqlArg<$t> for $t {
            fn into_arg(self) -> Param {
                Param(($store)(self), Some(Type::$ty))
            }
        }
        impl SqlArg<$t> for Option<$t> {
            fn into_arg(self) -> Param {
                Param::typed(self, Type::$ty)
            }
        }
        impl SqlArg<Vec<$t>> for Vec<$t> {
            fn into_arg(self) -> Param {
                Param::typed(self, Type::$array)
            }
        }
        into_expr!($t => $t);
        into_expr!(Vec<$t> => Vec<$t>);
    )*};
}

/// A value a raw fragment binds ([`Sql::bind`](crate::query::Sql::bind)): any type the builder
/// binds (`i64`, `String`, `&str`, `Uuid`, `DateTime<Utc>`, `serde_json::Value`, a generated enum,
/// .. and `Vec`s of them), or an `Option` of one (`None` binds NULL). Each is sent with its
/// PostgreSQL type, so no statement has to be prepared to learn it (which PgBouncer in
/// transaction mode forbids). For another type, state the PostgreSQL type with
/// [`Sql::bind_as`](crate::query::Sql::bind_as).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value a raw fragment can bind",
    note = "bind a type the builder knows (or an `Option` of one), or state its PostgreSQL type with `.bind_as(value, Type::..)`"
)]
pub trait RawValue {
    /// The value as a parameter, with its PostgreSQL type.
    fn into_param(self) -> Param;
}

impl RawValue for &str {
    fn into_param(self) -> Param {
        Param::typed(self.to_owned(), Type::TEXT)
    }
}

impl RawValue for &String {
    fn into_param(self) -> Param {
        Param::typed(self.clone(), Type::TEXT)
    }
}

impl RawValue for Option<&str> {
    fn into_param(self) -> Param {
        Param::typed(self.map(str::to_owned), Type::TEXT)
    }
}

impl RawValue for Vec<u8> {
    fn into_param(self) -> Param {
        Param::typed(self, Type::BYTEA)
    }
}

impl RawValue for &[u8] {
    fn into_param(self) -> Param {
        Param::typed(self.to_vec(), Type::BYTEA)
    }
}

impl RawValue for Option<Vec<u8>> {
    fn into_param(self) -> Param {
        Param::typed(self, Type::BYTEA)
    }
}

impl<E: SqlEnum + ToSql + Send + Sync> RawValue for E {
    fn into_param(self) -> Param {
        Param::typed(self, E::sql_type())
    }
}

impl<E: SqlEnum + ToSql + Send + Sync> RawValue for Option<E> {
    fn into_param(self) -> Param {
        Param::typed(self, E::sql_type())
    }
}

impl<E: SqlEnum + ToSql + Send + Sync> RawValue for Vec<E> {
    fn into_param(self) -> Param {
        <Vec<E> as Bind<Vec<E>>>::bind(self)
    }
}

/// A value for a [`sql!`](crate::schema) parameter whose Rust type is `T` (what the statement's
/// context makes `$n`): a value of that type as the builder binds it (`&str` for text, `&[u8]`
/// for bytea), or an `Option` of one, `None` binding NULL. Each is sent with its PostgreSQL type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of a `sql!` parameter of Rust type `{T}`",
    label = "expected `{T}` (or an `Option` of it for NULL)",
    note = "the parameter's type comes from where it appears in the statement; cast it in the SQL (`$1::int8`) to choose another"
)]
pub trait SqlArg<T> {
    /// The value as a parameter.
    fn into_arg(self) -> Param;
}

macro_rules! sql_arg_via {
    ($($t:ty => $target:ty, $ty:ident, $conv:expr;)*) => {$(
        impl SqlArg<$target> for $t {
            fn into_arg(self) -> Param {
                Param::typed(($conv)(self), Type::$ty)
            }
        }
    )*};
}

sql_arg_via! {
    &str => String, TEXT, str::to_owned;
    &String => String, TEXT, String::clone;
    Option<&str> => String, TEXT, |v: Option<&str>| v.map(str::to_owned);
    Option<&String> => String, TEXT, |v: Option<&String>| v.cloned();
    Vec<u8> => Vec<u8>, BYTEA, std::convert::identity;
    &[u8] => Vec<u8>, BYTEA, <[u8]>::to_vec;
    Option<Vec<u8>> => Vec<u8>, BYTEA, std::convert::identity;
    Option<&[u8]> => Vec<u8>, BYTEA, |v: Option<&[u8]>| v.map(<[u8]>::to_vec);
    Vec<&str> => Vec<String>, TEXT_ARRAY, |v: Vec<&str>| v.into_iter().map(str::to_owned).collect::<Vec<_>>();
}

impl<E: SqlEnum + ToSql + Send + Sync> SqlArg<E> for E {
    fn into_arg(self) -> Param {
        Param::typed(self, E::sql_type())
    }
}

impl<E: SqlEnum + ToSql + Send + Sync> SqlArg<E> for Option<E> {
    fn into_arg(self) -> Param {
        Param::typed(self, E::sql_type())
    }
}

impl<E: SqlEnum + ToSql + Send + Sync> SqlArg<Vec<E>> for Vec<E> {
    fn into_arg(self) -> Param {
        <Vec<E> as Bind<Vec<E>>>::bind(self)
    }
}

bind_self! {
    i8 => CHAR, CHAR_ARRAY, Value::shared;
    i16 => INT2, INT2_ARRAY, Value::I16;
    i32 => INT4, INT4_ARRAY, Value::I32;
    i64 => INT8, INT8_ARRAY, Value::I64;
    u32 => OID, OID_ARRAY, Value::shared;
    f32 => FLOAT4, FLOAT4_ARRAY, Value::shared;
    f64 => FLOAT8, FLOAT8_ARRAY, Value::F64;
    bool => BOOL, BOOL_ARRAY, Value::Bool;
    String => TEXT, TEXT_ARRAY, Value::shared;
    uuid::Uuid => UUID, UUID_ARRAY, Value::Uuid;
    rust_decimal::Decimal => NUMERIC, NUMERIC_ARRAY, Value::shared;
    chrono::NaiveDate => DATE, DATE_ARRAY, Value::shared;
    chrono::NaiveTime => TIME, TIME_ARRAY, Value::shared;
    chrono::NaiveDateTime => TIMESTAMP, TIMESTAMP_ARRAY, Value::shared;
    chrono::DateTime<chrono::Utc> => TIMESTAMPTZ, TIMESTAMPTZ_ARRAY, Value::shared;
    serde_json::Value => JSONB, JSONB_ARRAY, Value::shared;
    std::net::IpAddr => INET, INET_ARRAY, Value::shared;
    Interval => INTERVAL, INTERVAL_ARRAY, Value::shared;
}

impl Bind<Vec<u8>> for Vec<u8> {
    fn bind(self) -> Param {
        Param::typed(self, Type::BYTEA)
    }
}

into_expr!(Vec<u8> => Vec<u8>);
into_expr!(&[u8] => Vec<u8>);
into_expr!(&str => String);
into_expr!(&String => String);

impl Bind<Vec<u8>> for &[u8] {
    fn bind(self) -> Param {
        Param::typed(self.to_vec(), Type::BYTEA)
    }
}

impl Bind<String> for &str {
    fn bind(self) -> Param {
        Param::typed(self.to_owned(), Type::TEXT)
    }
}

impl Bind<String> for &String {
    fn bind(self) -> Param {
        Param::typed(self.clone(), Type::TEXT)
    }
}

/// `Option` is never a value: NULL is tested with `is_null()` and set with `set_null()`. This impl
/// exists only so the error says that.
impl<T, V> Bind<T> for Option<V>
where
    Option<V>: NoneIsNotAValueUseIsNullOrSetNull,
{
    fn bind(self) -> Param {
        unreachable!("NoneIsNotAValueUseIsNullOrSetNull has no impls")
    }
}

/// No type implements it: see the `Bind` impl for `Option`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a value: SQL compares with NULL and sets NULL differently",
    label = "an `Option` is not a value here",
    note = "test for NULL with `.is_null()` / `.is_not_null()`; set NULL with `.set_null(column)`; pass the value itself otherwise"
)]
pub trait NoneIsNotAValueUseIsNullOrSetNull {}

impl<E: SqlEnum + ToSql + Send + Sync> Bind<E> for E {
    fn bind(self) -> Param {
        Param::typed(self, E::sql_type())
    }
}

/// An array of a generated enum (`role[]`), for `= ANY($1)`.
impl<E: SqlEnum + ToSql + Send + Sync> Bind<Vec<E>> for Vec<E> {
    fn bind(self) -> Param {
        let element = E::sql_type();
        let array = Type::new(
            format!("_{}", element.name()),
            0,
            postgres_types::Kind::Array(element.clone()),
            element.schema().to_owned(),
        );
        Param::typed(self, array)
    }
}

/// A value for column (or expression) `C`, whose Rust type is `T`: a `T` itself, or `&str` /
/// `&String` for text and `&[u8]` for bytea. The generated `Insert::new(..)` and `with_*` setters
/// and `in_(..)` lists take values as `impl ValueFor<column>`, so a wrong value names the column.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value for column `{C}`",
    label = "column `{C}` takes a `{T}`"
)]
pub trait ValueFor<C, T = <C as crate::Column>::Rust> {
    /// The value as the column's Rust type.
    fn into_value(self) -> T;
}

impl<C, T> ValueFor<C, T> for T {
    fn into_value(self) -> T {
        self
    }
}

impl<C> ValueFor<C, String> for &str {
    fn into_value(self) -> String {
        self.to_owned()
    }
}

impl<C> ValueFor<C, String> for &String {
    fn into_value(self) -> String {
        self.clone()
    }
}

impl<C> ValueFor<C, Vec<u8>> for &[u8] {
    fn into_value(self) -> Vec<u8> {
        self.to_vec()
    }
}

/// A value of a type taulu does not map, as the server's binary format: its type is the server's.
impl SqlArg<Raw> for Raw {
    fn into_arg(self) -> Param {
        Param::new(self)
    }
}

impl SqlArg<Raw> for Option<Raw> {
    fn into_arg(self) -> Param {
        Param::new(self)
    }
}
