//! Operators: binary (comparison, arithmetic, `||`, LIKE), IS NULL, IN lists, BETWEEN, AND, OR,
//! NOT. Each is a small struct over its operand expressions; nullability and aggregate use follow
//! from the operands.

use std::marker::PhantomData;

use super::{Aggregation, Boolean, ExprIn, Expression};
use crate::query::{
    NotNull, Nullability, Nullable,
    render::Node,
    shape::{Bits, Fill},
    value::Param,
};

/// A bound value next to an expression takes that expression's cast (a domain's base type).
#[inline]
pub(crate) fn with_cast(node: Node, cast: Option<&'static str>) -> Node {
    match node {
        Node::Param(p, None) => Node::Param(p, cast),
        Node::Slot(n, None) => Node::Slot(n, cast),
        other => other,
    }
}

/// A binary operator (five bits of a query's shape: see `shape.rs`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Concat,
    Like,
    ILike,
    IsDistinctFrom,
    Get,
    GetText,
    Path,
    PathText,
    Contains,
    ContainedBy,
    Overlaps,
    HasKey,
    HasAll,
    HasAny,
}

impl Op {
    const ALL: [Op; 25] = [
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Le,
        Op::Gt,
        Op::Ge,
        Op::Add,
        Op::Sub,
        Op::Mul,
        Op::Div,
        Op::Rem,
        Op::Concat,
        Op::Like,
        Op::ILike,
        Op::IsDistinctFrom,
        Op::Get,
        Op::GetText,
        Op::Path,
        Op::PathText,
        Op::Contains,
        Op::ContainedBy,
        Op::Overlaps,
        Op::HasKey,
        Op::HasAll,
        Op::HasAny,
    ];

    pub(crate) fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Rem => "%",
            Op::Concat => "||",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
            Op::IsDistinctFrom => "IS DISTINCT FROM",
            Op::Get => "->",
            Op::GetText => "->>",
            Op::Path => "#>",
            Op::PathText => "#>>",
            Op::Contains => "@>",
            Op::ContainedBy => "<@",
            Op::Overlaps => "&&",
            Op::HasKey => "?",
            Op::HasAll => "?&",
            Op::HasAny => "?|",
        }
    }
}

/// `a op b`, of Rust type `R` (`bool` for comparisons, the operands' type for arithmetic).
#[must_use]
pub struct Binary<A, B, R> {
    a: A,
    op: Op,
    b: B,
    _r: PhantomData<fn() -> R>,
}

impl<A, B, R> Binary<A, B, R> {
    pub(crate) fn new(a: A, op: Op, b: B) -> Self {
        Binary { a, op, b, _r: PhantomData }
    }
}

impl<A: Expression, B: Expression, R: 'static> Expression for Binary<A, B, R> {
    type Rust = R;
    type Kind = <A::Kind as Aggregation>::Or<B::Kind>;
    fn into_node(self) -> Node {
        let a = with_cast(self.a.into_node(), B::CAST);
        let b = with_cast(self.b.into_node(), A::CAST);
        Node::binary(a, self.op.text(), b)
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        self.a.shape_bits(bits) && bits.push(self.op as u32, 5) && self.b.shape_bits(bits)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
        let a = with_cast(A::shape(bits, fill), B::CAST);
        let op = Op::ALL[bits.take(5) as usize];
        let b = with_cast(B::shape(bits, fill), A::CAST);
        Node::binary(a, op.text(), b)
    }
    fn bind(self, params: &mut Vec<Param>) {
        self.a.bind(params);
        self.b.bind(params);
    }
}

impl<S, IA, IB, A: ExprIn<S, IA>, B: ExprIn<S, IB>, R: 'static> ExprIn<S, (IA, IB)> for Binary<A, B, R> {
    type Null = <A::Null as Nullability>::Or<B::Null>;
}

/// `x IS [NOT] NULL`: never NULL itself.
#[must_use]
pub struct IsNull<A> {
    a: A,
    negated: bool,
}

impl<A> IsNull<A> {
    pub(crate) fn new(a: A, negated: bool) -> Self {
        IsNull { a, negated }
    }
}

impl<A: Expression> Expression for IsNull<A> {
    type Rust = bool;
    type Kind = A::Kind;
    fn into_node(self) -> Node {
        Node::Postfix(Box::new(self.a.into_node()), if self.negated { "IS NOT NULL" } else { "IS NULL" })
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        self.a.shape_bits(bits) && bits.push(u32::from(self.negated), 1)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
        let a = A::shape(bits, fill);
        Node::Postfix(Box::new(a), if bits.take(1) == 1 { "IS NOT NULL" } else { "IS NULL" })
    }
    fn bind(self, params: &mut Vec<Param>) {
        self.a.bind(params);
    }
}

impl<S, I, A: ExprIn<S, I>> ExprIn<S, I> for IsNull<A> {
    type Null = NotNull;
}

/// `x = ANY($1)` / `x <> ALL($1)`: `IN` / `NOT IN` over a list bound as one array.
#[must_use]
pub struct InList<A> {
    a: A,
    array: Param,
    negated: bool,
}

impl<A> InList<A> {
    pub(crate) fn new(a: A, array: Param, negated: bool) -> Self {
        InList { a, array, negated }
    }
}

