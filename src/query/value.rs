//! Values that become bound parameters: [`Bind`] says which Rust values a column of Rust type `T`
//! accepts, and each of them is also an expression ([`AsExpr`]). One impl per Rust type (no
//! widening: `eq(5)` on a `bigint` column infers `i64`), plus `&str`/`&String` for text and `&[u8]`
//! for bytea. An `Option` is never a value: comparing with NULL is `is_null()`, never `eq(None)`.

use std::{fmt, sync::Arc};

use postgres_types::{ToSql, Type};

use crate::query::{
    SqlEnum,
    expr::{AsExpr, Bound},
};

/// A bound parameter value, cheap to clone and printable (`Debug` shows the value). Values bound
/// through the builder also carry their PostgreSQL type, which lets the pool send unnamed,
/// typed statements (for PgBouncer in transaction mode) instead of preparing them.
#[derive(Clone)]
pub struct Param(pub(crate) Value, pub(crate) Option<Type>);

/// The value itself: the common fixed-size scalars inline (binding a key allocates nothing),
/// everything else shared.
#[derive(Clone)]
pub(crate) enum Value {
    I16(i16),
    I32(i32),
    I64(i64),
    Bool(bool),
    F64(f64),
    Uuid(uuid::Uuid),
    Shared(Arc<dyn ToSql + Send + Sync>),
}

impl Value {
    fn shared<T: ToSql + Send + Sync + 'static>(value: T) -> Self {
        Value::Shared(Arc::new(value))
    }
}

impl Param {
    /// Wraps any value tokio-postgres can serialize (its PostgreSQL type left to the server).
    pub fn new<T: ToSql + Send + Sync + 'static>(value: T) -> Self {
        Param(Value::shared(value), None)
    }

    /// Wraps a value with its PostgreSQL type.
    pub fn typed<T: ToSql + Send + Sync + 'static>(value: T, ty: Type) -> Self {
        Param(Value::shared(value), Some(ty))
    }

    /// The value as tokio-postgres takes it. A parameter the server types as a domain is
    /// written as the domain's base type (tokio-postgres's own impls refuse domains).
    pub fn as_sql(&self) -> &(dyn ToSql + Sync) {
        self
    }

    /// The value itself.
    fn value(&self) -> &(dyn ToSql + Sync) {
        match &self.0 {
            Value::I16(v) => v,
            Value::I32(v) => v,
            Value::I64(v) => v,
            Value::Bool(v) => v,
            Value::F64(v) => v,
            Value::Uuid(v) => v,
            Value::Shared(v) => &**v,
        }
    }

    /// The PostgreSQL type, when known.
    pub fn sql_type(&self) -> Option<&Type> {
        self.1.as_ref()
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql_checked(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    /// Writes the value, then refuses what PostgreSQL would refuse without saying which parameter
    /// it was (a NUL in text, a jsonb string holding U+0000) or by closing the connection (a
    /// message over its limit): the driver then sends nothing, and the error names the parameter.
    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let ty = match ty.kind() {
            postgres_types::Kind::Domain(base) => base,
            _ => ty,
        };
        let start = out.len();
        let written = self.value().to_sql_checked(ty, out)?;
        if matches!(written, postgres_types::IsNull::No) {
            check_sent(ty, &out[start..])?;
        }
        if out.len() > MESSAGE_LIMIT {
            return Err(Box::new(Refused(format!(
                "brings the statement's parameters to {} MB, over the 1 GB PostgreSQL takes in one message; \
                 send the data in parts (several statements, or COPY)",
                out.len() >> 20
            ))));
        }
        Ok(written)
    }
}

/// The most PostgreSQL reads as one message (`PQ_LARGE_MESSAGE_LIMIT`: 1 GB less 2 bytes); a
/// larger one makes it close the connection, with the reason in its log only.
const MESSAGE_LIMIT: usize = 0x3fff_fffe;

