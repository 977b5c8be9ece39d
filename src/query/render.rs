//! The untyped query tree and the one place SQL text is produced. Builders (select, ...) only
//! assemble [`Node`]s and [`SelectCore`]s; [`Writer`] quotes every identifier and turns every value
//! into a `$n` parameter. Nothing here knows the typed schema.

use super::value::Param;

/// A table as it appears in FROM/JOIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub struct TableRef {
    pub schema: &'static str,
    pub name: &'static str,
    /// `AS "alias"` in FROM / JOIN.
    pub alias: Option<&'static str>,
    /// `schema.name` as written, quoted, when known at compile time.
    pub quoted: Option<&'static str>,
}

/// An expression.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub enum Node {
    /// `"table"."column"` (`quoted`: that text, when known at compile time).
    Column { table: &'static str, column: &'static str, quoted: Option<&'static str> },
    /// `EXCLUDED."column"`: the row proposed for insertion, in ON CONFLICT DO UPDATE.
    Excluded(&'static str),
    /// `$n`, cast to `cast` when the column is domain-typed.
    Param(Param, Option<&'static str>),
    /// The `n`th value (from 0, in bind order) of a shaped query whose text is being rendered
    /// (see `shape.rs`): written as `$k` in text order, and `n` noted in [`Writer::slots`].
    Slot(u16, Option<&'static str>),
    /// `lhs op rhs` (both sides in one allocation).
    Binary(Box<(Node, Node)>, &'static str),
    /// `(a AND b AND ..)`; empty is `true`.
    And(Vec<Node>),
    /// `(a OR b OR ..)`; empty is `false`.
    Or(Vec<Node>),
    /// `NOT (x)`.
    Not(Box<Node>),
    /// `x IS NULL` / `x IS NOT NULL`.
    Postfix(Box<Node>, &'static str),
    /// `x = ANY($1)` / `x <> ALL($1)`: a list as one array parameter (one statement text whatever
    /// the list's length); `cast` is the element type a domain-typed value is cast to.
    /// (Boxed whole: a `Param` inline would make every `Node` larger.)
    /// The array is a [`Param`](Node::Param) or a [`Slot`](Node::Slot).
    AnyArray(Box<(Node, Node, Option<&'static str>)>, bool),
    /// `x [NOT] BETWEEN a AND b`.
    Between { lhs: Box<Node>, low: Box<Node>, high: Box<Node> },
    /// `name(args)`.
    Function(&'static str, Vec<Node>),
    /// `count(*)`.
    CountStar,
    /// `aggregate FILTER (WHERE condition)`.
    Filter(Box<(Node, Node)>),
    /// `NULL`.
    Null,
    /// `x [NOT] IN (SELECT ..)`.
    InSelect { lhs: Box<Node>, select: Box<SelectCore>, negated: bool },
    /// `[NOT] EXISTS (SELECT ..)`.
    Exists { select: Box<SelectCore>, negated: bool },
    /// `(SELECT ..)` as a value.
    Subquery(Box<SelectCore>),
    /// Raw SQL text with bound parameters and expressions in between; parenthesised when it is
    /// an operand.
    Raw(Vec<RawPart>),
    /// `CAST(x AS type)`.
    Cast(Box<Node>, &'static str),
    /// `CASE [operand] WHEN c THEN v .. [ELSE e] END` (with an operand, the simple form: each `c`
    /// a value compared with it).
    Case(Option<Box<Node>>, Vec<(Node, Node)>, Option<Box<Node>>),
    /// A FROM item's whole row, `"name"` (its reference name, quoted).
    WholeRow(&'static str),
    /// A keyword or fixed text that is a value (`CURRENT_DATE`).
    Keyword(&'static str),
    /// `call OVER (window)`.
    Over(Box<Node>, Box<WindowSpec>),
    /// A row constructor, `(a, b)`.
    Row(Vec<Node>),
    /// A subquery's rows as a JSON array (`true`), or its first row as a JSON object.
    JsonFrom(Box<SelectCore>, bool),
}

impl Node {
    /// A LIMIT / OFFSET count from any integer type, as an `i64` parameter; a count past
    /// `i64::MAX` is `i64::MAX`.
    pub fn count(n: impl TryInto<i64>) -> Node {
        Node::Param(Node::count_param(n), None)
    }

    /// The parameter of [`count`](Self::count).
    pub fn count_param(n: impl TryInto<i64>) -> Param {
        Param::int8(n.try_into().unwrap_or(i64::MAX))
    }

    /// `lhs op rhs`.
    pub fn binary(lhs: Node, op: &'static str, rhs: Node) -> Node {
        Node::Binary(Box::new((lhs, rhs)), op)
    }
}

/// A piece of a raw SQL fragment.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum RawPart {
    Text(String),
    Param(Param),
    Node(Node),
}

/// One item of a select list.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct SelectItem {
    pub node: Node,
    pub alias: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum JoinKind {
    Inner,
    Left,
    /// `CROSS JOIN`: no ON (the join's `on` is not written).
    Cross,
}

#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Join {
    pub kind: JoinKind,
    pub table: Source,
    pub on: Node,
}

/// What FROM / JOIN reads: a table, a subquery (`(SELECT ..) AS "a"("c0", ..)`, LATERAL when it
/// uses the tables before it), or a CTE of the statement's WITH by name.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub enum Source {
    /// No FROM at all (`SELECT now()`).
    Nothing,
    Table(TableRef),
    Derived {
        select: Box<SelectCore>,
        alias: &'static str,
        columns: &'static [&'static str],
        lateral: bool,
    },
    Cte(&'static str),
}

impl From<TableRef> for Source {
    fn from(t: TableRef) -> Self {
        Source::Table(t)
    }
}

/// One `name(c0, ..) AS (SELECT ..)` of a WITH clause.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct CteDef {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub body: CteBody,
    /// `UNION ALL` this term, which reads the CTE itself (`WITH RECURSIVE`).
    pub recursive: Option<Box<SelectCore>>,
    /// `UNION ALL` (true) or `UNION` before the recursive term.
    pub union_all: bool,
}

/// What a CTE runs: a query, or a data-modifying statement with RETURNING.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub enum CteBody {
    Select(Box<SelectCore>),
    Insert(Box<InsertCore>),
    Update(Box<UpdateCore>),
    Delete(Box<DeleteCore>),
}

/// The names of a derived table's output columns by position (`"c0"`, `"c1"`, ..), for those
/// whose item does not name them.
#[doc(hidden)]
pub const DERIVED_COLUMNS: [&str; 64] = [
    "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10", "c11", "c12", "c13", "c14", "c15", "c16", "c17",
    "c18", "c19", "c20", "c21", "c22", "c23", "c24", "c25", "c26", "c27", "c28", "c29", "c30", "c31", "c32", "c33",
    "c34", "c35", "c36", "c37", "c38", "c39", "c40", "c41", "c42", "c43", "c44", "c45", "c46", "c47", "c48", "c49",
    "c50", "c51", "c52", "c53", "c54", "c55", "c56", "c57", "c58", "c59", "c60", "c61", "c62", "c63",
];

/// `PARTITION BY .. ORDER BY .. frame` of a window.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct WindowSpec {
    pub partition: Vec<Node>,
    pub order: Vec<(Node, Order)>,
    pub frame: Option<Frame>,
}

/// `ROWS | RANGE BETWEEN start AND end`.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct Frame {
    pub rows: bool,
    pub start: FrameBound,
    pub end: FrameBound,
}

/// One end of a window frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameBound {
    /// `UNBOUNDED PRECEDING`.
    UnboundedPreceding,
    /// `n PRECEDING`.
    Preceding(u32),
    /// `CURRENT ROW`.
    CurrentRow,
    /// `n FOLLOWING`.
    Following(u32),
    /// `UNBOUNDED FOLLOWING`.
    UnboundedFollowing,
}

/// Sort direction and NULL placement of an ORDER BY item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub struct Order {
    pub desc: bool,
    pub nulls: Option<bool>, // Some(true): NULLS FIRST
}

#[derive(Debug, Clone, Default)]
#[doc(hidden)]
pub enum Distinct {
    #[default]
    None,
    All,
    On(Vec<Node>),
}

/// The strength of a row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum LockStrength {
    Update,
    NoKeyUpdate,
    Share,
    KeyShare,
}

/// What a row lock does when a row is already locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum LockWait {
    Wait,
    Nowait,
    SkipLocked,
}

