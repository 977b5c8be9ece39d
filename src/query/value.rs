//! Parameter values as the renderer and the driver see them: [`Param`] (a value with its
//! PostgreSQL type when known), the value checks made before sending, the one-array-per-column form
//! of UNNEST inserts, and the value types taulu adds ([`Interval`], [`Raw`]). Which Rust values a
//! typed expression or column accepts is the typed layer's business (`expr/bind.rs`).

use std::{fmt, sync::Arc};

use postgres_types::{ToSql, Type};

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
    pub(crate) fn shared<T: ToSql + Send + Sync + 'static>(value: T) -> Self {
        Value::Shared(Arc::new(value))
    }
}

impl Param {
    /// Wraps any value tokio-postgres can serialize (its PostgreSQL type left to the server).
    pub fn new<T: ToSql + Send + Sync + 'static>(value: T) -> Self {
        Param(Value::shared(value), None)
    }

    /// A `bigint` (inline: no allocation).
    pub(crate) fn int8(value: i64) -> Self {
        Param(Value::I64(value), Some(Type::INT8))
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
