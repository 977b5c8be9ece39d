//! Select lists: what a select list or RETURNING holds ([`SelectItemOf`]: any expression in scope,
//! or one with an alias), tuples of them ([`Selection`]) and the rows they read as, and every
//! table's row at once ([`AllRows`], for `all()` over joins). Builds on `expr`; the statement
//! builders build on this.

use tokio_postgres::types::FromSql;

use super::{
    Expression, FromRow, NotNull, Nullability, Nullable, Table,
    expr::{AliasName, As, ExprIn},
    render::{Node, SelectItem},
    scope::{Cons, Entry, ScopeEnd},
    shape::{Bits, Fill},
    value::Param,
};
use crate::Error;

/// One item of a select list over scope `S`: an expression (reads as `Out`: `Option<T>` when it
/// can be NULL there), or an expression with an alias.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be selected in this query",
    label = "not a column or expression over this query's tables",
    note = "a column must come from a table in FROM/JOIN (in INSERT/UPDATE/DELETE: the statement's table)"
)]
pub trait SelectItemOf<S, I> {
    /// The Rust type it reads as.
    type Out;
    #[doc(hidden)]
    fn item(self) -> SelectItem;
    /// See [`Expression::shape_bits`](super::Expression::shape_bits).
    #[doc(hidden)]
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        let _ = bits;
        false
    }
    /// See [`Expression::shape`](super::Expression::shape).
    #[doc(hidden)]
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> SelectItem {
        let _ = (bits, fill);
        unreachable!("only an item whose shape_bits said true is shaped")
    }
    /// See [`Expression::bind`](super::Expression::bind).
    #[doc(hidden)]
    fn bind(self, params: &mut Vec<Param>);
}

impl<S, I, E: ExprIn<S, I>> SelectItemOf<S, I> for E {
    type Out = <E::Null as Nullability>::Wrap<E::Rust>;
    fn item(self) -> SelectItem {
        SelectItem { node: self.into_node(), alias: None }
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        Expression::shape_bits(self, bits)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> SelectItem {
        SelectItem { node: E::shape(bits, fill), alias: None }
    }
    fn bind(self, params: &mut Vec<Param>) {
        Expression::bind(self, params);
    }
}

impl<S, I, E: ExprIn<S, I>, N: AliasName> SelectItemOf<S, I> for As<E, N> {
    type Out = <E::Null as Nullability>::Wrap<E::Rust>;
    fn item(self) -> SelectItem {
        SelectItem { node: self.item.into_node(), alias: Some(self.alias.name()) }
    }
    fn bind(self, _: &mut Vec<Param>) {
        unreachable!("an aliased item is never shaped")
    }
}

/// A tuple of select items over scope `S`; `Row` is the tuple of their Rust types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of columns from this query's tables",
    label = "expected a tuple of 1 to 16 columns or expressions",
    note = "a single column is written as a 1-tuple: `.columns((users::id,))`"
)]
pub trait Selection<S, I> {
    /// The row type.
    type Row;
    #[doc(hidden)]
    fn items(self, out: &mut Vec<SelectItem>);
    /// See [`Expression::shape_bits`](super::Expression::shape_bits).
    #[doc(hidden)]
    fn shape_bits(&self, bits: &mut Bits) -> bool;
    /// The items' nodes (see [`Expression::shape`](super::Expression::shape)).
    #[doc(hidden)]
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>, out: &mut Vec<SelectItem>);
    /// See [`Expression::bind`](super::Expression::bind).
    #[doc(hidden)]
    fn bind(self, params: &mut Vec<Param>);
}