/// `FOR UPDATE [OF t, ..] [NOWAIT | SKIP LOCKED]`.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Lock {
    pub strength: LockStrength,
    pub of: Vec<TableRef>,
    pub wait: LockWait,
}

/// A SELECT statement, untyped.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct SelectCore {
    pub with: Vec<CteDef>,
    pub distinct: Distinct,
    pub items: Vec<SelectItem>,
    pub from: Source,
    pub joins: Vec<Join>,
    pub wheres: Vec<Node>,
    pub group_by: Vec<Node>,
    pub having: Vec<Node>,
    pub order_by: Vec<(Node, Order)>,
    pub limit: Option<Node>,
    pub offset: Option<Node>,
    pub locks: Vec<Lock>,
}

impl SelectCore {
    pub fn new(from: impl Into<Source>) -> Self {
        SelectCore {
            with: Vec::new(),
            distinct: Distinct::None,
            items: Vec::new(),
            from: from.into(),
            joins: Vec::new(),
            wheres: Vec::new(),
            group_by: Vec::new(),
            having: Vec::new(),
            order_by: Vec::new(),
            limit: None,
            offset: None,
            locks: Vec::new(),
        }
    }
}

/// One row of an INSERT: per column, a value (and its cast) or `None` for DEFAULT.
#[doc(hidden)]
pub type InsertRow = Vec<Option<(Param, Option<&'static str>)>>;

/// What ON CONFLICT names: nothing (any constraint), columns, or a constraint by name.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub enum ConflictTarget {
    Any,
    /// Columns (written bare) and index expressions (written in parentheses).
    Exprs(Vec<Node>),
    Constraint(&'static str),
}

/// What ON CONFLICT does.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub enum ConflictAction {
    Nothing,
    /// `DO UPDATE SET c = <node>, .. [WHERE ..]`.
    Update {
        sets: Vec<(&'static str, Node)>,
        wheres: Vec<Node>,
    },
}

#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct OnConflict {
    pub target: ConflictTarget,
    /// `ON CONFLICT (..) WHERE ..`: the predicate of a partial unique index, to pick it as arbiter.
    pub target_where: Vec<Node>,
    pub action: ConflictAction,
}

