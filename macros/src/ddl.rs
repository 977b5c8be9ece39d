//! Migration SQL -> a list of schema [`Change`]s, with PostgreSQL's own grammar (pg_query). This is
//! the only module that sees pg_query's tree; everything after it is plain Rust data. It never
//! deparses (pg_query's debug C build asserts on hand-made nodes) and never decides what a change
//! means for the schema: that is `model`'s job.

use pg_query::{NodeEnum, protobuf as pb};

use crate::split::{self, Lines};

/// Where a statement starts: file name and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A possibly schema-qualified name, as PostgreSQL folded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QName {
    pub schema: Option<String>,
    pub name: String,
}

/// A type as written: `varchar(20)[]`, `public.role`, `serial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSpec {
    pub name: QName,
    pub typmods: Vec<i64>,
    pub array: bool,
    pub pct_type: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Always,
    ByDefault,
}

/// A column definition with its inline constraints folded in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: String,
    pub ty: TypeSpec,
    pub not_null: bool,
    pub primary_key: bool,
    pub has_default: bool,
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (..) STORED` (or VIRTUAL).
    pub generated: bool,
    /// The columns a generated column's expression reads (dropping one of them drops it, with
    /// CASCADE).
    pub depends_on: Vec<String>,
    /// 1-based line of the column definition in its file (0 when unknown).
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableElement {
    Column(ColumnSpec),
    PrimaryKey(Vec<String>),
    /// `LIKE other INCLUDING ..`: the option bits of PostgreSQL's `CREATE_TABLE_LIKE_*`.
    Like {
        table: QName,
        options: u32,
    },
    /// `INHERITS (parents)` or `PARTITION OF parent`: the parents' columns come first, in order.
    Inherits {
        parents: Vec<QName>,
    },
}

pub const LIKE_DEFAULTS: u32 = 1 << 3;
pub const LIKE_GENERATED: u32 = 1 << 4;
pub const LIKE_IDENTITY: u32 = 1 << 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterAction {
    AddColumn {
        column: ColumnSpec,
        if_not_exists: bool,
    },
    DropColumn {
        name: String,
        missing_ok: bool,
        cascade: bool,
    },
    AlterType {
        column: String,
        ty: TypeSpec,
    },
    SetNotNull(String),
    DropNotNull(String),
    SetDefault(String),
    DropDefault(String),
    AddIdentity {
        column: String,
        kind: Identity,
    },
    SetIdentity {
        column: String,
        kind: Identity,
    },
    DropIdentity {
        column: String,
        missing_ok: bool,
    },
    DropExpression {
        column: String,
        missing_ok: bool,
    },
    AddPrimaryKey(Vec<String>),
    /// `ADD PRIMARY KEY USING INDEX`: the model cannot know the columns.
    AddPrimaryKeyUsingIndex(String),
}

/// A function's signature as written (`CREATE FUNCTION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The input arguments (IN, INOUT, VARIADIC): name (may be empty) and type.
    pub args: Vec<(String, TypeSpec)>,
    /// How many trailing input arguments have defaults.
    pub defaults: usize,
    /// The last input argument is VARIADIC.
    pub variadic: bool,
    /// The OUT, INOUT and TABLE arguments: the result's columns.
    pub outs: Vec<(String, TypeSpec)>,
    /// `RETURNS type` (`None`: given by the OUT arguments).
    pub returns: Option<TypeSpec>,
    /// `RETURNS SETOF` or `RETURNS TABLE`.
    pub retset: bool,
    /// `i` immutable, `s` stable, `v` volatile (the default).
    pub volatile: u8,
    /// `CREATE PROCEDURE`: run by `CALL`, its OUT arguments are arguments of the call too.
    pub procedure: bool,
}

/// One schema change. Statements that do not change table shapes produce none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    CreateSchema {
        name: String,
        if_not_exists: bool,
    },
    DropSchemas {
        names: Vec<String>,
        missing_ok: bool,
        cascade: bool,
    },
    RenameSchema {
        name: String,
        new_name: String,
    },
    CreateTable {
        table: QName,
        if_not_exists: bool,
        elements: Vec<TableElement>,
    },
    /// `only`: `ALTER TABLE ONLY`, which leaves partitions and inheriting tables alone.
    AlterTable {
        table: QName,
        missing_ok: bool,
        actions: Vec<AlterAction>,
        only: bool,
    },
    RenameTable {
        table: QName,
        new_name: String,
        missing_ok: bool,
    },
    RenameColumn {
        table: QName,
        column: String,
        new_name: String,
        missing_ok: bool,
        only: bool,
    },
    SetTableSchema {
        table: QName,
        schema: String,
        missing_ok: bool,
    },
    DropTables {
        tables: Vec<QName>,
        missing_ok: bool,
        cascade: bool,
    },
    /// `owned_by`: `OWNED BY table.column` (`None`: not owned, or `OWNED BY NONE`).
    CreateSequence {
        name: QName,
        if_not_exists: bool,
        owned_by: Option<(QName, String)>,
    },
    AlterSequenceOwner {
        name: QName,
        missing_ok: bool,
        owned_by: Option<(QName, String)>,
    },
    RenameSequence {
        name: QName,
        new_name: String,
        missing_ok: bool,
    },
    SetSequenceSchema {
        name: QName,
        schema: String,
        missing_ok: bool,
    },
    DropSequences {
        names: Vec<QName>,
        missing_ok: bool,
        cascade: bool,
    },
    CreateEnum {
        name: QName,
        labels: Vec<String>,
    },
    AddEnumValue {
        name: QName,
        label: String,
        neighbor: Option<(String, bool)>,
        if_not_exists: bool,
    },
    RenameEnumValue {
        name: QName,
        old: String,
        new: String,
    },
    RenameType {
        name: QName,
        new_name: String,
        missing_ok: bool,
    },
    SetTypeSchema {
        name: QName,
        schema: String,
        missing_ok: bool,
    },
    DropTypes {
        names: Vec<QName>,
        missing_ok: bool,
        cascade: bool,
    },
    CreateDomain {
        name: QName,
        base: TypeSpec,
        not_null: bool,
        has_default: bool,
    },
    AlterDomainNotNull {
        name: QName,
        not_null: bool,
    },
    AlterDomainDefault {
        name: QName,
        has_default: bool,
    },
    /// Other `CREATE TYPE`s (composite, range): known to exist, not mappable. A composite's
    /// fields are kept for `(x).field`.
    CreateOtherType {
        name: QName,
        kind: &'static str,
        fields: Vec<(String, TypeSpec)>,
    },
    /// `ALTER TYPE composite ADD/DROP/ALTER/RENAME ATTRIBUTE ..`: the model forgets its fields
    /// (a field selection is then refused, never typed from stale fields).
    ForgetFields {
        name: QName,
    },
    /// `CREATE [OR REPLACE] VIEW name [(columns)] AS query`, its query as SQL text (typed by the
    /// one typer `sql!` uses).
    CreateView {
        name: QName,
        replace: bool,
        columns: Vec<String>,
        query: Result<String, String>,
    },
    /// `DROP VIEW`.
    DropViews {
        names: Vec<QName>,
        missing_ok: bool,
        cascade: bool,
    },
    /// `CREATE [OR REPLACE] FUNCTION`: what `sql!` needs to type a call to it.
    CreateFunction {
        name: QName,
        replace: bool,
        function: FunctionSpec,
    },
    /// `DROP FUNCTION name [(argument types)], ..`.
    DropFunctions {
        names: Vec<(QName, Option<Vec<TypeSpec>>)>,
        missing_ok: bool,
    },
    /// `SET search_path` (also `SET LOCAL`, and `set_config('search_path', ..)` as pg_dump
    /// writes it); `None`: back to the default (`RESET`, `SET .. TO DEFAULT`).
    SetSearchPath(Option<Vec<String>>),
    /// `CREATE EXTENSION`: its types become known.
    CreateExtension {
        name: String,
        schema: Option<String>,
    },
    /// `DROP EXTENSION`: its functions and operators are gone (with CASCADE, its types' columns).
    DropExtensions {
        names: Vec<String>,
        missing_ok: bool,
        cascade: bool,
    },
    /// A statement that creates or changes a table in a way the model cannot follow.
    Unsupported {
        what: String,
    },
    /// A `DO` block: its PL/pgSQL steps, as far as they change the schema.
    Do(Vec<Step>),
}

