//! Function calls with PostgreSQL's result types and nullability (`lower`, `coalesce`, `now`, ..),
//! a generic typed call ([`func`]), casts to mapped types and `CASE WHEN`.

use std::marker::PhantomData;

use super::{Aggregation, AsExpr, Condition, ExprIn, Expression, Plain};
use crate::query::{NotNull, Nullability, Nullable, SqlEnum, render::Node};

/// How a function's nullability follows from its arguments'.
pub trait NullRule: 'static {
    /// The result's nullability, given whether any (`Any`) or all (`All`) arguments can be NULL.
    type Out<Any: Nullability, All: Nullability>: Nullability;
}

/// NULL when any argument is (a STRICT function: `lower`, `length`, most of them).
pub struct Strict;
/// NULL only when every argument is (`coalesce`, `greatest`, `least`).
pub struct FirstNonNull;
/// Can be NULL whatever the arguments (`nullif`).
pub struct MayBeNull;
/// Never NULL (`now()`).
pub struct NeverNull;

impl NullRule for Strict {
    type Out<Any: Nullability, All: Nullability> = Any;
}
impl NullRule for FirstNonNull {
    type Out<Any: Nullability, All: Nullability> = All;
}
impl NullRule for MayBeNull {
    type Out<Any: Nullability, All: Nullability> = Nullable;
}
impl NullRule for NeverNull {
    type Out<Any: Nullability, All: Nullability> = NotNull;
}

/// The arguments of a function call: a tuple of expressions.
pub trait Args {
    /// [`Aggregate`](super::Aggregate) if any argument uses one.
    type Kind: Aggregation;
    #[doc(hidden)]
    fn nodes(self) -> Vec<Node>;
}

/// Arguments over the scope `S`.
pub trait ArgsIn<S, I>: Args {
    /// Nullable if any argument is.
    type Any: Nullability;
    /// Nullable if every argument is.
    type All: Nullability;
}

impl Args for () {
    type Kind = Plain;
    fn nodes(self) -> Vec<Node> {
        Vec::new()
    }
}

impl<S> ArgsIn<S, ()> for () {
    type Any = NotNull;
    type All = NotNull;
}

macro_rules! fold {
    ($tr:ident :: $m:ident; $x:ty) => { $x };
    ($tr:ident :: $m:ident; $x:ty, $($rest:ty),+) => { <$x as $tr>::$m<fold!($tr::$m; $($rest),+)> };
}

macro_rules! args {
    ($( ($($a:ident $i:ident $n:tt),+) )+) => {$(
        impl<$($a: Expression),+> Args for ($($a,)+) {
            type Kind = fold!(Aggregation::Or; $($a::Kind),+);
            fn nodes(self) -> Vec<Node> {
                vec![$(self.$n.into_node()),+]
            }
        }

        impl<S, $($a: ExprIn<S, $i>, $i),+> ArgsIn<S, ($($i,)+)> for ($($a,)+) {
            type Any = fold!(Nullability::Or; $($a::Null),+);
            type All = fold!(Nullability::And; $($a::Null),+);
        }
    )+};
}

args! {
    (A0 I0 0)
    (A0 I0 0, A1 I1 1)
    (A0 I0 0, A1 I1 1, A2 I2 2)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4)
    (A0 I0 0, A1 I1 1, A2 I2 2, A3 I3 3, A4 I4 4, A5 I5 5)
}

/// `name(args)` of Rust type `R`, NULL as rule `P` says.
#[must_use]
pub struct Func<A, R, P = Strict> {
    name: &'static str,
    args: A,
    _p: PhantomData<fn() -> (R, P)>,
}

impl<A: Args, R: 'static, P: NullRule> Expression for Func<A, R, P> {
    type Rust = R;
    type Kind = A::Kind;
    fn into_node(self) -> Node {
        Node::Function(self.name, self.args.nodes())
    }
}

impl<S, I, A: ArgsIn<S, I>, R: 'static, P: NullRule> ExprIn<S, I> for Func<A, R, P> {
    type Null = P::Out<A::Any, A::All>;
}

fn call<A, R, P>(name: &'static str, args: A) -> Func<A, R, P> {
    Func { name, args, _p: PhantomData }
}

/// Any SQL function, with its result type stated: `func::<String, _>("initcap", (users::username,))`
/// renders `initcap("users"."username")`. NULL when any argument is (true of STRICT functions, most
/// of them); add `.nullable()` for one that can return NULL otherwise. The name is SQL text from
/// the program, never from input.
pub fn func<R: 'static, A: Args>(name: &'static str, args: A) -> Func<A, R> {
    call(name, args)
}

/// `lower(text)`.
pub fn lower<E: AsExpr<String>>(text: E) -> Func<(E::Expr,), String> {
    call("lower", (text.into_expr(),))
}