macro_rules! tuples {
    ($( ($($t:ident $i:ident $n:tt),+) )+) => {$(
        impl<S, $($t, $i),+> Selection<S, ($($i,)+)> for ($($t,)+)
        where $($t: SelectItemOf<S, $i>),+
        {
            type Row = ($($t::Out,)+);
            fn items(self, out: &mut Vec<SelectItem>) {
                $( out.push(self.$n.item()); )+
            }
            fn shape_bits(&self, bits: &mut Bits) -> bool {
                $( self.$n.shape_bits(bits) )&&+
            }
            fn shape(bits: &mut Bits, fill: &mut Fill<'_>, out: &mut Vec<SelectItem>) {
                $( out.push($t::shape(bits, fill)); )+
            }
            fn bind(self, params: &mut Vec<Param>) {
                $( self.$n.bind(params); )+
            }
        }

        impl<$($t),+> FromRow for ($($t,)+)
        where $($t: for<'a> FromSql<'a>),+
        {
            fn from_row_at(row: &tokio_postgres::Row, start: usize) -> Result<Self, Error> {
                // `try_get` written out, not through a shared helper (`__private::get`): the
                // helper cost ~1 M more rustc instructions per builder query in a debug build
                // (`COMPILE_BENCH_INSTRUCTIONS=1 cargo bench --bench compile_cost`, measured).
                // `sql!`'s `Cols1`..`Cols32` read columns the same way.
                Ok(($(row.try_get::<_, $t>(start + $n).map_err(Error::Db)?,)+))
            }
        }
    )+};
}

tuples! {
    (A0 I0 0)
    (A0 I0 0, A1 I1 1)
    (A0 I0 0, A1 I1 1, A2 I2 2)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8, A9 I9 9)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8, A9 I9 9, A10 I10 10)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8, A9 I9 9, A10 I10 10, A11 I11 11)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8, A9 I9 9, A10 I10 10, A11 I11 11, A12 I12 12)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8, A9 I9 9, A10 I10 10, A11 I11 11, A12 I12 12, A13 I13 13)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8, A9 I9 9, A10 I10 10, A11 I11 11, A12 I12 12, A13 I13 13, A14 I14 14)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5, A6 I6 6, A7 I7 7, A8 I8 8, A9 I9 9, A10 I10 10, A11 I11 11, A12 I12 12, A13 I13 13, A14 I14 14, A15 I15 15)
}

/// The columns of table `T` (every one, in table order) as select items.
pub(crate) fn table_items<T: Table>(out: &mut Vec<SelectItem>) {
    out.extend(
        T::COLUMNS
            .iter()
            .map(|c| SelectItem { node: Node::Column { table: T::QUALIFIER, column: c, quoted: None }, alias: None }),
    );
}

/// A value of any SQL type, read only to see whether it is NULL.
struct AnyValue;

impl<'a> FromSql<'a> for AnyValue {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        _: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(AnyValue)
    }
    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}

/// How one table's row is read in a joined result: as itself, or, left-joined, as `None` when
/// every one of its columns is NULL (no matching row; exact whenever the table has a NOT NULL
/// column, such as its primary key).
pub trait ReadSlot: Nullability {
    /// The select items of table `T` in this slot.
    #[doc(hidden)]
    fn items<T: Table>(out: &mut Vec<SelectItem>);
    /// How many result columns those items are.
    #[doc(hidden)]
    fn width<T: Table>() -> usize;
    #[doc(hidden)]
    fn read<T: Table>(row: &tokio_postgres::Row, start: usize) -> Result<Self::Wrap<T::Row>, Error>;
}

impl ReadSlot for NotNull {
    fn items<T: Table>(out: &mut Vec<SelectItem>) {
        table_items::<T>(out);
    }
    fn width<T: Table>() -> usize {
        T::COLUMNS.len()
    }
    fn read<T: Table>(row: &tokio_postgres::Row, start: usize) -> Result<T::Row, Error> {
        T::Row::from_row_at(row, start)
    }
}

/// Whether a left-joined `T` needs a presence marker: a matched row of `T` can be all NULL (a
/// derived table, a view or a table whose every column is nullable), so NULL columns alone
/// cannot tell it from no match. The marker is `"T" IS DISTINCT FROM NULL`, true for any matched
/// row (its whole-row value is a row) and false for no match (the NULL row).
fn needs_marker<T: Table>() -> bool {
    T::INFO.columns.iter().all(|c| c.nullable)
}