/// One step of a `DO` block's PL/pgSQL, as far as it changes the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A statement (or an `EXECUTE` of a string literal): its changes, and its line in the body.
    Run { changes: Vec<Change>, line: usize },
    /// `BEGIN .. EXCEPTION WHEN conditions THEN .. END`: PostgreSQL undoes the body's changes when
    /// a statement of it fails with one of the conditions, and goes on.
    Block { body: Vec<Step>, catches: Vec<String> },
    /// `IF cond THEN .. ELSIF cond THEN .. ELSE .. END IF`.
    If { branches: Vec<(Condition, Vec<Step>)>, otherwise: Vec<Step> },
    /// What the model cannot follow (a loop or an `EXECUTE` of a computed string changing the
    /// schema).
    Opaque { what: String, line: usize },
}

/// A condition of an `IF` in a `DO` block, when it asks the catalog whether something exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Exists {
        negated: bool,
        probe: Probe,
    },
    /// Anything else, as written.
    Unknown(String),
}

/// What a catalog lookup asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Type(String),
    Relation(Option<String>, String),
    Column(Option<String>, String, String),
    EnumLabel(String, String),
    Schema(String),
}

/// A view's query, as SQL text.
fn view_query(node: Option<&pb::Node>) -> Result<String, String> {
    match node.and_then(|n| n.node.as_ref()) {
        Some(q @ NodeEnum::SelectStmt(_)) => {
            q.deparse(pg_query::DeparseOptions::default()).map_err(|e| format!("its query cannot be read: {e}"))
        }
        _ => Err("its query is not a SELECT".into()),
    }
}

/// The schema temporary tables live in.
pub const TEMP_SCHEMA: &str = "pg_temp";

/// `app, "My Schema", public` -> its names, as PostgreSQL splits a search_path value.
fn search_path_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
            Some(quoted) => quoted.replace("\"\"", "\""),
            None => p.to_ascii_lowercase(),
        })
        .collect()
}

/// `SELECT pg_catalog.set_config('search_path', '..', false)`, as pg_dump starts its output.
fn set_config_search_path(s: &pb::SelectStmt) -> Option<Vec<String>> {
    s.target_list.iter().find_map(|t| {
        let NodeEnum::ResTarget(t) = t.node.as_ref()? else { return None };
        let NodeEnum::FuncCall(f) = t.val.as_deref()?.node.as_ref()? else { return None };
        if f.funcname.last().and_then(sval) != Some("set_config") {
            return None;
        }
        let text = |n: &pb::Node| match n.node.as_ref()? {
            NodeEnum::AConst(c) => match c.val.as_ref()? {
                pb::a_const::Val::Sval(v) => Some(v.sval.clone()),
                _ => None,
            },
            _ => None,
        };
        let (name, value) = (text(f.args.first()?)?, text(f.args.get(1)?)?);
        name.eq_ignore_ascii_case("search_path").then(|| search_path_list(&value))
    })
}

/// A change with the statement it came from.
#[derive(Debug, Clone)]
pub struct Located {
    pub change: Change,
    pub origin: Origin,
}

/// An error in a migration file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub origin: Origin,
    pub message: String,
}

/// Parses one migration file into changes.
pub fn parse_file(file: &str, sql: &str) -> Result<Vec<Located>, SqlError> {
    let parsed = match pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) {
        Ok(p) => p,
        Err(e) => return Err(locate_parse_error(file, sql, &e.to_string())),
    };
    let mut out = Vec::new();
    // One index of the file's lines: every statement and column asks for its line.
    let lines = Lines::new(sql);
    for raw in &parsed.protobuf.stmts {
        let location = usize::try_from(raw.stmt_location).unwrap_or(0);
        // stmt_location points at the end of the previous statement: skip to the first token.
        let start = first_token(sql, location);
        let origin = Origin { file: file.to_owned(), line: lines.line(start) };
        let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) else { continue };
        for change in changes(node, &lines) {
            out.push(Located { change, origin: origin.clone() });
        }
    }
    Ok(out)
}

/// The first byte at or after `from` that is not whitespace or a comment.
fn first_token(sql: &str, from: usize) -> usize {
    let b = sql.as_bytes();
    let mut i = from.min(b.len());
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0usize;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            return i;
        }
    }
}

/// pg_query reports no position; find the statement that fails on its own, and within it the
/// token the message quotes (`at or near "TABL"`).
fn locate_parse_error(file: &str, sql: &str, message: &str) -> SqlError {
    let mut line = 1;
    for stmt in split::split(sql) {
        if pg_query::parse(stmt.text, pg_query::ParserOptions::DEFAULT).is_err() {
            line = stmt.line;
            if let Some(token) = message.split("at or near \"").nth(1).and_then(|t| t.split('"').next())
                && let Some(at) = stmt.text.find(token)
            {
                line = Lines::new(sql).line(stmt.offset + at);
            }
            break;
        }
    }
    SqlError {
        origin: Origin { file: file.to_owned(), line },
        message: message.trim_start_matches("Invalid statement: ").to_owned(),
    }
}

/// `f(int, text)` of `DROP FUNCTION` or `ALTER FUNCTION`: the name and, when given, the argument
/// types.
fn function_with_args(node: &pb::Node) -> Option<(QName, Option<Vec<TypeSpec>>)> {
    let NodeEnum::ObjectWithArgs(f) = node.node.as_ref()? else { return None };
    let args = f.objargs.iter().filter_map(|a| match a.node.as_ref()? {
        NodeEnum::TypeName(t) => Some(type_spec(t)),
        _ => None,
    });
    Some((qname(&strings(&f.objname)), (!f.args_unspecified).then(|| args.collect())))
}