/// `upper(text)`.
pub fn upper<E: AsExpr<String>>(text: E) -> Func<(E::Expr,), String> {
    call("upper", (text.into_expr(),))
}

/// `trim(text)`: spaces removed from both ends.
pub fn trim<E: AsExpr<String>>(text: E) -> Func<(E::Expr,), String> {
    call("trim", (text.into_expr(),))
}

/// `length(text)`: the number of characters, as `i32`.
pub fn length<E: AsExpr<String>>(text: E) -> Func<(E::Expr,), i32> {
    call("length", (text.into_expr(),))
}

/// `substring(text, start, count)`: `count` characters from position `start` (1-based).
pub fn substring<E: AsExpr<String>, F: AsExpr<i32>, N: AsExpr<i32>>(
    text: E,
    start: F,
    count: N,
) -> Func<(E::Expr, F::Expr, N::Expr), String> {
    call("substring", (text.into_expr(), start.into_expr(), count.into_expr()))
}

/// `coalesce(a, b)`: `a` unless it is NULL, then `b`; NULL only when both are
/// (`coalesce(users::display_name, users::username)` is never NULL).
pub fn coalesce<A: Expression, B: AsExpr<A::Rust>>(a: A, b: B) -> Func<(A, B::Expr), A::Rust, FirstNonNull> {
    call("coalesce", (a, b.into_expr()))
}

/// `nullif(a, b)`: NULL when `a = b`, else `a`.
pub fn nullif<A: Expression, B: AsExpr<A::Rust>>(a: A, b: B) -> Func<(A, B::Expr), A::Rust, MayBeNull> {
    call("nullif", (a, b.into_expr()))
}

/// `greatest(a, b)`; NULL arguments are ignored (NULL only when both are).
pub fn greatest<A: Expression, B: AsExpr<A::Rust>>(a: A, b: B) -> Func<(A, B::Expr), A::Rust, FirstNonNull> {
    call("greatest", (a, b.into_expr()))
}

/// `least(a, b)`; NULL arguments are ignored (NULL only when both are).
pub fn least<A: Expression, B: AsExpr<A::Rust>>(a: A, b: B) -> Func<(A, B::Expr), A::Rust, FirstNonNull> {
    call("least", (a, b.into_expr()))
}

/// `now()`: the transaction's start time.
pub fn now() -> Func<(), chrono::DateTime<chrono::Utc>, NeverNull> {
    call("now", ())
}

/// An SQL keyword that is a value (`CURRENT_DATE`), of Rust type `R`.
#[must_use]
pub struct Keyword<R>(&'static str, PhantomData<fn() -> R>);

impl<R: 'static> Expression for Keyword<R> {
    type Rust = R;
    type Kind = Plain;
    fn into_node(self) -> Node {
        Node::Keyword(self.0)
    }
}

impl<S, R: 'static> ExprIn<S, ()> for Keyword<R> {
    type Null = NotNull;
}

/// `CURRENT_DATE`.
pub fn current_date() -> Keyword<chrono::NaiveDate> {
    Keyword("CURRENT_DATE", PhantomData)
}

/// `CURRENT_TIMESTAMP` (the same as `now()`).
pub fn current_timestamp() -> Keyword<chrono::DateTime<chrono::Utc>> {
    Keyword("CURRENT_TIMESTAMP", PhantomData)
}

/// A Rust type with a PostgreSQL type to cast to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Rust type taulu maps to a PostgreSQL type",
    label = "cannot cast to this type",
    note = "cast to i16, i32, i64, f32, f64, bool, String, Decimal, Uuid, a chrono date/time type, serde_json::Value, Vec<u8>, IpAddr or a generated enum"
)]
pub trait CastTarget: 'static {
    /// The SQL type name, as written after `AS` / `::`.
    const SQL: &'static str;
}

macro_rules! cast_targets {
    ($($t:ty => $sql:literal,)*) => {$(
        impl CastTarget for $t {
            const SQL: &'static str = $sql;
        }
    )*};
}

cast_targets! {
    i16 => "smallint",
    i32 => "integer",
    i64 => "bigint",
    f32 => "real",
    f64 => "double precision",
    bool => "boolean",
    String => "text",
    rust_decimal::Decimal => "numeric",
    uuid::Uuid => "uuid",
    chrono::NaiveDate => "date",
    chrono::NaiveTime => "time",
    chrono::NaiveDateTime => "timestamp",
    chrono::DateTime<chrono::Utc> => "timestamptz",
    serde_json::Value => "jsonb",
    Vec<u8> => "bytea",
    std::net::IpAddr => "inet",
}

#[diagnostic::do_not_recommend]
impl<E: SqlEnum> CastTarget for E {
    const SQL: &'static str = E::QUOTED;
}

