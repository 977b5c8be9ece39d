//! `COPY .. FROM STDIN (FORMAT binary)` of generated `Insert` rows: the bulk-load path, streamed
//! (rows are encoded as the iterator yields them, flushed in 4 KiB pieces), with each column's
//! type taken from the server so enums, domains and extension types encode as they do in a
//! statement.

use tokio_postgres::{Client, binary_copy::BinaryCopyInWriter, types::ToSql};

use crate::{
    error::Error,
    local::quote_ident,
    query::{InsertValue, Insertable, Table},
};

/// Why a COPY stopped: the driver's error (classified by the caller, who knows its connection),
/// or rows taulu refused.
pub(super) enum CopyFailed {
    Pg(tokio_postgres::Error),
    Rows(Error),
}

impl From<tokio_postgres::Error> for CopyFailed {
    fn from(e: tokio_postgres::Error) -> Self {
        CopyFailed::Pg(e)
    }
}

/// Copies `rows` into their table on `client`, which must be inside a transaction (the column
/// types are asked first, and the two steps must reach the same server session, PgBouncer
/// included). Returns the number of rows copied. A row whose columns differ from the first
/// row's ends the COPY unapplied.
pub(super) async fn copy_in<I: Insertable>(
    client: &Client,
    rows: impl IntoIterator<Item = I>,
) -> Result<u64, CopyFailed> {
    let mut rows = rows.into_iter();
    let Some(first) = rows.next() else { return Ok(0) };
    let first = first.into_values();
    let columns: Vec<&'static str> = first.iter().map(|v| v.column).collect();
    let table = format!("{}.{}", quote_ident(<I::Table as Table>::SCHEMA), quote_ident(<I::Table as Table>::NAME));
    let list = columns.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ");
    let probe = client.prepare(&format!("SELECT {list} FROM {table} LIMIT 0")).await?;
    let types: Vec<_> = probe.columns().iter().map(|c| c.type_().clone()).collect();
    let sink = client.copy_in(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)")).await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
    writer.as_mut().write(&refs(&first)).await?;
    for (i, row) in rows.enumerate() {
        let values = row.into_values();
        if values.len() != columns.len() || values.iter().zip(&columns).any(|(v, c)| v.column != *c) {
            // Dropping the writer unfinished aborts the COPY: nothing of it is applied.
            let found = values.iter().map(|v| v.column).collect();
            return Err(CopyFailed::Rows(Error::CopyColumns { row: i as u64 + 2, expected: columns, found }));
        }
        writer.as_mut().write(&refs(&values)).await?;
    }
    Ok(writer.finish().await?)
}

fn refs(values: &[InsertValue]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v.value.as_sql()).collect()
}