fn function_spec(f: &pb::CreateFunctionStmt) -> FunctionSpec {
    use pb::FunctionParameterMode as M;
    let mut spec = FunctionSpec {
        args: Vec::new(),
        defaults: 0,
        variadic: false,
        outs: Vec::new(),
        returns: f.return_type.as_ref().map(type_spec),
        retset: f.return_type.as_ref().is_some_and(|t| t.setof),
        volatile: b'v',
        procedure: f.is_procedure,
    };
    for p in &f.parameters {
        let Some(NodeEnum::FunctionParameter(p)) = p.node.as_ref() else { continue };
        let Some(ty) = p.arg_type.as_ref().map(type_spec) else { continue };
        let mode = M::try_from(p.mode).unwrap_or(M::FuncParamIn);
        if matches!(mode, M::FuncParamOut | M::FuncParamInout | M::FuncParamTable) {
            spec.outs.push((p.name.clone(), ty.clone()));
        }
        // A procedure's OUT arguments are passed too (usually as NULL), since PostgreSQL 14.
        if mode != M::FuncParamTable && (mode != M::FuncParamOut || f.is_procedure) {
            spec.variadic = mode == M::FuncParamVariadic;
            spec.defaults = if p.defexpr.is_some() { spec.defaults + 1 } else { 0 };
            spec.args.push((p.name.clone(), ty));
        }
    }
    for o in &f.options {
        let Some(NodeEnum::DefElem(d)) = o.node.as_ref() else { continue };
        if d.defname == "volatility" {
            spec.volatile = match d.arg.as_deref().and_then(sval) {
                Some("immutable") => b'i',
                Some("stable") => b's',
                _ => b'v',
            }
        }
    }
    spec
}

pub(crate) fn sval(node: &pb::Node) -> Option<&str> {
    match node.node.as_ref()? {
        NodeEnum::String(s) => Some(&s.sval),
        _ => None,
    }
}

pub(crate) fn strings(nodes: &[pb::Node]) -> Vec<String> {
    nodes.iter().filter_map(sval).map(str::to_owned).collect()
}

/// A relation's name written in a string (`'users_id_seq'`, `'billing."Invoice numbers"'`), read
/// as PostgreSQL's regclass input reads it: dot-separated parts, each double-quoted (kept as
/// written, `""` for a quote) or bare (trimmed and lowercased). `None` when it is not a name.
pub(crate) fn relation_name(text: &str) -> Option<QName> {
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    '"' => break,
                    c => part.push(c),
                }
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
        } else {
            while let Some(&c) = chars.peek()
                && c != '.'
            {
                part.push(c.to_ascii_lowercase());
                chars.next();
            }
            part = part.trim().to_owned();
        }
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match chars.next() {
            None => break,
            Some('.') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some(_) => return None,
        }
    }
    (parts.len() <= 3).then(|| qname(&parts))
}

/// `[schema, name]` or `[name]` (or `[catalog, schema, name]`) -> QName.
fn qname(parts: &[String]) -> QName {
    match parts {
        [.., schema, name] => QName { schema: Some(schema.clone()), name: name.clone() },
        [name] => QName { schema: None, name: name.clone() },
        [] => QName { schema: None, name: String::new() },
    }
}

fn list_qname(node: &pb::Node) -> QName {
    match node.node.as_ref() {
        Some(NodeEnum::List(l)) => qname(&strings(&l.items)),
        Some(NodeEnum::TypeName(t)) => qname(&strings(&t.names)),
        Some(NodeEnum::String(s)) => QName { schema: None, name: s.sval.clone() },
        _ => QName { schema: None, name: String::new() },
    }
}

pub(crate) fn range_var(rv: Option<&pb::RangeVar>) -> QName {
    match rv {
        Some(rv) => {
            QName { schema: (!rv.schemaname.is_empty()).then(|| rv.schemaname.clone()), name: rv.relname.clone() }
        }
        None => QName { schema: None, name: String::new() },
    }
}

pub(crate) fn type_spec(t: &pb::TypeName) -> TypeSpec {
    let typmods = t
        .typmods
        .iter()
        .filter_map(|m| match m.node.as_ref()? {
            NodeEnum::AConst(c) => match c.val.as_ref()? {
                pb::a_const::Val::Ival(i) => Some(i64::from(i.ival)),
                _ => None,
            },
            _ => None,
        })
        .collect();
    TypeSpec { name: qname(&strings(&t.names)), typmods, array: !t.array_bounds.is_empty(), pct_type: t.pct_type }
}

fn identity(generated_when: &str) -> Identity {
    if generated_when == "d" { Identity::ByDefault } else { Identity::Always }
}

fn column_spec(c: &pb::ColumnDef, lines: &Lines) -> ColumnSpec {
    let ty = c.type_name.as_ref().map(type_spec).unwrap_or(TypeSpec {
        name: QName { schema: None, name: String::new() },
        typmods: vec![],
        array: false,
        pct_type: false,
    });
    let mut spec = ColumnSpec {
        name: c.colname.clone(),
        ty,
        not_null: c.is_not_null,
        primary_key: false,
        has_default: c.raw_default.is_some(),
        identity: None,
        generated: false,
        depends_on: Vec::new(),
        line: usize::try_from(c.location).map_or(0, |at| lines.line(at)),
    };
    for con in &c.constraints {
        if let Some(NodeEnum::Constraint(con)) = con.node.as_ref() {
            apply_column_constraint(&mut spec, con);
        }
    }
    spec
}

fn apply_column_constraint(spec: &mut ColumnSpec, con: &pb::Constraint) {
    match pb::ConstrType::try_from(con.contype) {
        Ok(pb::ConstrType::ConstrNotnull) => spec.not_null = true,
        Ok(pb::ConstrType::ConstrNull) => spec.not_null = false,
        // `DEFAULT NULL` is no default (PostgreSQL stores none): the column stays required when
        // NOT NULL.
        Ok(pb::ConstrType::ConstrDefault) => spec.has_default = !is_null_literal(con.raw_expr.as_deref()),
        Ok(pb::ConstrType::ConstrPrimary) => spec.primary_key = true,
        Ok(pb::ConstrType::ConstrIdentity) => spec.identity = Some(identity(&con.generated_when)),
        Ok(pb::ConstrType::ConstrGenerated) => {
            spec.generated = true;
            if let Some(expr) = con.raw_expr.as_deref() {
                column_refs(expr, &mut spec.depends_on);
            }
        }
        _ => {}
    }
}

/// The column names an expression reads (the last field of each column reference), found with
/// pg_query's own tree walk: a generated column's expression may be any expression.
fn column_refs(node: &pb::Node, out: &mut Vec<String>) {
    let Some(node) = node.node.as_ref() else { return };
    for (n, ..) in node.nodes() {
        if let pg_query::NodeRef::ColumnRef(c) = n
            && let Some(name) = c.fields.last().and_then(sval)
            && !out.iter().any(|o| o == name)
        {
            out.push(name.to_owned());
        }
    }
}

/// `NULL`, or `NULL::type`: a default that is no default.
fn is_null_literal(expr: Option<&pb::Node>) -> bool {
    match expr.and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::AConst(c)) => c.isnull,
        Some(NodeEnum::TypeCast(t)) => is_null_literal(t.arg.as_deref()),
        _ => false,
    }
}