/// `CAST(x AS type)`.
#[must_use]
pub struct Cast<E, T>(E, PhantomData<fn() -> T>);

impl<E, T> Cast<E, T> {
    pub(crate) fn new(e: E) -> Self {
        Cast(e, PhantomData)
    }
}

impl<E: Expression, T: CastTarget> Expression for Cast<E, T> {
    type Rust = T;
    type Kind = E::Kind;
    fn into_node(self) -> Node {
        Node::Cast(Box::new(self.0.into_node()), T::SQL)
    }
}

impl<S, I, E: ExprIn<S, I>, T: CastTarget> ExprIn<S, I> for Cast<E, T> {
    type Null = E::Null;
}

/// `CASE WHEN .. THEN .. [WHEN ..] [ELSE ..] END`: `L` is the list of arms, `E` the ELSE
/// ([`NoElse`] makes the result nullable).
#[must_use]
pub struct Case<L, E> {
    arms: L,
    otherwise: E,
}

/// One `WHEN cond THEN value` arm after the earlier ones (`P`).
pub struct When<P, C, T>(P, C, T);

/// No ELSE: the CASE is NULL when no arm matches.
pub struct NoElse;

/// `CASE WHEN condition THEN value ..`; the arms' values share the first one's type. Without
/// [`else_`](Case::else_) the result can be NULL.
pub fn case_when<C: Expression, T: Expression>(condition: C, then: T) -> Case<When<(), C, T>, NoElse> {
    Case { arms: When((), condition, then), otherwise: NoElse }
}

/// The arms of a CASE.
pub trait Arms {
    /// The value type of every arm.
    type Rust: 'static;
    /// Aggregate use over every arm.
    type Kind: Aggregation;
    #[doc(hidden)]
    fn push(self, out: &mut Vec<(Node, Node)>);
}

impl<C: Expression, T: Expression> Arms for When<(), C, T> {
    type Rust = T::Rust;
    type Kind = <C::Kind as Aggregation>::Or<T::Kind>;
    fn push(self, out: &mut Vec<(Node, Node)>) {
        out.push((self.1.into_node(), self.2.into_node()));
    }
}

impl<P: Arms, C: Expression, T: Expression> Arms for When<P, C, T> {
    type Rust = P::Rust;
    type Kind = <P::Kind as Aggregation>::Or<<C::Kind as Aggregation>::Or<T::Kind>>;
    fn push(self, out: &mut Vec<(Node, Node)>) {
        self.0.push(out);
        out.push((self.1.into_node(), self.2.into_node()));
    }
}

/// The arms of a CASE over the scope `S`.
pub trait ArmsIn<S, I>: Arms {
    /// Nullable if any arm's value is.
    type Null: Nullability;
}

impl<S, IC, IT, C: Condition<S, IC>, T: ExprIn<S, IT>> ArmsIn<S, (IC, IT)> for When<(), C, T> {
    type Null = T::Null;
}

impl<S, IP, IC, IT, P: ArmsIn<S, IP>, C: Condition<S, IC>, T: ExprIn<S, IT>> ArmsIn<S, (IP, IC, IT)> for When<P, C, T> {
    type Null = <P::Null as Nullability>::Or<T::Null>;
}

impl<L: Arms> Case<L, NoElse> {
    /// Another `WHEN condition THEN value` arm.
    pub fn when<C: Expression, T: AsExpr<L::Rust>>(self, condition: C, then: T) -> Case<When<L, C, T::Expr>, NoElse> {
        Case { arms: When(self.arms, condition, then.into_expr()), otherwise: NoElse }
    }

    /// `ELSE value END`.
    pub fn else_<T: AsExpr<L::Rust>>(self, value: T) -> Case<L, T::Expr> {
        Case { arms: self.arms, otherwise: value.into_expr() }
    }
}

impl<L: Arms> Expression for Case<L, NoElse> {
    type Rust = L::Rust;
    type Kind = L::Kind;
    fn into_node(self) -> Node {
        let mut arms = Vec::new();
        self.arms.push(&mut arms);
        Node::Case(None, arms, None)
    }
}

impl<S, I, L: ArmsIn<S, I>> ExprIn<S, I> for Case<L, NoElse> {
    type Null = Nullable;
}

impl<L: Arms, E: Expression> Expression for Case<L, E> {
    type Rust = L::Rust;
    type Kind = <L::Kind as Aggregation>::Or<E::Kind>;
    fn into_node(self) -> Node {
        let mut arms = Vec::new();
        self.arms.push(&mut arms);
        Node::Case(None, arms, Some(Box::new(self.otherwise.into_node())))
    }
}

impl<S, IL, IE, L: ArmsIn<S, IL>, E: ExprIn<S, IE>> ExprIn<S, (IL, IE)> for Case<L, E> {
    type Null = <L::Null as Nullability>::Or<E::Null>;
}