impl ReadSlot for Nullable {
    fn items<T: Table>(out: &mut Vec<SelectItem>) {
        if needs_marker::<T>() {
            let marker = Node::Postfix(Box::new(Node::WholeRow(T::QUALIFIER)), "IS DISTINCT FROM NULL");
            out.push(SelectItem { node: marker, alias: None });
        }
        table_items::<T>(out);
    }
    fn width<T: Table>() -> usize {
        T::COLUMNS.len() + usize::from(needs_marker::<T>())
    }
    fn read<T: Table>(row: &tokio_postgres::Row, start: usize) -> Result<Option<T::Row>, Error> {
        if needs_marker::<T>() {
            let present: bool = row.try_get(start)?;
            return if present { T::Row::from_row_at(row, start + 1).map(Some) } else { Ok(None) };
        }
        let absent =
            (start..start + T::COLUMNS.len()).all(|i| matches!(row.try_get::<_, Option<AnyValue>>(i), Ok(None)));
        if absent { Ok(None) } else { T::Row::from_row_at(row, start).map(Some) }
    }
}

/// Every table of a scope, in FROM/JOIN order: `all()` selects each one's columns and reads
/// `T::Row` for one table, else a tuple of rows (`Option` for left-joined tables).
#[diagnostic::on_unimplemented(
    message = "`all()` reads the rows of up to 6 tables",
    label = "this query joins more tables than `all()` supports",
    note = "list the columns with `.columns((..))`"
)]
pub trait AllRows {
    /// The Rust value of one result row.
    type Rows;
    #[doc(hidden)]
    fn items(out: &mut Vec<SelectItem>);
    #[doc(hidden)]
    fn read(row: &tokio_postgres::Row) -> Result<Self::Rows, Error>;
}

impl<T: Table, E: ScopeEnd> AllRows for Cons<Entry<T, NotNull>, E> {
    type Rows = T::Row;
    fn items(out: &mut Vec<SelectItem>) {
        table_items::<T>(out);
    }
    fn read(row: &tokio_postgres::Row) -> Result<T::Row, Error> {
        T::Row::from_row(row)
    }
}

macro_rules! scope {
    () => { E };
    ($t:ident $n:ident $(, $rt:ident $rn:ident)*) => { Cons<Entry<$t, $n>, scope!($($rt $rn),*)> };
}

macro_rules! all_rows {
    ($( [$($t:ident $n:ident),+] [$($rt:ident $rn:ident),+] )+) => {$(
        impl<$($t: Table, $n: ReadSlot,)+ E: ScopeEnd> AllRows for scope!($($rt $rn),+) {
            type Rows = ($(<$n as Nullability>::Wrap<$t::Row>,)+);
            fn items(out: &mut Vec<SelectItem>) {
                $( <$n as ReadSlot>::items::<$t>(out); )+
            }
            #[allow(unused_assignments)]
            fn read(row: &tokio_postgres::Row) -> Result<Self::Rows, Error> {
                let mut start = 0;
                Ok(($({
                    let r = <$n as ReadSlot>::read::<$t>(row, start)?;
                    start += <$n as ReadSlot>::width::<$t>();
                    r
                },)+))
            }
        }
    )+};
}

all_rows! {
    [T1 N1, T2 N2] [T2 N2, T1 N1]
    [T1 N1, T2 N2, T3 N3] [T3 N3, T2 N2, T1 N1]
    [T1 N1, T2 N2, T3 N3, T4 N4] [T4 N4, T3 N3, T2 N2, T1 N1]
    [T1 N1, T2 N2, T3 N3, T4 N4, T5 N5] [T5 N5, T4 N4, T3 N3, T2 N2, T1 N1]
    [T1 N1, T2 N2, T3 N3, T4 N4, T5 N5, T6 N6] [T6 N6, T5 N5, T4 N4, T3 N3, T2 N2, T1 N1]
}