fn changes(node: &NodeEnum, lines: &Lines) -> Vec<Change> {
    use pb::ObjectType as O;
    let object = |t: i32| pb::ObjectType::try_from(t).unwrap_or(O::Undefined);
    // A function, a procedure, or either (`ALTER ROUTINE`).
    let routine = |t: i32| matches!(object(t), O::ObjectFunction | O::ObjectProcedure | O::ObjectRoutine);
    match node {
        NodeEnum::CreateSchemaStmt(s) => {
            vec![Change::CreateSchema { name: s.schemaname.clone(), if_not_exists: s.if_not_exists }]
        }
        NodeEnum::CreateStmt(s) => {
            if s.of_typename.is_some() {
                return vec![Change::Unsupported { what: "CREATE TABLE .. OF type".into() }];
            }
            let mut elements = Vec::new();
            if !s.inh_relations.is_empty() {
                elements.push(TableElement::Inherits {
                    parents: s
                        .inh_relations
                        .iter()
                        .filter_map(|n| match n.node.as_ref()? {
                            NodeEnum::RangeVar(rv) => Some(range_var(Some(rv))),
                            _ => None,
                        })
                        .collect(),
                });
            }
            for elt in &s.table_elts {
                match elt.node.as_ref() {
                    Some(NodeEnum::ColumnDef(c)) => elements.push(TableElement::Column(column_spec(c, lines))),
                    Some(NodeEnum::Constraint(c)) if c.contype == pb::ConstrType::ConstrPrimary as i32 => {
                        elements.push(TableElement::PrimaryKey(strings(&c.keys)))
                    }
                    Some(NodeEnum::TableLikeClause(l)) => {
                        elements.push(TableElement::Like { table: range_var(l.relation.as_ref()), options: l.options })
                    }
                    _ => {}
                }
            }
            let mut table = range_var(s.relation.as_ref());
            if s.relation.as_ref().is_some_and(|rv| rv.relpersistence == "t") {
                // A temporary table lives in the session's pg_temp schema, gone when it ends.
                table.schema = Some(TEMP_SCHEMA.into());
            }
            vec![Change::CreateTable { table, if_not_exists: s.if_not_exists, elements }]
        }
        NodeEnum::VariableSetStmt(s) if s.name.eq_ignore_ascii_case("search_path") => {
            match pb::VariableSetKind::try_from(s.kind) {
                Ok(pb::VariableSetKind::VarSetValue) => {
                    // Each argument is one schema name, as written (PostgreSQL quotes each one).
                    let parts: Vec<String> = s
                        .args
                        .iter()
                        .filter_map(|a| match a.node.as_ref()? {
                            NodeEnum::AConst(c) => match c.val.as_ref()? {
                                pb::a_const::Val::Sval(v) => Some(v.sval.clone()),
                                _ => None,
                            },
                            _ => None,
                        })
                        .collect();
                    vec![Change::SetSearchPath(Some(parts))]
                }
                Ok(pb::VariableSetKind::VarSetDefault | pb::VariableSetKind::VarReset) => {
                    vec![Change::SetSearchPath(None)]
                }
                _ => vec![],
            }
        }
        NodeEnum::VariableSetStmt(s) if s.kind == pb::VariableSetKind::VarResetAll as i32 => {
            vec![Change::SetSearchPath(None)]
        }
        NodeEnum::SelectStmt(s) => {
            set_config_search_path(s).map(|v| vec![Change::SetSearchPath(Some(v))]).unwrap_or_default()
        }
        NodeEnum::ViewStmt(v) => vec![Change::CreateView {
            name: range_var(v.view.as_ref()),
            replace: v.replace,
            columns: strings(&v.aliases),
            query: view_query(v.query.as_deref()),
        }],
        NodeEnum::CreateExtensionStmt(s) => {
            let schema = s.options.iter().find_map(|o| match o.node.as_ref()? {
                NodeEnum::DefElem(d) if d.defname == "schema" => d.arg.as_deref().and_then(sval).map(str::to_owned),
                _ => None,
            });
            vec![Change::CreateExtension { name: s.extname.clone(), schema }]
        }
        NodeEnum::CreateTableAsStmt(s) if object(s.objtype) == O::ObjectTable => vec![Change::Unsupported {
            what: "CREATE TABLE .. AS / SELECT INTO (write CREATE TABLE with its columns, then INSERT .. SELECT)"
                .into(),
        }],
        NodeEnum::AlterTableStmt(s) if object(s.objtype) == O::ObjectTable => {
            let actions = s
                .cmds
                .iter()
                .filter_map(|c| match c.node.as_ref() {
                    Some(NodeEnum::AlterTableCmd(c)) => alter_action(c, lines),
                    _ => None,
                })
                .collect::<Vec<_>>();
            if actions.is_empty() {
                return vec![];
            }
            let only = s.relation.as_ref().is_some_and(|rv| !rv.inh);
            vec![Change::AlterTable { table: range_var(s.relation.as_ref()), missing_ok: s.missing_ok, actions, only }]
        }
        NodeEnum::RenameStmt(s) if routine(s.rename_type) => {
            let names = s.object.as_deref().and_then(function_with_args).into_iter().collect();
            vec![Change::DropFunctions { names, missing_ok: true }]
        }
        NodeEnum::RenameStmt(s) => {
            let table = range_var(s.relation.as_ref());
            // Views are relations of the model like tables: renamed and moved the same way.
            match object(s.rename_type) {
                O::ObjectTable | O::ObjectView => {
                    vec![Change::RenameTable { table, new_name: s.newname.clone(), missing_ok: s.missing_ok }]
                }
                O::ObjectColumn if matches!(object(s.relation_type), O::ObjectTable | O::ObjectView) => {
                    vec![Change::RenameColumn {
                        table,
                        column: s.subname.clone(),
                        new_name: s.newname.clone(),
                        missing_ok: s.missing_ok,
                        only: s.relation.as_ref().is_some_and(|rv| !rv.inh),
                    }]
                }
                O::ObjectAttribute => vec![Change::ForgetFields { name: table }],
                O::ObjectType | O::ObjectDomain => {
                    let name = s.object.as_deref().map(list_qname).unwrap_or(table);
                    vec![Change::RenameType { name, new_name: s.newname.clone(), missing_ok: s.missing_ok }]
                }
                O::ObjectSchema => vec![Change::RenameSchema { name: s.subname.clone(), new_name: s.newname.clone() }],
                O::ObjectSequence => {
                    vec![Change::RenameSequence { name: table, new_name: s.newname.clone(), missing_ok: s.missing_ok }]
                }
                _ => vec![],
            }
        }
        // A function renamed or moved is forgotten: a call to it, by either name, is then
        // "does not exist", never a wrong type.
        NodeEnum::AlterObjectSchemaStmt(s) if routine(s.object_type) => {
            let names = s.object.as_deref().and_then(function_with_args).into_iter().collect();
            vec![Change::DropFunctions { names, missing_ok: true }]
        }
        NodeEnum::AlterObjectSchemaStmt(s) => match object(s.object_type) {
            O::ObjectTable | O::ObjectView => vec![Change::SetTableSchema {
                table: range_var(s.relation.as_ref()),
                schema: s.newschema.clone(),
                missing_ok: s.missing_ok,
            }],
            O::ObjectSequence => vec![Change::SetSequenceSchema {
                name: range_var(s.relation.as_ref()),
                schema: s.newschema.clone(),
                missing_ok: s.missing_ok,
            }],
            O::ObjectType | O::ObjectDomain => vec![Change::SetTypeSchema {
                name: s.object.as_deref().map(list_qname).unwrap_or(QName { schema: None, name: String::new() }),
                schema: s.newschema.clone(),
                missing_ok: s.missing_ok,
            }],
            _ => vec![],
        },
        NodeEnum::DropStmt(s) => {
            let cascade = s.behavior == pb::DropBehavior::DropCascade as i32;
            let names: Vec<QName> = s.objects.iter().map(list_qname).collect();
            match object(s.remove_type) {
                O::ObjectTable => vec![Change::DropTables { tables: names, missing_ok: s.missing_ok, cascade }],
                O::ObjectView => vec![Change::DropViews { names, missing_ok: s.missing_ok, cascade }],
                O::ObjectSequence => vec![Change::DropSequences { names, missing_ok: s.missing_ok, cascade }],
                O::ObjectType | O::ObjectDomain => vec![Change::DropTypes { names, missing_ok: s.missing_ok, cascade }],
                O::ObjectFunction | O::ObjectProcedure | O::ObjectRoutine => {
                    let names = s.objects.iter().filter_map(function_with_args).collect();
                    vec![Change::DropFunctions { names, missing_ok: s.missing_ok }]
                }
                O::ObjectExtension => vec![Change::DropExtensions {
                    names: names.into_iter().map(|n| n.name).collect(),
                    missing_ok: s.missing_ok,
                    cascade,
                }],
                O::ObjectSchema => vec![Change::DropSchemas {
                    names: names.into_iter().map(|n| n.name).collect(),
                    missing_ok: s.missing_ok,
                    cascade,
                }],
                _ => vec![],
            }
        }
        NodeEnum::CreateFunctionStmt(f) => {
            vec![Change::CreateFunction {
                name: qname(&strings(&f.funcname)),
                replace: f.replace,
                function: function_spec(f),
            }]
        }
        NodeEnum::CreateEnumStmt(s) => {
            vec![Change::CreateEnum { name: qname(&strings(&s.type_name)), labels: strings(&s.vals) }]
        }
        NodeEnum::AlterEnumStmt(s) => {
            let name = qname(&strings(&s.type_name));
            if s.old_val.is_empty() {
                let neighbor =
                    (!s.new_val_neighbor.is_empty()).then(|| (s.new_val_neighbor.clone(), s.new_val_is_after));
                vec![Change::AddEnumValue {
                    name,
                    label: s.new_val.clone(),
                    neighbor,
                    if_not_exists: s.skip_if_new_val_exists,
                }]
            } else {
                vec![Change::RenameEnumValue { name, old: s.old_val.clone(), new: s.new_val.clone() }]
            }
        }
        NodeEnum::CreateDomainStmt(s) => {
            let mut not_null = false;
            let mut has_default = false;
            for c in &s.constraints {
                if let Some(NodeEnum::Constraint(c)) = c.node.as_ref() {
                    match pb::ConstrType::try_from(c.contype) {
                        Ok(pb::ConstrType::ConstrNotnull) => not_null = true,
                        Ok(pb::ConstrType::ConstrNull) => not_null = false,
                        Ok(pb::ConstrType::ConstrDefault) => has_default = true,
                        _ => {}
                    }
                }
            }
            let Some(base) = s.type_name.as_ref().map(type_spec) else { return vec![] };
            vec![Change::CreateDomain { name: qname(&strings(&s.domainname)), base, not_null, has_default }]
        }
        NodeEnum::AlterDomainStmt(s) => {
            let name = qname(&strings(&s.type_name));
            match s.subtype.as_str() {
                "N" => vec![Change::AlterDomainNotNull { name, not_null: false }],
                "O" => vec![Change::AlterDomainNotNull { name, not_null: true }],
                "T" => vec![Change::AlterDomainDefault { name, has_default: s.def.is_some() }],
                _ => vec![],
            }
        }
        NodeEnum::CompositeTypeStmt(s) => {
            let fields = s
                .coldeflist
                .iter()
                .filter_map(|c| match c.node.as_ref() {
                    Some(NodeEnum::ColumnDef(d)) => Some((d.colname.clone(), type_spec(d.type_name.as_ref()?))),
                    _ => None,
                })
                .collect();
            vec![Change::CreateOtherType { name: range_var(s.typevar.as_ref()), kind: "composite type", fields }]
        }
        NodeEnum::CreateRangeStmt(s) => {
            vec![Change::CreateOtherType { name: qname(&strings(&s.type_name)), kind: "range type", fields: vec![] }]
        }
        NodeEnum::AlterTableStmt(s) if object(s.objtype) == O::ObjectType => {
            vec![Change::ForgetFields { name: range_var(s.relation.as_ref()) }]
        }
        NodeEnum::DoStmt(d) => do_block(d),
        NodeEnum::CreateSeqStmt(s) => {
            let mut name = range_var(s.sequence.as_ref());
            if s.sequence.as_ref().is_some_and(|rv| rv.relpersistence == "t") {
                name.schema = Some(TEMP_SCHEMA.into());
            }
            vec![Change::CreateSequence {
                name,
                if_not_exists: s.if_not_exists,
                owned_by: owned_by(&s.options).flatten(),
            }]
        }
        NodeEnum::AlterSeqStmt(s) => match owned_by(&s.options) {
            Some(owned_by) => {
                vec![Change::AlterSequenceOwner {
                    name: range_var(s.sequence.as_ref()),
                    missing_ok: s.missing_ok,
                    owned_by,
                }]
            }
            None => vec![],
        },
        _ => vec![],
    }
}