/// Why a parameter value is not sent: found while it is written, before anything is sent. Becomes
/// [`Error::InvalidParameter`](crate::Error::InvalidParameter), naming the parameter.
#[derive(Debug)]
pub(crate) struct Refused(pub(crate) String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Refuses a value written as `ty` (its binary form `bytes`) that PostgreSQL cannot store: text
/// with a NUL byte, jsonb holding the escape `\u0000`, and arrays with such elements.
fn check_sent(ty: &Type, bytes: &[u8]) -> Result<(), Refused> {
    match ty.kind() {
        postgres_types::Kind::Array(member) if holds_text(member) => {
            let member = match member.kind() {
                postgres_types::Kind::Domain(base) => base,
                _ => member,
            };
            for (i, element) in array_elements(bytes).enumerate() {
                check_sent(member, element)
                    .map_err(|Refused(why)| Refused(format!("has element {}, which {why}", i + 1)))?;
            }
            Ok(())
        }
        _ if is_text(ty) && bytes.contains(&0) => Err(Refused(
            "is text containing a NUL byte (0x00), which PostgreSQL text cannot store; remove it, or use a bytea column"
                .into(),
        )),
        _ if *ty == Type::JSONB && has_nul_escape(bytes) => Err(Refused(
            "is jsonb holding the character U+0000 (\\u0000), which jsonb cannot store; remove it, or use a json column"
                .into(),
        )),
        _ => Ok(()),
    }
}

fn is_text(ty: &Type) -> bool {
    [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) || ty.name() == "citext"
}

/// Text-bearing, so checked element by element inside an array.
fn holds_text(ty: &Type) -> bool {
    let base = match ty.kind() {
        postgres_types::Kind::Domain(base) => base,
        _ => ty,
    };
    is_text(base) || *base == Type::JSONB
}

/// The elements (not the NULL ones) of an array in PostgreSQL's binary format.
fn array_elements(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let word = |at: usize| bytes.get(at..at + 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let dimensions = word(0).unwrap_or(0).max(0) as usize;
    let mut at = 12 + 8 * dimensions;
    std::iter::from_fn(move || {
        loop {
            let len = word(at)?;
            at += 4;
            if len >= 0 {
                let element = bytes.get(at..at + len as usize)?;
                at += len as usize;
                return Some(element);
            }
        }
    })
}

/// True when JSON text (after jsonb's version byte) holds the escape `\u0000`: `u0000` after an
/// odd run of backslashes.
fn has_nul_escape(jsonb: &[u8]) -> bool {
    let text = jsonb.get(1..).unwrap_or_default();
    text.windows(5)
        .enumerate()
        .any(|(i, w)| w == b"u0000" && text[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1)
}

/// Values of one column as a single array parameter (`INSERT .. SELECT * FROM UNNEST($1::t[], ..)`),
/// written in PostgreSQL's binary array format element by element, each by its own `ToSql`.
#[derive(Debug)]
pub(crate) struct ParamArray(pub(crate) Vec<Param>);

impl ToSql for ParamArray {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use bytes::BufMut as _;
        let postgres_types::Kind::Array(member) = ty.kind() else {
            return Err(format!("expected an array type, got {ty}").into());
        };
        out.put_i32(1); // one dimension
        let has_nulls = out.len();
        out.put_i32(0);
        out.put_u32(member.oid());
        out.put_i32(i32::try_from(self.0.len())?);
        out.put_i32(1); // lower bound
        for value in &self.0 {
            let at = out.len();
            out.put_i32(0);
            match value.as_sql().to_sql_checked(member, out)? {
                postgres_types::IsNull::No => {
                    let len = i32::try_from(out.len() - at - 4)?;
                    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
                }
                postgres_types::IsNull::Yes => {
                    out[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
                    out[has_nulls..has_nulls + 4].copy_from_slice(&1i32.to_be_bytes());
                }
            }
        }
        Ok(postgres_types::IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.kind(), postgres_types::Kind::Array(_))
    }

    postgres_types::to_sql_checked!();
}

impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

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

/// An `interval`: months, days and microseconds, kept apart as PostgreSQL keeps them (a month is not
/// a fixed number of days, nor a day of hours across a DST change), so every value round-trips.
///
/// ```
/// use taulu::Interval;
/// let retention = Interval::days(30);
/// assert_eq!(retention, Interval { months: 0, days: 30, microseconds: 0 });
/// assert_eq!(Interval::from(std::time::Duration::from_millis(1500)).microseconds, 1_500_000);
/// assert_eq!(Interval::months(1).to_string(), "1 mons");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Interval {
    /// Whole months (years are 12 months).
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// The time part, in microseconds.
    pub microseconds: i64,
}

impl Interval {
    /// `n months`.
    pub fn months(n: i32) -> Self {
        Interval { months: n, ..Self::default() }
    }

    /// `n days`.
    pub fn days(n: i32) -> Self {
        Interval { days: n, ..Self::default() }
    }

    /// `n` microseconds.
    pub fn microseconds(n: i64) -> Self {
        Interval { microseconds: n, ..Self::default() }
    }
}

/// A fixed duration, as microseconds (saturating at `i64::MAX`, about 292,000 years).
impl From<std::time::Duration> for Interval {
    fn from(d: std::time::Duration) -> Self {
        Interval::microseconds(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

/// The parts as PostgreSQL's `postgres` interval style prints them when each is present
/// (`1 mons 2 days 00:00:03.5` reads as `1 mons 2 days 3500000 us` here): for logs, not parsing.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.months != 0 {
            parts.push(format!("{} mons", self.months));
        }
        if self.days != 0 {
            parts.push(format!("{} days", self.days));
        }
        if self.microseconds != 0 || parts.is_empty() {
            parts.push(format!("{} us", self.microseconds));
        }
        f.write_str(&parts.join(" "))
    }
}

impl<'a> postgres_types::FromSql<'a> for Interval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        // Binary format: microseconds (i64), days (i32), months (i32), big-endian.
        let raw: &[u8; 16] = raw.try_into().map_err(|_| format!("an interval is 16 bytes, got {}", raw.len()))?;
        let (micros, rest) = raw.split_at(8);
        let (days, months) = rest.split_at(4);
        Ok(Interval {
            microseconds: i64::from_be_bytes(micros.try_into().expect("8 bytes")),
            days: i32::from_be_bytes(days.try_into().expect("4 bytes")),
            months: i32::from_be_bytes(months.try_into().expect("4 bytes")),
        })
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

impl ToSql for Interval {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.microseconds.to_be_bytes());
        out.extend_from_slice(&self.days.to_be_bytes());
        out.extend_from_slice(&self.months.to_be_bytes());
        Ok(postgres_types::IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    postgres_types::to_sql_checked!();
}

/// The value of a column whose type has no Rust mapping (`tsvector`, `money`, ranges,
/// `bit varying`, geometric types, a composite or range type of the migrations, ..): PostgreSQL's
/// binary representation of it, with the type's name. Read it from a row, and write it back to a
/// column of the same type; anything else is a job for SQL (`sql::<String>("{}::text")`), which
/// can turn such a value into a mapped one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Raw {
    /// The PostgreSQL type's name (`tsvector`).
    pub type_name: String,
    /// The value in PostgreSQL's binary format for that type.
    pub bytes: Vec<u8>,
}

impl<'a> postgres_types::FromSql<'a> for Raw {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw { type_name: ty.name().to_owned(), bytes: raw.to_vec() })
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl ToSql for Raw {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if ty.name() != self.type_name {
            return Err(format!("a raw {} value cannot be sent as a {}", self.type_name, ty.name()).into());
        }
        out.extend_from_slice(&self.bytes);
        Ok(postgres_types::IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres_types::to_sql_checked!();
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