impl<A: Expression> Expression for InList<A> {
    type Rust = bool;
    type Kind = A::Kind;
    fn into_node(self) -> Node {
        Node::AnyArray(Box::new((self.a.into_node(), Node::Param(self.array, None), A::CAST)), self.negated)
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        self.a.shape_bits(bits) && bits.push(u32::from(self.negated), 1)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
        let a = A::shape(bits, fill);
        let array = fill.param(None);
        Node::AnyArray(Box::new((a, array, A::CAST)), bits.take(1) == 1)
    }
    fn bind(self, params: &mut Vec<Param>) {
        self.a.bind(params);
        params.push(self.array);
    }
}

impl<S, I, A: ExprIn<S, I>> ExprIn<S, I> for InList<A> {
    type Null = A::Null;
}

/// `x BETWEEN low AND high`.
#[must_use]
pub struct Between<A, L, H> {
    a: A,
    low: L,
    high: H,
}

impl<A, L, H> Between<A, L, H> {
    pub(crate) fn new(a: A, low: L, high: H) -> Self {
        Between { a, low, high }
    }
}

impl<A: Expression, L: Expression, H: Expression> Expression for Between<A, L, H> {
    type Rust = bool;
    type Kind = <A::Kind as Aggregation>::Or<<L::Kind as Aggregation>::Or<H::Kind>>;
    fn into_node(self) -> Node {
        Node::Between {
            lhs: Box::new(self.a.into_node()),
            low: Box::new(with_cast(self.low.into_node(), A::CAST)),
            high: Box::new(with_cast(self.high.into_node(), A::CAST)),
        }
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        self.a.shape_bits(bits) && self.low.shape_bits(bits) && self.high.shape_bits(bits)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
        let lhs = Box::new(A::shape(bits, fill));
        let low = Box::new(with_cast(L::shape(bits, fill), A::CAST));
        Node::Between { lhs, low, high: Box::new(with_cast(H::shape(bits, fill), A::CAST)) }
    }
    fn bind(self, params: &mut Vec<Param>) {
        self.a.bind(params);
        self.low.bind(params);
        self.high.bind(params);
    }
}

impl<S, IA, IL, IH, A: ExprIn<S, IA>, L: ExprIn<S, IL>, H: ExprIn<S, IH>> ExprIn<S, (IA, IL, IH)> for Between<A, L, H> {
    type Null = <A::Null as Nullability>::Or<<L::Null as Nullability>::Or<H::Null>>;
}

macro_rules! connective {
    ($name:ident, $variant:ident, $doc:literal) => {
        #[doc = $doc]
        #[must_use]
        pub struct $name<A, B>(A, B);

        impl<A, B> $name<A, B> {
            pub(crate) fn new(a: A, b: B) -> Self {
                $name(a, b)
            }
        }

        impl<A: Expression, B: Expression> Expression for $name<A, B> {
            type Rust = bool;
            type Kind = <A::Kind as Aggregation>::Or<B::Kind>;
            fn into_node(self) -> Node {
                Node::$variant(vec![self.0.into_node(), self.1.into_node()])
            }
            fn shape_bits(&self, bits: &mut Bits) -> bool {
                self.0.shape_bits(bits) && self.1.shape_bits(bits)
            }
            fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
                let a = A::shape(bits, fill);
                Node::$variant(vec![a, B::shape(bits, fill)])
            }
            fn bind(self, params: &mut Vec<Param>) {
                self.0.bind(params);
                self.1.bind(params);
            }
        }

        impl<S, IA, IB, A: ExprIn<S, IA>, B: ExprIn<S, IB>> ExprIn<S, (IA, IB)> for $name<A, B>
        where
            A::Rust: Boolean,
            B::Rust: Boolean,
        {
            type Null = <A::Null as Nullability>::Or<B::Null>;
        }
    };
}

connective!(And, And, "`(a AND b)`.");
connective!(Or, Or, "`(a OR b)`.");

/// `NOT (a)`.
#[must_use]
pub struct Not<A>(A);

/// `NOT (condition)`.
pub fn not<A: Expression>(condition: A) -> Not<A>
where
    A::Rust: Boolean,
{
    Not(condition)
}

impl<A: Expression> Expression for Not<A> {
    type Rust = bool;
    type Kind = A::Kind;
    fn into_node(self) -> Node {
        Node::Not(Box::new(self.0.into_node()))
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        self.0.shape_bits(bits)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
        Node::Not(Box::new(A::shape(bits, fill)))
    }
    fn bind(self, params: &mut Vec<Param>) {
        self.0.bind(params);
    }
}

impl<S, I, A: ExprIn<S, I>> ExprIn<S, I> for Not<A> {
    type Null = A::Null;
}

/// An expression read as possibly NULL ([`ExpressionMethods::nullable`](super::ExpressionMethods::nullable)).
#[must_use]
pub struct NullableExpr<E>(E);

impl<E> NullableExpr<E> {
    pub(crate) fn new(e: E) -> Self {
        NullableExpr(e)
    }
}

impl<E: Expression> Expression for NullableExpr<E> {
    type Rust = E::Rust;
    type Kind = E::Kind;
    const CAST: Option<&'static str> = E::CAST;
    fn into_node(self) -> Node {
        self.0.into_node()
    }
    fn shape_bits(&self, bits: &mut Bits) -> bool {
        self.0.shape_bits(bits)
    }
    fn shape(bits: &mut Bits, fill: &mut Fill<'_>) -> Node {
        E::shape(bits, fill)
    }
    fn bind(self, params: &mut Vec<Param>) {
        self.0.bind(params);
    }
}

impl<S, I, E: ExprIn<S, I>> ExprIn<S, I> for NullableExpr<E> {
    type Null = Nullable;
}