/// A sequence's `OWNED BY` option: `None` when absent, `Some(None)` for `OWNED BY NONE`.
fn owned_by(options: &[pb::Node]) -> Option<Option<(QName, String)>> {
    options.iter().find_map(|o| match o.node.as_ref()? {
        NodeEnum::DefElem(e) if e.defname == "owned_by" => {
            let mut names = match e.arg.as_deref()?.node.as_ref()? {
                NodeEnum::List(l) => strings(&l.items),
                _ => return None,
            };
            if names.len() == 1 && names[0].eq_ignore_ascii_case("none") {
                return Some(None);
            }
            let column = names.pop()?;
            Some(Some((qname(&names), column)))
        }
        _ => None,
    })
}

/// A `DO` block's steps. PL/pgSQL is parsed by PostgreSQL's own PL/pgSQL grammar (pg_query parses
/// function bodies, so the block is wrapped in one); another language changes nothing the model
/// can see, and is refused if it is not PL/pgSQL.
fn do_block(d: &pb::DoStmt) -> Vec<Change> {
    let (mut body, mut language) = (None, "plpgsql".to_owned());
    for arg in &d.args {
        if let Some(NodeEnum::DefElem(e)) = arg.node.as_ref() {
            match (e.defname.as_str(), e.arg.as_deref().and_then(sval)) {
                ("as", Some(text)) => body = Some(text.to_owned()),
                ("language", Some(l)) => language = l.to_ascii_lowercase(),
                _ => {}
            }
        }
    }
    let Some(body) = body else { return vec![] };
    if language != "plpgsql" {
        return vec![Change::Do(vec![Step::Opaque { what: format!("a DO block in {language}"), line: 1 }])];
    }
    let tag = (0..).map(|i| format!("taulu_do{i}")).find(|t| !body.contains(t.as_str())).expect("a free tag");
    let wrapped = format!("CREATE FUNCTION taulu_do() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}$");
    let parsed = match pg_query::parse_plpgsql(&wrapped) {
        Ok(v) => v,
        Err(e) => {
            return vec![Change::Do(vec![Step::Opaque { what: format!("its PL/pgSQL does not parse: {e}"), line: 1 }])];
        }
    };
    let steps = plpgsql_steps(std::slice::from_ref(&parsed[0]["PLpgSQL_function"]["action"]));
    if changes_anything(&steps) { vec![Change::Do(steps)] } else { vec![] }
}