/// `CASE operand WHEN value THEN result .. [ELSE ..] END`, the simple form: each WHEN value has
/// the operand's type, the results share the first one's. Without
/// [`else_`](SimpleCase::else_) the result can be NULL.
///
/// ```
/// use taulu::prelude::*;
/// use taulu::query::case;
/// use taulu_app::schema::{Members, Role, members};
/// let rank = case(members::member_role).when(Role::Owner, val(0i32)).when(Role::Admin, 1).else_(2);
/// let q = select_from::<Members>().columns((members::user_id,)).order_by(rank);
/// assert_eq!(
///     q.to_sql().0,
///     r#"SELECT "members"."user_id" FROM "members" ORDER BY CASE "members"."member_role" WHEN $1 THEN $2::integer WHEN $3 THEN $4::int4 ELSE $5::int4 END"#
/// );
/// ```
pub fn case<X: Expression>(operand: X) -> CaseOf<X> {
    CaseOf(operand)
}

/// `CASE operand` before its first arm; see [`case`].
#[must_use]
pub struct CaseOf<X>(X);

impl<X: Expression> CaseOf<X> {
    /// The first `WHEN value THEN result` arm.
    pub fn when<V: AsExpr<X::Rust>, T: Expression>(
        self,
        value: V,
        then: T,
    ) -> SimpleCase<X, When<(), V::Expr, T>, NoElse> {
        SimpleCase { operand: self.0, arms: When((), value.into_expr(), then), otherwise: NoElse }
    }
}

/// `CASE operand WHEN .. THEN .. END`; see [`case`].
#[must_use]
pub struct SimpleCase<X, L, E> {
    operand: X,
    arms: L,
    otherwise: E,
}

impl<X: Expression, L: Arms> SimpleCase<X, L, NoElse> {
    /// Another `WHEN value THEN result` arm.
    pub fn when<V: AsExpr<X::Rust>, T: AsExpr<L::Rust>>(
        self,
        value: V,
        then: T,
    ) -> SimpleCase<X, When<L, V::Expr, T::Expr>, NoElse> {
        SimpleCase {
            operand: self.operand,
            arms: When(self.arms, value.into_expr(), then.into_expr()),
            otherwise: NoElse,
        }
    }

    /// `ELSE result END`.
    pub fn else_<T: AsExpr<L::Rust>>(self, value: T) -> SimpleCase<X, L, T::Expr> {
        SimpleCase { operand: self.operand, arms: self.arms, otherwise: value.into_expr() }
    }
}

/// The arms of a simple CASE over the scope `S`: values and results over its tables.
pub trait ValueArmsIn<S, I>: Arms {
    /// Nullable if any arm's result is.
    type Null: Nullability;
}

impl<S, IV, IT, V: ExprIn<S, IV>, T: ExprIn<S, IT>> ValueArmsIn<S, (IV, IT)> for When<(), V, T> {
    type Null = T::Null;
}

impl<S, IP, IV, IT, P: ValueArmsIn<S, IP>, V: ExprIn<S, IV>, T: ExprIn<S, IT>> ValueArmsIn<S, (IP, IV, IT)>
    for When<P, V, T>
{
    type Null = <P::Null as Nullability>::Or<T::Null>;
}

impl<X: Expression, L: Arms> Expression for SimpleCase<X, L, NoElse> {
    type Rust = L::Rust;
    type Kind = <X::Kind as Aggregation>::Or<L::Kind>;
    fn into_node(self) -> Node {
        let mut arms = Vec::new();
        self.arms.push(&mut arms);
        Node::Case(Some(Box::new(self.operand.into_node())), arms, None)
    }
}

impl<S, IX, IL, X: ExprIn<S, IX>, L: ValueArmsIn<S, IL>> ExprIn<S, (IX, IL)> for SimpleCase<X, L, NoElse> {
    type Null = Nullable;
}

impl<X: Expression, L: Arms, E: Expression> Expression for SimpleCase<X, L, E> {
    type Rust = L::Rust;
    type Kind = <<X::Kind as Aggregation>::Or<L::Kind> as Aggregation>::Or<E::Kind>;
    fn into_node(self) -> Node {
        let mut arms = Vec::new();
        self.arms.push(&mut arms);
        Node::Case(Some(Box::new(self.operand.into_node())), arms, Some(Box::new(self.otherwise.into_node())))
    }
}

impl<S, IX, IL, IE, X: ExprIn<S, IX>, L: ValueArmsIn<S, IL>, E: ExprIn<S, IE>> ExprIn<S, (IX, IL, IE)>
    for SimpleCase<X, L, E>
{
    type Null = <L::Null as Nullability>::Or<E::Null>;
}