/// A set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[doc(hidden)]
pub enum SetOp {
    Union,
    UnionAll,
    Intersect,
    Except,
}

/// Queries combined with set operations, untyped.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct CompoundCore {
    pub first: SetOperand,
    pub rest: Vec<(SetOp, SetOperand)>,
    /// Sort keys by 1-based output position.
    pub order_by: Vec<(usize, Order)>,
    pub limit: Option<Node>,
    pub offset: Option<Node>,
}

/// One query of a set operation: a SELECT, or a set operation of its own (grouped).
#[derive(Debug, Clone)]
#[doc(hidden)]
pub enum SetOperand {
    Select(Box<SelectCore>),
    Compound(Box<CompoundCore>),
}

impl CompoundCore {
    pub fn new(first: SetOperand, op: SetOp, second: SetOperand) -> Self {
        CompoundCore { first, rest: vec![(op, second)], order_by: Vec::new(), limit: None, offset: None }
    }
}

/// An INSERT, untyped.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct InsertCore {
    pub table: TableRef,
    pub columns: Vec<&'static str>,
    pub rows: Vec<InsertRow>,
    /// Values from expressions (`.value(col, now())`), after each row's own: their columns are the
    /// last of `columns`.
    pub exprs: Vec<Node>,
    /// `INSERT .. SELECT`: the rows come from this query instead of `rows`.
    pub select: Option<Box<SelectCore>>,
    /// CTEs the INSERT's SELECT reads (`WITH moved AS (DELETE .. RETURNING ..) INSERT ..`).
    pub with: Vec<CteDef>,
    /// Send the rows as one array per column (`SELECT * FROM UNNEST($1::t[], ..)`); every row has
    /// every column, each value with a known type.
    pub unnest: bool,
    pub on_conflict: Option<OnConflict>,
    pub returning: Vec<SelectItem>,
}

/// An UPDATE, untyped.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct UpdateCore {
    /// CTEs it reads (`WITH .. UPDATE ..`).
    pub with: Vec<CteDef>,
    pub table: TableRef,
    pub sets: Vec<(&'static str, Node)>,
    /// `FROM other, ..` (tables, or CTEs of its WITH).
    pub from: Vec<Source>,
    pub wheres: Vec<Node>,
    pub returning: Vec<SelectItem>,
}

/// A DELETE, untyped.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct DeleteCore {
    /// CTEs it reads (`WITH .. DELETE ..`).
    pub with: Vec<CteDef>,
    pub table: TableRef,
    /// `USING other, ..` (tables, or CTEs of its WITH).
    pub using: Vec<Source>,
    pub wheres: Vec<Node>,
    pub returning: Vec<SelectItem>,
}

/// The precedence level of comparisons (and of everything that binds as loosely).
const COMPARISON: u8 = 2;

/// How tightly a binary operator binds, after PostgreSQL's table (higher binds tighter).
fn precedence(op: &str) -> u8 {
    match op {
        "*" | "/" | "%" => 6,
        "+" | "-" => 5,
        "LIKE" | "ILIKE" | "NOT LIKE" | "NOT ILIKE" => 3,
        "=" | "<>" | "<" | ">" | "<=" | ">=" => COMPARISON,
        "IS DISTINCT FROM" | "IS NOT DISTINCT FROM" => 1,
        _ => 4, // any other operator: ||, ->, @>, ..
    }
}

/// SQL text plus parameters.
pub(crate) struct Writer {
    pub sql: String,
    pub params: Vec<Param>,
    /// The slots met, in text order (a shaped query's text: see [`Node::Slot`]).
    pub slots: Vec<u16>,
}

impl Default for Writer {
    fn default() -> Self {
        // Most statements fit: one allocation instead of a few doublings.
        Writer { sql: String::with_capacity(256), params: Vec::with_capacity(4), slots: Vec::new() }
    }
}

impl Writer {
    pub fn push_sql(&mut self, s: &str) {
        self.sql.push_str(s);
    }

    /// A quoted identifier: always double-quoted, embedded quotes doubled.
    pub fn push_ident(&mut self, name: &str) {
        self.sql.reserve(name.len() + 2);
        self.sql.push('"');
        if name.as_bytes().contains(&b'"') {
            self.sql.push_str(&name.replace('"', "\"\""));
        } else {
            self.sql.push_str(name);
        }
        self.sql.push('"');
    }

    pub fn push_bind(&mut self, p: &Param, cast: Option<&str>) {
        self.params.push(p.clone());
        self.push_placeholder(cast);
    }

    /// `$n` for the next value (a parameter or a slot, whichever this text has).
    fn push_placeholder(&mut self, cast: Option<&str>) {
        // `$n` by hand: `write!` goes through the formatting machinery on every parameter.
        self.sql.push('$');
        let n = self.params.len() + self.slots.len();
        let mut div = 1;
        while div * 10 <= n {
            div *= 10;
        }
        while div > 0 {
            self.sql.push(char::from(b'0' + (n / div % 10) as u8));
            div /= 10;
        }
        if let Some(cast) = cast {
            self.sql.push_str("::");
            self.sql.push_str(cast);
        }
    }