/// The steps of a list of PL/pgSQL statements (pg_query's JSON).
fn plpgsql_steps(statements: &[serde_json::Value]) -> Vec<Step> {
    let mut steps = Vec::new();
    for stmt in statements {
        let Some((kind, node)) = stmt.as_object().and_then(|o| o.iter().next()) else { continue };
        let line = node["lineno"].as_u64().unwrap_or(1) as usize;
        let list = |v: &serde_json::Value| v.as_array().cloned().unwrap_or_default();
        let query = |v: &serde_json::Value| v["PLpgSQL_expr"]["query"].as_str().unwrap_or_default().to_owned();
        match kind.as_str() {
            "PLpgSQL_stmt_block" => {
                let catches = list(&node["exceptions"]["PLpgSQL_exception_block"]["exc_list"])
                    .iter()
                    .flat_map(|h| list(&h["PLpgSQL_exception"]["conditions"]))
                    .filter_map(|c| c["PLpgSQL_condition"]["condname"].as_str().map(str::to_owned))
                    .collect();
                steps.push(Step::Block { body: plpgsql_steps(&list(&node["body"])), catches });
            }
            "PLpgSQL_stmt_execsql" => steps.push(run_sql(&query(&node["sqlstmt"]), line)),
            "PLpgSQL_stmt_dynexecute" => {
                let text = query(&node["query"]);
                match static_sql(&text) {
                    Some(sql) => steps.push(run_sql(&sql, line)),
                    None => steps.push(Step::Opaque { what: format!("EXECUTE {text}"), line }),
                }
            }
            "PLpgSQL_stmt_if" => {
                let mut branches = vec![(condition(&query(&node["cond"])), plpgsql_steps(&list(&node["then_body"])))];
                for elsif in list(&node["elsif_list"]) {
                    let e = &elsif["PLpgSQL_if_elsif"];
                    branches.push((condition(&query(&e["cond"])), plpgsql_steps(&list(&e["stmts"]))));
                }
                steps.push(Step::If { branches, otherwise: plpgsql_steps(&list(&node["else_body"])) });
            }
            "PLpgSQL_stmt_loop"
            | "PLpgSQL_stmt_while"
            | "PLpgSQL_stmt_fori"
            | "PLpgSQL_stmt_fors"
            | "PLpgSQL_stmt_forc"
            | "PLpgSQL_stmt_foreach_a"
            | "PLpgSQL_stmt_dynfors" => {
                let body = plpgsql_steps(&list(&node["body"]));
                if changes_anything(&body) {
                    steps.push(Step::Opaque { what: "a loop that changes the schema".into(), line });
                }
            }
            _ => {} // RETURN, RAISE, PERFORM, assignments: nothing the model follows
        }
    }
    steps
}

/// The statement an `EXECUTE` runs, when it is known at build time: a string literal, literals
/// joined with `||`, or `format(..)` whose `%s` and `%I` take literals (a `%L` value may be
/// anything: it is written as a literal of its own, which changes no table's shape).
fn static_sql(expr: &str) -> Option<String> {
    let parsed = pg_query::parse(&format!("SELECT {expr}"), pg_query::ParserOptions::DEFAULT).ok()?;
    let Some(NodeEnum::SelectStmt(select)) = parsed.protobuf.stmts.first()?.stmt.as_ref()?.node.as_ref() else {
        return None;
    };
    let Some(NodeEnum::ResTarget(target)) = select.target_list.first()?.node.as_ref() else { return None };
    fn text(node: &pb::Node) -> Option<String> {
        match node.node.as_ref()? {
            NodeEnum::AExpr(e) if strings(&e.name) == ["||"] => {
                Some(text(e.lexpr.as_deref()?)? + &text(e.rexpr.as_deref()?)?)
            }
            NodeEnum::FuncCall(f) if strings(&f.funcname).last().is_some_and(|n| n == "format") => {
                let (template, args) = f.args.split_first()?;
                let mut out = String::new();
                let (mut chars, mut next) = (text(template)?.chars().collect::<Vec<_>>().into_iter().peekable(), 0);
                while let Some(c) = chars.next() {
                    if c != '%' {
                        out.push(c);
                        continue;
                    }
                    let mut spec = String::new();
                    while let Some(&d) = chars.peek() {
                        chars.next();
                        if d.is_ascii_alphabetic() || d == '%' {
                            spec.push(d);
                            break;
                        }
                        spec.push(d);
                    }
                    let kind = spec.chars().last()?;
                    if kind == '%' {
                        out.push('%');
                        continue;
                    }
                    let index = match spec.split_once('$') {
                        Some((n, _)) => n.parse::<usize>().ok()?.checked_sub(1)?,
                        None => {
                            next += 1;
                            next - 1
                        }
                    };
                    let arg = args.get(index)?;
                    match kind {
                        'L' => out.push_str("'0'"),
                        's' => out.push_str(&text(arg)?),
                        'I' => out.push_str(&format!("\"{}\"", text(arg)?.replace('"', "\"\""))),
                        _ => return None,
                    }
                }
                Some(out)
            }
            _ => literal(node),
        }
    }
    text(target.val.as_deref()?)
}

/// True when steps change the schema (or may: an opaque step).
fn changes_anything(steps: &[Step]) -> bool {
    steps.iter().any(|s| match s {
        Step::Run { changes, .. } => !changes.is_empty(),
        Step::Block { body, .. } => changes_anything(body),
        Step::If { branches, otherwise } => {
            branches.iter().any(|(_, b)| changes_anything(b)) || changes_anything(otherwise)
        }
        Step::Opaque { .. } => true,
    })
}

