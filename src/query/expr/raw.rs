//! The raw SQL escape hatch as a typed expression: `sql::<T>("text with {} placeholders")`, the
//! Rust type stated by the caller, each `{}` filled by a bound value ([`Sql::bind`]) or by an
//! expression of the query ([`Sql::arg`], scope-checked like any other). Always parenthesised when
//! composed with other expressions.

use std::marker::PhantomData;

use postgres_types::ToSql;

use super::{Aggregation, ExprIn, Expression, Plain, RawValue};
use crate::query::{
    NotNull,
    render::{Node, RawPart},
    value::Param,
};

/// A raw SQL fragment of Rust type `T` with `{}` placeholders (`{{` and `}}` are literal braces);
/// `A` lists the expressions given with [`arg`](Sql::arg). The text must come from the program,
/// never from input. Every `{}` needs exactly one `bind` or `arg`, in order; a mismatch renders
/// `$0`, which PostgreSQL rejects ("there is no parameter $0").
///
/// In a condition the type is inferred (`bool`); elsewhere state it: `sql::<i64>("..")`. A fragment
/// is read as NOT NULL; add `.nullable()` when it can be NULL.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::sql;
/// # use taulu_app::schema;
/// use schema::{Users, users};
/// let q = select_from::<Users>()
///     .columns((users::id, sql::<String>("upper({})").arg(users::username).as_("shout")))
///     .where_(sql("lower({}) = lower({})").arg(users::email).bind("Ann@Example.com"));
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "users"."id", upper("users"."username") AS "shout" FROM "users" WHERE lower("users"."email") = lower($1)"#
/// );
/// ```
#[must_use]
pub struct Sql<T, A = ()> {
    text: &'static str,
    /// One entry per `bind` / `arg` call in order: a value, or `None` for the next argument.
    pieces: Vec<Option<Param>>,
    args: A,
    _t: PhantomData<fn() -> T>,
}

/// `true`, as a join condition: `ON true`, the condition of a LATERAL join that keeps every row
/// (`left_join_derived(latest, on_true())`).
pub fn on_true() -> Sql<bool> {
    sql("true")
}

/// Starts a raw SQL fragment; see [`Sql`].
pub fn sql<T>(text: &'static str) -> Sql<T> {
    Sql { text, pieces: Vec::new(), args: (), _t: PhantomData }
}

impl<T, A> Sql<T, A> {
    /// Binds the value for the next `{}`: any type the builder binds, or an `Option` of one
    /// (see [`RawValue`]); it is sent with its PostgreSQL type.
    pub fn bind<V: RawValue>(mut self, value: V) -> Self {
        self.pieces.push(Some(value.into_param()));
        self
    }

    /// Binds a value of a type taulu does not map (a `ToSql` type of your own) for the next
    /// `{}`, stating its PostgreSQL type.
    ///
    /// ```
    /// use taulu::query::sql;
    /// use tokio_postgres::types::Type;
    /// let ids: &'static [i32] = &[1, 2];
    /// let cond = sql::<bool>("{} = ANY({})").bind(2).bind_as(ids, Type::INT4_ARRAY);
    /// # let _ = cond;
    /// ```
    pub fn bind_as<V: ToSql + Send + Sync + 'static>(mut self, value: V, ty: postgres_types::Type) -> Self {
        self.pieces.push(Some(Param::typed(value, ty)));
        self
    }

    /// Writes the expression (a column, a function call, ..) at the next `{}`.
    pub fn arg<E: Expression>(mut self, expr: E) -> Sql<T, (A, E)> {
        self.pieces.push(None);
        Sql { text: self.text, pieces: self.pieces, args: (self.args, expr), _t: PhantomData }
    }
}

/// The expressions of a fragment, as a nested list (`((), a), b)`).
pub trait RawArgs {
    /// Aggregate use over every argument.
    type Kind: Aggregation;
    #[doc(hidden)]
    fn push(self, out: &mut Vec<Node>);
}

impl RawArgs for () {
    type Kind = Plain;
    fn push(self, _: &mut Vec<Node>) {}
}

impl<P: RawArgs, E: Expression> RawArgs for (P, E) {
    type Kind = <P::Kind as Aggregation>::Or<E::Kind>;
    fn push(self, out: &mut Vec<Node>) {
        self.0.push(out);
        out.push(self.1.into_node());
    }
}

/// The expressions of a fragment, over scope `S`.
pub trait RawArgsIn<S, I>: RawArgs {}

impl<S> RawArgsIn<S, ()> for () {}

impl<S, IP, IE, P: RawArgsIn<S, IP>, E: ExprIn<S, IE>> RawArgsIn<S, (IP, IE)> for (P, E) {}

impl<T: 'static, A: RawArgs> Expression for Sql<T, A> {
    type Rust = T;
    type Kind = A::Kind;
    fn into_node(self) -> Node {
        let mut args = Vec::new();
        self.args.push(&mut args);
        let mut args = args.into_iter();
        let mut pieces = self.pieces.into_iter();
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = self.text.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, chars.peek()) {
                ('{', Some('{')) | ('}', Some('}')) => {
                    chars.next();
                    text.push(c);
                }
                ('{', Some('}')) => {
                    chars.next();
                    parts.push(RawPart::Text(std::mem::take(&mut text)));
                    // A placeholder without a value renders `$0`, which PostgreSQL rejects with
                    // "there is no parameter $0": a mismatch fails loudly, never silently.
                    match pieces.next() {
                        Some(Some(v)) => parts.push(RawPart::Param(v)),
                        Some(None) => parts.push(RawPart::Node(args.next().unwrap_or(Node::Keyword("$0")))),
                        None => parts.push(RawPart::Text("$0".into())),
                    }
                }
                _ => text.push(c),
            }
        }
        if pieces.next().is_some() {
            text.push_str(" $0"); // more values than placeholders: fail the same way
        }
        parts.push(RawPart::Text(text));
        Node::Raw(parts)
    }
}

impl<S, I, T: 'static, A: RawArgsIn<S, I>> ExprIn<S, I> for Sql<T, A> {
    type Null = NotNull;
}