    pub fn push_table(&mut self, t: TableRef) {
        if let Some(quoted) = t.quoted {
            self.push_sql(quoted);
        } else {
            if t.schema != "public" {
                self.push_ident(t.schema);
                self.sql.push('.');
            }
            self.push_ident(t.name);
        }
        if let Some(alias) = t.alias {
            self.push_sql(" AS ");
            self.push_ident(alias);
        }
    }

    fn push_list(&mut self, nodes: &[Node], sep: &str) {
        for (i, n) in nodes.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(sep);
            }
            self.push_node(n);
        }
    }

    /// Conditions joined by AND or OR: a raw fragment among them gets parentheses, so that
    /// `sql("a OR b")` AND `c` means what it says.
    fn push_operands(&mut self, nodes: &[Node], sep: &str) {
        for (i, n) in nodes.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(sep);
            }
            if matches!(n, Node::Raw(_)) {
                self.sql.push('(');
                self.push_node(n);
                self.sql.push(')');
            } else {
                self.push_node(n);
            }
        }
    }

    /// An operand of an operator: parenthesised when it binds less tightly than the operator it
    /// stands in (`(a + b) * c`, but `a % b = c`), when it is the right operand of an operator of
    /// the same precedence (`a - (b - c)`), and always when it is a raw fragment, so
    /// `sql("a OR b")` keeps its meaning.
    #[inline]
    fn push_operand(&mut self, node: &Node, outer: &str, right: bool) {
        let wrap = match node {
            Node::Binary(_, op) => {
                let (inner, outer) = (precedence(op), precedence(outer));
                inner < outer || (inner == outer && (right || outer <= COMPARISON))
            }
            Node::Raw(_) | Node::Postfix(..) | Node::Between { .. } | Node::AnyArray(..) | Node::Not(_) => true,
            _ => false,
        };
        if wrap {
            self.sql.push('(');
            self.push_node(node);
            self.sql.push(')');
        } else {
            self.push_node(node);
        }
    }

    /// A value where PostgreSQL cannot infer a parameter's type from its neighbour (a function
    /// argument, a CASE branch): `$n::type`, from the value's own type.
    fn push_typed(&mut self, node: &Node) {
        match node {
            Node::Param(p, None) if p.sql_type().is_some() => {
                self.push_bind(p, None);
                let ty = p.sql_type().expect("checked");
                self.sql.push_str("::");
                if ty.oid() == 0 {
                    // A generated enum (OID unknown until the server resolves it by name).
                    if ty.schema() != "public" {
                        self.push_ident(ty.schema());
                        self.sql.push('.');
                    }
                    self.push_ident(ty.name());
                } else {
                    self.sql.push_str(ty.name());
                }
            }
            other => self.push_node(other),
        }
    }

    pub fn push_node(&mut self, node: &Node) {
        match node {
            Node::Column { quoted: Some(quoted), .. } => self.push_sql(quoted),
            Node::Column { table, column, quoted: None } => {
                self.push_ident(table);
                self.sql.push('.');
                self.push_ident(column);
            }
            Node::Excluded(column) => {
                self.push_sql("EXCLUDED.");
                self.push_ident(column);
            }
            Node::Param(p, cast) => self.push_bind(p, *cast),
            Node::Slot(n, cast) => {
                self.slots.push(*n);
                self.push_placeholder(*cast);
            }
            Node::Binary(sides, op) => {
                let (l, r) = &**sides;
                self.push_operand(l, op, false);
                self.sql.push(' ');
                self.sql.push_str(op);
                self.sql.push(' ');
                self.push_operand(r, op, true);
            }
            Node::And(items) | Node::Or(items) if items.is_empty() => {
                self.push_sql(if matches!(node, Node::And(_)) { "true" } else { "false" })
            }
            Node::And(items) | Node::Or(items) if items.len() == 1 => self.push_node(&items[0]),
            Node::And(items) => {
                self.sql.push('(');
                self.push_operands(items, " AND ");
                self.sql.push(')');
            }
            Node::Or(items) => {
                self.sql.push('(');
                self.push_operands(items, " OR ");
                self.sql.push(')');
            }
            Node::Not(inner) => match &**inner {
                // AND/OR of several items bring their own parentheses.
                Node::And(items) | Node::Or(items) if items.len() > 1 => {
                    self.push_sql("NOT ");
                    self.push_node(inner);
                }
                _ => {
                    self.push_sql("NOT (");
                    self.push_node(inner);
                    self.sql.push(')');
                }
            },
            Node::Postfix(inner, op) => {
                self.push_operand(inner, op, false);
                self.sql.push(' ');
                self.push_sql(op);
            }
            Node::AnyArray(parts, negated) => {
                let (lhs, array, cast) = &**parts;
                self.push_operand(lhs, "=", false);
                self.push_sql(if *negated { " <> ALL(" } else { " = ANY(" });
                match array {
                    Node::Param(array, _) => self.push_bind(array, *cast),
                    Node::Slot(n, _) => {
                        self.slots.push(*n);
                        self.push_placeholder(*cast);
                    }
                    other => self.push_node(other),
                }
                if cast.is_some() {
                    self.push_sql("[]");
                }
                self.sql.push(')');
            }
            Node::Between { lhs, low, high } => {
                self.push_operand(lhs, "BETWEEN", false);
                self.push_sql(" BETWEEN ");
                self.push_operand(low, "BETWEEN", true);
                self.push_sql(" AND ");
                self.push_operand(high, "BETWEEN", true);
            }
            Node::Function(name, args) => {
                self.push_sql(name);
                self.sql.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.push_sql(", ");
                    }
                    self.push_typed(a);
                }
                self.sql.push(')');
            }
            Node::CountStar => self.push_sql("count(*)"),
            Node::Filter(parts) => {
                self.push_node(&parts.0);
                self.push_sql(" FILTER (WHERE ");
                self.push_node(&parts.1);
                self.sql.push(')');
            }
            Node::Null => self.push_sql("NULL"),
            Node::InSelect { lhs, select, negated } => {
                self.push_operand(lhs, "IN", false);
                self.push_sql(if *negated { " NOT IN (" } else { " IN (" });
                self.push_select(select);
                self.sql.push(')');
            }
            Node::Exists { select, negated } => {
                self.push_sql(if *negated { "NOT EXISTS (" } else { "EXISTS (" });
                self.push_select(select);
                self.sql.push(')');
            }
            Node::Subquery(select) => {
                self.sql.push('(');
                self.push_select(select);
                self.sql.push(')');
            }
            Node::Raw(parts) => {
                for part in parts {
                    match part {
                        RawPart::Text(t) => self.push_sql(t),
                        RawPart::Param(p) => self.push_bind(p, None),
                        RawPart::Node(n) => self.push_node(n),
                    }
                }
            }
            Node::Cast(inner, ty) => {
                self.push_sql("CAST(");
                self.push_node(inner);
                self.push_sql(" AS ");
                self.push_sql(ty);
                self.sql.push(')');
            }
            Node::Case(operand, arms, otherwise) => {
                self.push_sql("CASE");
                if let Some(operand) = operand {
                    self.sql.push(' ');
                    self.push_node(operand);
                }
                for (when, then) in arms {
                    self.push_sql(" WHEN ");
                    self.push_node(when);
                    self.push_sql(" THEN ");
                    self.push_typed(then);
                }
                if let Some(e) = otherwise {
                    self.push_sql(" ELSE ");
                    self.push_typed(e);
                }
                self.push_sql(" END");
            }
            Node::Keyword(k) => self.push_sql(k),
            Node::WholeRow(name) => self.push_ident(name),
            Node::Row(items) => {
                self.sql.push('(');
                for (i, a) in items.iter().enumerate() {
                    if i > 0 {
                        self.push_sql(", ");
                    }
                    self.push_typed(a);
                }
                self.sql.push(')');
            }
            Node::JsonFrom(select, array) => {
                self.push_sql(if *array {
                    "(SELECT coalesce(jsonb_agg(agg), '[]'::jsonb) FROM ("
                } else {
                    "(SELECT to_jsonb(obj) FROM ("
                });
                self.push_select(select);
                self.push_sql(if *array { ") AS agg)" } else { ") AS obj LIMIT 1)" });
            }
            Node::Over(call, spec) => {
                self.push_node(call);
                self.push_sql(" OVER (");
                let mut space = "";
                if !spec.partition.is_empty() {
                    self.push_sql("PARTITION BY ");
                    self.push_list(&spec.partition, ", ");
                    space = " ";
                }
                if !spec.order.is_empty() {
                    self.push_sql(space);
                    self.push_order_by(&spec.order);
                    space = " ";
                }
                if let Some(frame) = &spec.frame {
                    self.push_sql(space);
                    self.push_sql(if frame.rows { "ROWS BETWEEN " } else { "RANGE BETWEEN " });
                    self.push_frame_bound(frame.start);
                    self.push_sql(" AND ");
                    self.push_frame_bound(frame.end);
                }
                self.sql.push(')');
            }
        }
    }

    /// Conditions joined with AND, each parenthesised when it is itself an OR.
    fn push_conditions(&mut self, keyword: &str, conditions: &[Node]) {
        if conditions.is_empty() {
            return;
        }
        self.push_sql(keyword);
        if conditions.len() == 1 {
            self.push_node(&conditions[0]);
        } else {
            self.push_operands(conditions, " AND ");
        }
    }

    /// ` LIMIT n OFFSET m` of a select or a set operation; `LIMIT 1` without a limit of its own
    /// when only the first row is fetched.
    fn push_limit_offset(&mut self, limit: Option<&Node>, offset: Option<&Node>, first: bool) {
        if let Some(limit) = limit {
            self.push_sql(" LIMIT ");
            self.push_node(limit);
        } else if first {
            self.push_sql(" LIMIT 1");
        }
        if let Some(offset) = offset {
            self.push_sql(" OFFSET ");
            self.push_node(offset);
        }
    }

    /// `ORDER BY a DESC NULLS LAST, b` (not empty).
    fn push_order_by(&mut self, keys: &[(Node, Order)]) {
        self.push_sql("ORDER BY ");
        for (i, (node, order)) in keys.iter().enumerate() {
            if i > 0 {
                self.push_sql(", ");
            }
            self.push_node(node);
            if order.desc {
                self.push_sql(" DESC");
            }
            match order.nulls {
                Some(true) => self.push_sql(" NULLS FIRST"),
                Some(false) => self.push_sql(" NULLS LAST"),
                None => {}
            }
        }
    }

    fn push_frame_bound(&mut self, bound: FrameBound) {
        match bound {
            FrameBound::UnboundedPreceding => self.push_sql("UNBOUNDED PRECEDING"),
            FrameBound::Preceding(n) => {
                self.push_sql(&n.to_string());
                self.push_sql(" PRECEDING");
            }
            FrameBound::CurrentRow => self.push_sql("CURRENT ROW"),
            FrameBound::Following(n) => {
                self.push_sql(&n.to_string());
                self.push_sql(" FOLLOWING");
            }
            FrameBound::UnboundedFollowing => self.push_sql("UNBOUNDED FOLLOWING"),
        }
    }

    /// `keyword a, b` for a non-empty list of tables.
    fn push_tables(&mut self, keyword: &str, tables: &[Source]) {
        for (i, t) in tables.iter().enumerate() {
            self.push_sql(if i == 0 { keyword } else { ", " });
            self.push_source(t);
        }
    }

    /// `RETURNING items`, aliases included.
    fn push_returning(&mut self, items: &[SelectItem]) {
        if items.is_empty() {
            return;
        }
        self.push_sql(" RETURNING ");
        self.push_items(items);
    }

    fn push_items(&mut self, items: &[SelectItem]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push_sql(", ");
            }
            self.push_node(&item.node);
            if let Some(alias) = item.alias {
                self.push_sql(" AS ");
                self.push_ident(alias);
            }
        }
    }

    fn push_sets(&mut self, sets: &[(&'static str, Node)]) {
        for (i, (column, value)) in sets.iter().enumerate() {
            if i > 0 {
                self.push_sql(", ");
            }
            self.push_ident(column);
            self.push_sql(" = ");
            self.push_node(value);
        }
    }

    pub fn push_insert(&mut self, q: &InsertCore) {
        if !q.with.is_empty() {
            self.push_with(&q.with);
        }
        self.push_sql("INSERT INTO ");
        self.push_table(q.table);
        if let Some(select) = &q.select {
            self.push_sql(" (");
            for (i, c) in q.columns.iter().enumerate() {
                if i > 0 {
                    self.push_sql(", ");
                }
                self.push_ident(c);
            }
            self.push_sql(") ");
            self.push_select(select);
        } else if q.rows.is_empty() {
            // No rows (an empty `values_many` in a CTE; run alone, nothing is sent): an INSERT
            // of nothing. DEFAULT VALUES would insert one row.
            self.push_sql(" SELECT WHERE false");
        } else if q.unnest {
            self.push_sql(" (");
            for (i, c) in q.columns.iter().enumerate() {
                if i > 0 {
                    self.push_sql(", ");
                }
                self.push_ident(c);
            }
            self.push_sql(") SELECT * FROM UNNEST(");
            for i in 0..q.columns.len() {
                if i > 0 {
                    self.push_sql(", ");
                }
                let values: Vec<Param> = q
                    .rows
                    .iter()
                    .map(|r| r[i].as_ref().map(|(p, _)| p.clone()).expect("unnest rows are full"))
                    .collect();
                let (first, cast) = q.rows[0][i].as_ref().expect("unnest rows are full");
                let element = first.sql_type().expect("unnest values are typed").clone();
                let array = postgres_types::Type::new(
                    format!("_{}", element.name()),
                    0,
                    postgres_types::Kind::Array(element.clone()),
                    element.schema().to_owned(),
                );
                self.push_bind(&Param::typed(super::value::ParamArray(values), array), None);
                self.push_sql("::");
                match cast {
                    Some(cast) => self.push_sql(cast),
                    None if element.oid() == 0 => {
                        if element.schema() != "public" {
                            self.push_ident(element.schema());
                            self.sql.push('.');
                        }
                        self.push_ident(element.name());
                    }
                    None => self.push_sql(element.name()),
                }
                self.push_sql("[]");
            }
            self.sql.push(')');
        } else if q.columns.is_empty() {
            self.push_sql(" DEFAULT VALUES");
        } else {
            self.push_sql(" (");
            for (i, c) in q.columns.iter().enumerate() {
                if i > 0 {
                    self.push_sql(", ");
                }
                self.push_ident(c);
            }
            self.push_sql(") VALUES ");
            for (r, row) in q.rows.iter().enumerate() {
                self.push_sql(if r > 0 { ", (" } else { "(" });
                for (i, v) in row.iter().enumerate() {
                    if i > 0 {
                        self.push_sql(", ");
                    }
                    match v {
                        Some((p, cast)) => self.push_bind(p, *cast),
                        None => self.push_sql("DEFAULT"),
                    }
                }
                for (i, e) in q.exprs.iter().enumerate() {
                    if i > 0 || !row.is_empty() {
                        self.push_sql(", ");
                    }
                    self.push_typed(e);
                }
                self.push_sql(")");
            }
        }
        if let Some(oc) = &q.on_conflict {
            self.push_sql(" ON CONFLICT");
            match &oc.target {
                ConflictTarget::Any => {}
                ConflictTarget::Exprs(targets) => {
                    self.push_sql(" (");
                    for (i, t) in targets.iter().enumerate() {
                        if i > 0 {
                            self.push_sql(", ");
                        }
                        match t {
                            Node::Column { column, .. } => self.push_ident(column),
                            expr => {
                                self.sql.push('(');
                                self.push_node(expr);
                                self.sql.push(')');
                            }
                        }
                    }
                    self.push_sql(")");
                }
                ConflictTarget::Constraint(name) => {
                    self.push_sql(" ON CONSTRAINT ");
                    self.push_ident(name);
                }
            }
            self.push_conditions(" WHERE ", &oc.target_where);
            match &oc.action {
                ConflictAction::Nothing => self.push_sql(" DO NOTHING"),
                ConflictAction::Update { sets, wheres } => {
                    self.push_sql(" DO UPDATE SET ");
                    self.push_sets(sets);
                    self.push_conditions(" WHERE ", wheres);
                }
            }
        }
        self.push_returning(&q.returning);
    }

    pub fn push_update(&mut self, q: &UpdateCore) {
        self.push_with(&q.with);
        self.push_sql("UPDATE ");
        self.push_table(q.table);
        self.push_sql(" SET ");
        self.push_sets(&q.sets);
        self.push_tables(" FROM ", &q.from);
        self.push_conditions(" WHERE ", &q.wheres);
        self.push_returning(&q.returning);
    }

    pub fn push_delete(&mut self, q: &DeleteCore) {
        self.push_with(&q.with);
        self.push_sql("DELETE FROM ");
        self.push_table(q.table);
        self.push_tables(" USING ", &q.using);
        self.push_conditions(" WHERE ", &q.wheres);
        self.push_returning(&q.returning);
    }

    pub fn push_select(&mut self, q: &SelectCore) {
        self.push_select_inner(q, false);
    }

    /// `(SELECT ..) UNION (SELECT ..) .. ORDER BY n LIMIT ..`: each query parenthesised, so its
    /// own ORDER BY / LIMIT stays its own, and the chain grouped as it reads: SQL binds INTERSECT
    /// tighter than UNION and EXCEPT, so `a.union(b).intersect(c)` is written
    /// `((a) UNION (b)) INTERSECT (c)`.
    pub fn push_compound(&mut self, q: &CompoundCore) {
        // Close a group before each INTERSECT that follows a UNION or EXCEPT of the chain so far.
        let mut closes = vec![false; q.rest.len()];
        let mut looser = false;
        for (i, (op, _)) in q.rest.iter().enumerate() {
            if *op == SetOp::Intersect && looser {
                closes[i] = true;
                looser = false;
            }
            looser |= *op != SetOp::Intersect;
        }
        for _ in closes.iter().filter(|c| **c) {
            self.sql.push('(');
        }
        self.push_set_operand(&q.first);
        for ((op, operand), close) in q.rest.iter().zip(&closes) {
            if *close {
                self.sql.push(')');
            }
            self.push_sql(match op {
                SetOp::Union => " UNION ",
                SetOp::UnionAll => " UNION ALL ",
                SetOp::Intersect => " INTERSECT ",
                SetOp::Except => " EXCEPT ",
            });
            self.push_set_operand(operand);
        }
        for (i, (position, order)) in q.order_by.iter().enumerate() {
            self.push_sql(if i == 0 { " ORDER BY " } else { ", " });
            self.push_sql(&position.to_string());
            if order.desc {
                self.push_sql(" DESC");
            }
        }
        self.push_limit_offset(q.limit.as_ref(), q.offset.as_ref(), false);
    }

    fn push_set_operand(&mut self, operand: &SetOperand) {
        self.sql.push('(');
        match operand {
            SetOperand::Select(q) => self.push_select(q),
            SetOperand::Compound(q) => self.push_compound(q),
        }
        self.sql.push(')');
    }

    #[inline]
    fn push_source(&mut self, source: &Source) {
        match source {
            Source::Nothing => {}
            Source::Table(t) => self.push_table(*t),
            Source::Cte(name) => self.push_ident(name),
            Source::Derived { select, alias, columns, lateral } => {
                self.push_sql(if *lateral { "LATERAL (" } else { "(" });
                self.push_select(select);
                self.push_sql(") AS ");
                self.push_ident(alias);
                self.push_column_names(columns);
            }
        }
    }

    /// `("id", "c1", ..)`: a derived table's column list.
    fn push_column_names(&mut self, columns: &[&str]) {
        self.sql.push('(');
        for (i, c) in columns.iter().enumerate() {
            if i > 0 {
                self.push_sql(", ");
            }
            self.push_ident(c);
        }
        self.sql.push(')');
    }

    /// A SELECT; with `first`, the query for fetching its first row: `LIMIT 1` unless it has a
    /// limit of its own.
    pub(crate) fn push_select_inner(&mut self, q: &SelectCore, first: bool) {
        if !q.with.is_empty() {
            self.push_with(&q.with);
        }
        self.push_sql("SELECT ");
        self.push_select_body(q, first);
    }

    /// `WITH [RECURSIVE] "a"(..) AS (..), .. ` (nothing when there are no CTEs).
    fn push_with(&mut self, with: &[CteDef]) {
        let recursive = with.iter().any(|c| c.recursive.is_some());
        for (i, cte) in with.iter().enumerate() {
            self.push_sql(match (i, recursive) {
                (0, true) => "WITH RECURSIVE ",
                (0, false) => "WITH ",
                _ => ", ",
            });
            self.push_ident(cte.name);
            self.push_column_names(cte.columns);
            self.push_sql(" AS (");
            // A recursive CTE's terms are the sides of a UNION ALL: one with its own ORDER BY,
            // LIMIT, locks or WITH is parenthesised, as a set operation's parts are.
            let grouped = |q: &SelectCore| {
                !q.order_by.is_empty()
                    || q.limit.is_some()
                    || q.offset.is_some()
                    || !q.locks.is_empty()
                    || !q.with.is_empty()
            };
            match &cte.body {
                CteBody::Select(q) if cte.recursive.is_some() && grouped(q) => {
                    self.sql.push('(');
                    self.push_select(q);
                    self.sql.push(')');
                }
                CteBody::Select(q) => self.push_select(q),
                CteBody::Insert(q) => self.push_insert(q),
                CteBody::Update(q) => self.push_update(q),
                CteBody::Delete(q) => self.push_delete(q),
            }
            if let Some(term) = &cte.recursive {
                self.push_sql(if cte.union_all { " UNION ALL " } else { " UNION " });
                if grouped(term) {
                    self.sql.push('(');
                    self.push_select(term);
                    self.sql.push(')');
                } else {
                    self.push_select(term);
                }
            }
            self.sql.push(')');
        }
        if !with.is_empty() {
            self.sql.push(' ');
        }
    }

    fn push_select_body(&mut self, q: &SelectCore, first: bool) {
        match &q.distinct {
            Distinct::None => {}
            Distinct::All => self.push_sql("DISTINCT "),
            Distinct::On(nodes) => {
                self.push_sql("DISTINCT ON (");
                self.push_list(nodes, ", ");
                self.push_sql(") ");
            }
        }
        if q.items.is_empty() {
            self.push_sql("1");
        }
        self.push_items(&q.items);
        if !matches!(q.from, Source::Nothing) {
            self.push_sql(" FROM ");
            self.push_source(&q.from);
        }
        for j in &q.joins {
            self.push_sql(match j.kind {
                JoinKind::Inner => " INNER JOIN ",
                JoinKind::Left => " LEFT JOIN ",
                JoinKind::Cross => " CROSS JOIN ",
            });
            self.push_source(&j.table);
            if j.kind != JoinKind::Cross {
                self.push_sql(" ON ");
                self.push_node(&j.on);
            }
        }
        self.push_conditions(" WHERE ", &q.wheres);
        if !q.group_by.is_empty() {
            self.push_sql(" GROUP BY ");
            self.push_list(&q.group_by, ", ");
        }
        self.push_conditions(" HAVING ", &q.having);
        if !q.order_by.is_empty() {
            self.push_sql(" ");
            self.push_order_by(&q.order_by);
        }
        self.push_limit_offset(q.limit.as_ref(), q.offset.as_ref(), first);
        for lock in &q.locks {
            self.push_sql(match lock.strength {
                LockStrength::Update => " FOR UPDATE",
                LockStrength::NoKeyUpdate => " FOR NO KEY UPDATE",
                LockStrength::Share => " FOR SHARE",
                LockStrength::KeyShare => " FOR KEY SHARE",
            });
            for (i, t) in lock.of.iter().enumerate() {
                self.push_sql(if i == 0 { " OF " } else { ", " });
                self.push_table(*t);
            }
            self.push_sql(match lock.wait {
                LockWait::Wait => "",
                LockWait::Nowait => " NOWAIT",
                LockWait::SkipLocked => " SKIP LOCKED",
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_always_quoted_with_embedded_quotes_doubled() {
        let mut w = Writer::default();
        w.push_ident("user");
        w.push_sql(" ");
        w.push_ident("Mixed Case");
        w.push_sql(" ");
        w.push_ident("we\"ird");
        assert_eq!(w.sql, r#""user" "Mixed Case" "we""ird""#);
    }

    #[test]
    fn or_inside_and_is_parenthesised_and_empty_and_or_are_constants() {
        let col = |c| Node::Column { table: "t", column: c, quoted: None };
        let eq = |c, v: i64| Node::binary(col(c), "=", Node::Param(Param::new(v), None));
        let mut w = Writer::default();
        w.push_node(&Node::And(vec![eq("a", 1), Node::Or(vec![eq("b", 2), eq("c", 3)])]));
        assert_eq!(w.sql, r#"("t"."a" = $1 AND ("t"."b" = $2 OR "t"."c" = $3))"#);
        assert_eq!(format!("{:?}", w.params), "[1, 2, 3]");
        let mut w = Writer::default();
        w.push_node(&Node::Or(vec![]));
        w.push_sql(" ");
        w.push_node(&Node::And(vec![]));
        assert_eq!(w.sql, "false true");
    }

    #[test]
    fn placeholders_count_past_nine_and_inline_values_print_as_themselves() {
        let list = (1..=12).map(|v: i32| Node::Param(crate::query::Bind::<i32>::bind(v), None)).collect();
        let mut w = Writer::default();
        w.push_node(&Node::Function("f", list));
        assert_eq!(
            w.sql,
            "f($1::int4, $2::int4, $3::int4, $4::int4, $5::int4, $6::int4, $7::int4, $8::int4, $9::int4, $10::int4, $11::int4, $12::int4)"
        );
        assert_eq!(format!("{:?}", w.params), "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]");
        for n in [99, 100, 1000] {
            w.params.resize(n - 1, Param::new(0i32));
            w.sql.clear();
            w.push_bind(&Param::new(0i32), None);
            assert_eq!(w.sql, format!("${n}"));
        }
    }
}