/// A statement of a `DO` block, parsed as the top level is.
fn run_sql(sql: &str, line: usize) -> Step {
    match pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) {
        Ok(parsed) => {
            let lines = Lines::new(sql);
            let changes = parsed
                .protobuf
                .stmts
                .iter()
                .filter_map(|raw| raw.stmt.as_ref().and_then(|n| n.node.as_ref()))
                .flat_map(|node| changes(node, &lines))
                .collect();
            Step::Run { changes, line }
        }
        Err(e) => Step::Opaque { what: format!("a statement that does not parse ({e})"), line },
    }
}

/// An `IF` condition: `[NOT] EXISTS (SELECT .. FROM <catalog> WHERE <name> = '..' AND ..)` over
/// `pg_type`, `pg_class`, `pg_tables`, `pg_namespace`, `pg_enum`, `pg_attribute` and
/// `information_schema.tables`/`columns`, or `to_regclass('..')`/`to_regtype('..') IS [NOT] NULL`.
fn condition(text: &str) -> Condition {
    let unknown = || Condition::Unknown(text.to_owned());
    let Ok(parsed) = pg_query::parse(&format!("SELECT {text}"), pg_query::ParserOptions::DEFAULT) else {
        return unknown();
    };
    let Some(NodeEnum::SelectStmt(select)) = parsed.protobuf.stmts.first().and_then(|s| s.stmt.as_ref()?.node.as_ref())
    else {
        return unknown();
    };
    let Some(NodeEnum::ResTarget(target)) = select.target_list.first().and_then(|t| t.node.as_ref()) else {
        return unknown();
    };
    let Some(mut expr) = target.val.as_deref().and_then(|v| v.node.as_ref()) else { return unknown() };
    let mut negated = false;
    if let NodeEnum::BoolExpr(b) = expr
        && b.boolop == pb::BoolExprType::NotExpr as i32
        && let Some(inner) = b.args.first().and_then(|a| a.node.as_ref())
    {
        negated = true;
        expr = inner;
    }
    let probe = match expr {
        NodeEnum::SubLink(link) if link.sub_link_type == pb::SubLinkType::ExistsSublink as i32 => {
            match link.subselect.as_deref().and_then(|s| s.node.as_ref()) {
                Some(NodeEnum::SelectStmt(sub)) => catalog_probe(sub),
                _ => None,
            }
        }
        NodeEnum::NullTest(test) => {
            // to_regclass('x') IS NULL: "does not exist".
            negated ^= test.nulltesttype == pb::NullTestType::IsNull as i32;
            match test.arg.as_deref().and_then(|a| a.node.as_ref()) {
                Some(NodeEnum::FuncCall(f)) => {
                    let name = strings(&f.funcname).last().cloned().unwrap_or_default();
                    let arg = f.args.first().and_then(literal).and_then(|v| relation_name(&v));
                    match (name.as_str(), arg) {
                        ("to_regclass", Some(q)) => Some(Probe::Relation(q.schema, q.name)),
                        ("to_regtype", Some(q)) => Some(Probe::Type(q.name)),
                        _ => None,
                    }
                }
                _ => None,
            }
        }
        _ => None,
    };
    match probe {
        Some(probe) => Condition::Exists { negated, probe },
        None => unknown(),
    }
}

/// A string literal, possibly cast (`'x'`, `'x'::regclass`).
fn literal(node: &pb::Node) -> Option<String> {
    match node.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            pb::a_const::Val::Sval(s) => Some(s.sval.clone()),
            _ => None,
        },
        NodeEnum::TypeCast(t) => literal(t.arg.as_deref()?),
        _ => None,
    }
}

/// The lookup a catalog query makes: its relation and its `column = 'literal'` conditions.
fn catalog_probe(sub: &pb::SelectStmt) -> Option<Probe> {
    let [from] = sub.from_clause.as_slice() else { return None };
    let Some(NodeEnum::RangeVar(rv)) = from.node.as_ref() else { return None };
    let mut eq = std::collections::HashMap::new();
    fn conjuncts<'a>(node: &'a pb::Node, out: &mut Vec<&'a pb::Node>) {
        match node.node.as_ref() {
            Some(NodeEnum::BoolExpr(b)) if b.boolop == pb::BoolExprType::AndExpr as i32 => {
                b.args.iter().for_each(|a| conjuncts(a, out))
            }
            _ => out.push(node),
        }
    }
    let mut parts = Vec::new();
    if let Some(w) = sub.where_clause.as_deref() {
        conjuncts(w, &mut parts);
    }
    for part in parts {
        if let Some(NodeEnum::AExpr(e)) = part.node.as_ref()
            && strings(&e.name) == ["="]
            && let (Some(l), Some(r)) = (e.lexpr.as_deref(), e.rexpr.as_deref())
        {
            let column = |n: &pb::Node| match n.node.as_ref() {
                Some(NodeEnum::ColumnRef(c)) => c.fields.last().and_then(sval).map(str::to_ascii_lowercase),
                _ => None,
            };
            if let (Some(c), Some(v)) = (column(l), literal(r)) {
                eq.insert(c, v);
            } else if let (Some(c), Some(v)) = (column(r), literal(l)) {
                eq.insert(c, v);
            }
        }
    }
    let get = |k: &str| eq.get(k).cloned();
    let qualified = |v: String| qname(&v.split('.').map(str::to_owned).collect::<Vec<_>>());
    match (rv.schemaname.as_str(), rv.relname.as_str()) {
        ("" | "pg_catalog", "pg_type") => get("typname").map(Probe::Type),
        ("" | "pg_catalog", "pg_class") => get("relname").map(|n| Probe::Relation(None, n)),
        ("" | "pg_catalog", "pg_tables") => get("tablename").map(|n| Probe::Relation(get("schemaname"), n)),
        ("" | "pg_catalog", "pg_namespace") => get("nspname").map(Probe::Schema),
        ("" | "pg_catalog", "pg_enum") => {
            let (label, ty) = (get("enumlabel")?, get("enumtypid")?);
            Some(Probe::EnumLabel(qualified(ty).name, label))
        }
        ("" | "pg_catalog", "pg_attribute") => {
            let table = qualified(get("attrelid")?);
            Some(Probe::Column(table.schema, table.name, get("attname")?))
        }
        ("information_schema", "tables") => get("table_name").map(|n| Probe::Relation(get("table_schema"), n)),
        ("information_schema", "columns") => {
            Some(Probe::Column(get("table_schema"), get("table_name")?, get("column_name")?))
        }
        _ => None,
    }
}

fn alter_action(c: &pb::AlterTableCmd, lines: &Lines) -> Option<AlterAction> {
    use pb::AlterTableType as T;
    let def = c.def.as_deref().and_then(|d| d.node.as_ref());
    let col = || c.name.clone();
    Some(match T::try_from(c.subtype).ok()? {
        T::AtAddColumn => match def? {
            NodeEnum::ColumnDef(d) => {
                AlterAction::AddColumn { column: column_spec(d, lines), if_not_exists: c.missing_ok }
            }
            _ => return None,
        },
        T::AtDropColumn => AlterAction::DropColumn {
            name: col(),
            missing_ok: c.missing_ok,
            cascade: c.behavior == pb::DropBehavior::DropCascade as i32,
        },
        T::AtAlterColumnType => match def? {
            NodeEnum::ColumnDef(d) => AlterAction::AlterType { column: col(), ty: type_spec(d.type_name.as_ref()?) },
            _ => return None,
        },
        T::AtSetNotNull => AlterAction::SetNotNull(col()),
        T::AtDropNotNull => AlterAction::DropNotNull(col()),
        T::AtColumnDefault => {
            if def.is_some() && !is_null_literal(c.def.as_deref()) {
                AlterAction::SetDefault(col())
            } else {
                AlterAction::DropDefault(col())
            }
        }
        T::AtAddIdentity => match def? {
            NodeEnum::Constraint(k) => AlterAction::AddIdentity { column: col(), kind: identity(&k.generated_when) },
            _ => return None,
        },
        T::AtSetIdentity => {
            // def is a list of DefElem; `generated` carries 'a' (ALWAYS) or 'd' (BY DEFAULT).
            let NodeEnum::List(list) = def? else { return None };
            let kind = list.items.iter().find_map(|i| match i.node.as_ref()? {
                NodeEnum::DefElem(d) if d.defname == "generated" => match d.arg.as_deref()?.node.as_ref()? {
                    NodeEnum::Integer(v) => {
                        Some(if v.ival == i32::from(b'd') { Identity::ByDefault } else { Identity::Always })
                    }
                    _ => None,
                },
                _ => None,
            })?;
            AlterAction::SetIdentity { column: col(), kind }
        }
        T::AtDropIdentity => AlterAction::DropIdentity { column: col(), missing_ok: c.missing_ok },
        T::AtDropExpression => AlterAction::DropExpression { column: col(), missing_ok: c.missing_ok },
        T::AtAddConstraint => match def? {
            NodeEnum::Constraint(k) if k.contype == pb::ConstrType::ConstrPrimary as i32 => {
                if k.indexname.is_empty() {
                    AlterAction::AddPrimaryKey(strings(&k.keys))
                } else {
                    AlterAction::AddPrimaryKeyUsingIndex(k.indexname.clone())
                }
            }
            _ => return None,
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Vec<Change> {
        parse_file("t.up.sql", sql).unwrap().into_iter().map(|l| l.change).collect()
    }

    #[test]
    fn statements_know_their_lines() {
        let located =
            parse_file("f.up.sql", "-- c\n\nCREATE TABLE a (x int);\n\n  CREATE TYPE e AS ENUM ('x');").unwrap();
        assert_eq!(located.iter().map(|l| l.origin.line).collect::<Vec<_>>(), [3, 5]);
    }

    #[test]
    fn syntax_errors_name_the_line_of_the_bad_token() {
        let err = parse_file("f.up.sql", "CREATE TABLE a (x int);\nCREATE TABLE b (\n  y int,\n  z intt eger\n);")
            .unwrap_err();
        assert_eq!(err.origin.line, 4);
        assert_eq!(err.message, "syntax error at or near \"eger\"");
    }

    #[test]
    fn column_constraints_fold_into_the_column() {
        let Change::CreateTable { elements, .. } = &parse(
            "CREATE TABLE t (a int PRIMARY KEY, b text NOT NULL DEFAULT 'x', c bigint GENERATED BY DEFAULT AS IDENTITY, \
             d int GENERATED ALWAYS AS (a * 2) STORED, e varchar(20)[], CONSTRAINT pk PRIMARY KEY (a, b))",
        )[0] else {
            panic!()
        };
        let TableElement::Column(a) = &elements[0] else { panic!() };
        assert!(a.primary_key && !a.not_null);
        let TableElement::Column(b) = &elements[1] else { panic!() };
        assert!(b.not_null && b.has_default);
        let TableElement::Column(c) = &elements[2] else { panic!() };
        assert_eq!(c.identity, Some(Identity::ByDefault));
        let TableElement::Column(d) = &elements[3] else { panic!() };
        assert!(d.generated);
        let TableElement::Column(e) = &elements[4] else { panic!() };
        assert_eq!((e.ty.name.name.as_str(), e.ty.typmods.as_slice(), e.ty.array), ("varchar", &[20][..], true));
        assert_eq!(elements[5], TableElement::PrimaryKey(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn a_function_keeps_its_signature() {
        let sql = "CREATE OR REPLACE FUNCTION s.f(a int, VARIADIC b text[] DEFAULT '{}', OUT c int8, OUT d text)
                   RETURNS SETOF record LANGUAGE sql STABLE AS $$ SELECT 1::int8, 'x' $$;
                   DROP FUNCTION IF EXISTS s.f(int, text[]), g;";
        let changes = parse(sql);
        let [Change::CreateFunction { name, replace, function }, Change::DropFunctions { names, missing_ok }] =
            changes.as_slice()
        else {
            panic!("two changes");
        };
        assert_eq!((name.schema.as_deref(), name.name.as_str(), *replace), (Some("s"), "f", true));
        let args: Vec<(&str, &str)> = function.args.iter().map(|(n, t)| (n.as_str(), t.name.name.as_str())).collect();
        assert_eq!(args, [("a", "int4"), ("b", "text")]);
        let outs: Vec<&str> = function.outs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(outs, ["c", "d"]);
        assert_eq!((function.defaults, function.variadic, function.retset, function.volatile), (1, true, true, b's'));
        assert!(*missing_ok);
        assert_eq!(names.len(), 2);
        assert_eq!(names[0].1.as_ref().map(Vec::len), Some(2));
        assert_eq!((names[1].0.name.as_str(), names[1].1.is_none()), ("g", true));
    }

    #[test]
    fn skipped_statements_produce_no_changes() {
        let sql = "CREATE INDEX i ON t (x);
                   DO $$ BEGIN PERFORM 1; END $$; COMMENT ON TABLE t IS 'x';
                   GRANT SELECT ON t TO PUBLIC; INSERT INTO t VALUES (1); SET statement_timeout = 0;
                   BEGIN; COMMIT; SELECT set_config('lock_timeout', '1s', false); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
                   CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();";
        assert_eq!(parse(sql), vec![]);
    }

    #[test]
    fn a_procedure_is_kept_with_its_out_arguments_in_the_signature() {
        let changes = parse("CREATE PROCEDURE p(a int8, OUT b text) LANGUAGE sql BEGIN ATOMIC SELECT 'x'; END;");
        let [Change::CreateFunction { function, .. }] = changes.as_slice() else { panic!("{changes:?}") };
        assert!(function.procedure);
        assert_eq!(function.args.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(function.outs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn session_settings_and_extensions_the_model_follows() {
        let sql = "SET search_path TO app, \"My Schema\", public; SET LOCAL search_path = DEFAULT; RESET search_path;
                   SELECT pg_catalog.set_config('search_path', '', false); CREATE EXTENSION IF NOT EXISTS citext SCHEMA ext;";
        assert_eq!(
            parse(sql),
            vec![
                Change::SetSearchPath(Some(vec!["app".into(), "My Schema".into(), "public".into()])),
                Change::SetSearchPath(None),
                Change::SetSearchPath(None),
                Change::SetSearchPath(Some(vec![])),
                Change::CreateExtension { name: "citext".into(), schema: Some("ext".into()) },
            ]
        );
    }
}
