//! Typing a hand-written statement against the schema model, with no database: `sql!`'s logic.
//! The statement is parsed by PostgreSQL's own grammar (pg_query); names resolve against the
//! tables the migrations built; operators, functions and casts resolve against PostgreSQL's own
//! catalog ([`catalog`]) by a port of its overload rules ([`resolve`]). The result: the type of
//! every `$n`, and the name, type and nullability of every result column. Anything the typer
//! cannot be sure of is refused with the reason and the place in the SQL, never guessed.

pub mod catalog;
pub mod resolve;

use pg_query::{NodeEnum, protobuf as pb};

use crate::{
    ddl::{range_var, strings, sval, type_spec},
    model::{ColType, Relation, Schema, truncate_ident},
};
use catalog::oid;
use resolve::Env;

/// A typed statement.
#[derive(Debug, Clone)]
pub struct Typed {
    /// The type of `$1`, `$2`, ..
    pub params: Vec<u32>,
    pub columns: Vec<OutColumn>,
    /// A plain SELECT calling only built-in functions, without row locks or data-modifying
    /// CTEs: safe to run again after a connection fault.
    pub read_only: bool,
    /// The migrations' columns it reads: (table index, column name), for a view's dependencies.
    pub reads: Vec<(usize, String)>,
    /// The sequences it reads (positions in the model's sequences), for the same.
    pub sequences: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutColumn {
    pub name: String,
    pub ty: u32,
    pub nullable: bool,
    /// The type with its modifiers (`varchar(5)`) and domain, where PostgreSQL keeps them: a
    /// column's, a cast's.
    pub declared: Option<ColType>,
}

/// Why a statement cannot be typed, and where (a byte offset into the SQL).
#[derive(Debug, Clone)]
pub struct TypeError {
    pub message: String,
    pub at: Option<usize>,
}

type R<T> = Result<T, TypeError>;

fn err<T>(message: impl Into<String>, at: i32) -> R<T> {
    Err(TypeError { message: message.into(), at: usize::try_from(at).ok() })
}

/// An expression's type: `UNKNOWN` for an untyped literal or a `$n` not typed yet.
#[derive(Debug, Clone)]
struct E {
    ty: u32,
    nullable: bool,
    /// The column name PostgreSQL gives it in a result (`?column?` when none).
    name: Option<String>,
    /// A bare `$n` (0-based), still open to be typed by its context.
    param: Option<usize>,
    /// Contains an aggregate (of this query level).
    agg: bool,
    /// A string literal of no type yet, and where it is: PostgreSQL reads it as the type its
    /// context gives it while it parses (an enum's label that does not exist fails PREPARE).
    literal: Option<(String, i32)>,
    /// The type with its modifiers and domain, for a column or a cast (see `OutColumn`).
    declared: Option<ColType>,
}

impl E {
    fn of(ty: u32, nullable: bool) -> E {
        E { ty, nullable, name: None, param: None, agg: false, literal: None, declared: None }
    }
    fn named(mut self, name: &str) -> E {
        self.name = Some(name.to_owned());
        self
    }
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    ty: u32,
    nullable: bool,
    /// Merged into a JOIN USING column: reachable only qualified.
    hidden: bool,
    /// The migrations' table column it is: (table index, column name).
    source: Option<(usize, String)>,
    /// See `E::declared`.
    declared: Option<ColType>,
}

impl Col {
    fn new(name: String, ty: u32, nullable: bool) -> Col {
        Col { name, ty, nullable, hidden: false, source: None, declared: None }
    }
}

#[derive(Debug, Clone)]
struct Rel {
    alias: Option<String>,
    cols: Vec<Col>,
    /// The migrations' table it is (a whole-row reference to it is of the table's row type).
    table: Option<usize>,
    /// On the nullable side of an outer join (a whole-row reference to it may be NULL).
    outer: bool,
}

impl Rel {
    fn new(alias: Option<String>, cols: Vec<Col>) -> Rel {
        Rel { alias, cols, table: None, outer: false }
    }
}

/// One query level's FROM: its relations and what `*` lists.
#[derive(Debug, Default)]
struct Level {
    rels: Vec<Rel>,
    star: Vec<(usize, usize)>,
    /// Has GROUP BY: every group has a row, so an aggregate of non-null values is not NULL.
    grouped: bool,
}

impl Level {
    /// The (relation, column) pairs an unqualified column name can mean here.
    fn unqualified(&self, name: &str) -> Vec<(usize, usize)> {
        let mut hits = Vec::new();
        for (r, rel) in self.rels.iter().enumerate() {
            for (c, col) in rel.cols.iter().enumerate() {
                if col.name == name && !col.hidden {
                    hits.push((r, c));
                }
            }
        }
        hits
    }
}

pub struct Typer<'a> {
    env: Env<'a>,
    params: Vec<Option<u32>>,
    levels: Vec<Level>,
    /// CTEs in scope, innermost last: name -> columns.
    ctes: Vec<(String, Vec<Col>)>,
    read_only: bool,
    /// The next SELECT's untyped outputs stay untyped (a set operation's branch, INSERT's
    /// SELECT): its context types them, not the text default.
    defer_unknown: bool,
    /// A set-returning function may be called here (FROM, a select list).
    set_returning_ok: bool,
    /// The OUT columns of the function just typed in FROM, when it has several.
    outs: Vec<(u32, String)>,
    /// A function returning `record` may be called here (FROM, where a column definition list
    /// gives its columns).
    record_ok: bool,
    /// The call being typed is `CALL`'s: its candidates are the procedures.
    calling: bool,
    /// The migrations' columns read so far.
    reads: Vec<(usize, String)>,
    sequences: Vec<usize>,
}

/// Types `sql` against `schema`.
pub fn type_statement(schema: &Schema, sql: &str) -> R<Typed> {
    let parsed = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT)
        .map_err(|e| TypeError { message: format!("syntax error: {e}"), at: None })?;
    let stmts = &parsed.protobuf.stmts;
    if stmts.len() != 1 {
        return err(format!("expected one statement, found {}", stmts.len()), -1);
    }
    let Some(node) = stmts[0].stmt.as_ref().and_then(|s| s.node.as_ref()) else {
        return err("empty statement", -1);
    };
    let mut t = Typer {
        env: Env { cat: catalog::get(), schema },
        params: Vec::new(),
        levels: Vec::new(),
        ctes: Vec::new(),
        read_only: true,
        defer_unknown: false,
        set_returning_ok: false,
        outs: Vec::new(),
        record_ok: false,
        calling: false,
        reads: Vec::new(),
        sequences: Vec::new(),
    };
    let columns = match node {
        NodeEnum::SelectStmt(s) => t.select(s)?,
        NodeEnum::InsertStmt(s) => {
            t.read_only = false;
            t.insert(s)?
        }
        NodeEnum::UpdateStmt(s) => {
            t.read_only = false;
            t.update(s)?
        }
        NodeEnum::DeleteStmt(s) => {
            t.read_only = false;
            t.delete(s)?
        }
        NodeEnum::CallStmt(c) => {
            t.read_only = false;
            t.call(c)?
        }
        NodeEnum::TransactionStmt(_) => {
            return err(
                "transaction control in sql! would leave a pooled connection inside a transaction: run the \
                 statements in `db.transaction(async |tx| ..)`",
                -1,
            );
        }
        utility => {
            // Anything else (TRUNCATE, LOCK, VACUUM, REFRESH MATERIALIZED VIEW, NOTIFY, ..) runs
            // with `execute`: no parameters (PostgreSQL takes none in them) and no rows. The
            // tables it names must exist.
            if let Some(at) = find_param(sql, 1) {
                return Err(TypeError {
                    message: "PostgreSQL takes parameters only in SELECT, INSERT, UPDATE, DELETE and CALL".into(),
                    at: Some(at),
                });
            }
            let named: Vec<&pb::RangeVar> = match utility {
                NodeEnum::TruncateStmt(s) => s.relations.iter().filter_map(range_var_node).collect(),
                NodeEnum::LockStmt(s) => s.relations.iter().filter_map(range_var_node).collect(),
                NodeEnum::VacuumStmt(s) => s
                    .rels
                    .iter()
                    .filter_map(|r| match r.node.as_ref()? {
                        NodeEnum::VacuumRelation(v) => v.relation.as_ref(),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for rv in named {
                t.table(Some(rv), rv.location)?;
            }
            t.read_only = false;
            Vec::new()
        }
    };
    let mut params = Vec::new();
    for (i, p) in t.params.iter().enumerate() {
        match p {
            Some(ty) if *ty != oid::UNKNOWN => params.push(*ty),
            _ => {
                let at = find_param(sql, i + 1);
                return Err(TypeError {
                    message: format!(
                        "cannot infer the type of ${}: add a cast (`${}::text`, `${}::int8`, ..)",
                        i + 1,
                        i + 1,
                        i + 1
                    ),
                    at,
                });
            }
        }
    }
    let mut out = Vec::new();
    for c in &columns {
        // Pseudo-types cannot be read, but `void` can (an empty value: `taulu::Raw`).
        // Records (and arrays of them) read as raw values.
        let record = c.ty == oid::RECORD || c.ty == oid::RECORD_ARRAY;
        if t.env.category(c.ty) == b'P' && c.ty != oid::VOID && !record {
            let name = c.name.as_deref().unwrap_or("?column?");
            return err(
                format!("column \"{name}\" is of type {}, which cannot be read: cast it", t.env.name(c.ty)),
                -1,
            );
        }
    }
    for c in columns {
        // An untyped literal or parameter as a result column is text, as in PostgreSQL.
        // A result column of a domain type reports the domain's base type.
        out.push(OutColumn {
            name: c.name.unwrap_or_else(|| "?column?".into()),
            ty: t.env.base(c.ty),
            nullable: c.nullable,
            declared: c.declared,
        });
    }
    Ok(Typed { params, columns: out, read_only: t.read_only, reads: t.reads, sequences: t.sequences })
}

fn range_var_node(n: &pb::Node) -> Option<&pb::RangeVar> {
    match n.node.as_ref()? {
        NodeEnum::RangeVar(rv) => Some(rv),
        _ => None,
    }
}

fn find_param(sql: &str, n: usize) -> Option<usize> {
    let needle = format!("${n}");
    sql.match_indices(&needle)
        .find(|(i, _)| !sql[i + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
        .map(|(i, _)| i)
}

fn node(n: &Option<Box<pb::Node>>) -> Option<&NodeEnum> {
    n.as_deref().and_then(|n| n.node.as_ref())
}

fn location(n: &NodeEnum) -> i32 {
    match n {
        NodeEnum::ColumnRef(c) => c.location,
        NodeEnum::ParamRef(p) => p.location,
        NodeEnum::AConst(c) => c.location,
        NodeEnum::TypeCast(c) => c.location,
        NodeEnum::AExpr(a) => a.location,
        NodeEnum::FuncCall(f) => f.location,
        NodeEnum::BoolExpr(b) => b.location,
        NodeEnum::SubLink(s) => s.location,
        NodeEnum::CaseExpr(c) => c.location,
        NodeEnum::CoalesceExpr(c) => c.location,
        NodeEnum::NullTest(t) => t.location,
        NodeEnum::ResTarget(t) => t.location,
        NodeEnum::RangeVar(r) => r.location,
        _ => -1,
    }
}

impl Typer<'_> {
    // ----- statements -----

    fn with(&mut self, with: Option<&pb::WithClause>) -> R<usize> {
        let Some(w) = with else { return Ok(0) };
        for cte in &w.ctes {
            let Some(NodeEnum::CommonTableExpr(c)) = cte.node.as_ref() else { continue };
            let names = strings(&c.aliascolnames);
            let mut cols = match node(&c.ctequery) {
                Some(NodeEnum::SelectStmt(s)) if w.recursive && s.op == pb::SetOperation::SetopUnion as i32 => {
                    // The non-recursive term first; then the recursive one sees the CTE.
                    let larg = s.larg.as_deref().expect("a UNION has two sides");
                    let left = self.select(larg)?;
                    let mut cols = self.cte_cols(left, &names, c.location)?;
                    self.ctes.push((c.ctename.clone(), cols.clone()));
                    let rarg = s.rarg.as_deref().expect("a UNION has two sides");
                    let right = self.select(rarg)?;
                    self.ctes.pop();
                    if right.len() != cols.len() {
                        return err("each UNION query must have the same number of columns", c.location);
                    }
                    for (c, r) in cols.iter_mut().zip(right) {
                        c.nullable |= r.nullable;
                    }
                    cols
                }
                Some(NodeEnum::SelectStmt(s)) => {
                    let out = self.select(s)?;
                    self.cte_cols(out, &names, c.location)?
                }
                Some(other) => {
                    self.read_only = false;
                    let out = match other {
                        NodeEnum::InsertStmt(s) => self.insert(s)?,
                        NodeEnum::UpdateStmt(s) => self.update(s)?,
                        NodeEnum::DeleteStmt(s) => self.delete(s)?,
                        _ => return err("this kind of WITH query is not typed", c.location),
                    };
                    self.cte_cols(out, &names, c.location)?
                }
                None => return err("empty WITH query", c.location),
            };
            for col in &mut cols {
                col.hidden = false;
            }
            self.ctes.push((c.ctename.clone(), cols));
        }
        Ok(w.ctes.len())
    }

    fn cte_cols(&self, out: Vec<E>, names: &[String], at: i32) -> R<Vec<Col>> {
        if names.len() > out.len() {
            return err(
                format!("WITH query has {} columns available but {} columns specified", out.len(), names.len()),
                at,
            );
        }
        Ok(out
            .into_iter()
            .enumerate()
            .map(|(i, e)| Col {
                declared: e.declared,
                ..Col::new(
                    names.get(i).cloned().or(e.name).unwrap_or_else(|| "?column?".into()),
                    if e.ty == oid::UNKNOWN { oid::TEXT } else { e.ty },
                    e.nullable,
                )
            })
            .collect())
    }

    /// Runs `body` with a statement's WITH queries in scope.
    fn with_ctes<T>(&mut self, with: Option<&pb::WithClause>, body: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        let ctes = self.with(with)?;
        let out = body(self);
        self.ctes.truncate(self.ctes.len() - ctes);
        out
    }

    /// Runs `body` in a query level of its own (the FROM scope of a statement).
    fn in_level<T>(&mut self, body: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        self.levels.push(Level::default());
        let out = body(self);
        self.levels.pop();
        out
    }

    fn select(&mut self, s: &pb::SelectStmt) -> R<Vec<E>> {
        self.with_ctes(s.with_clause.as_ref(), |t| t.select_body(s))
    }

    fn select_body(&mut self, s: &pb::SelectStmt) -> R<Vec<E>> {
        if s.op != pb::SetOperation::SetopNone as i32 && s.op != 0 {
            return self.set_op(s);
        }
        if !s.values_lists.is_empty() {
            return self.values(&s.values_lists, None);
        }
        if s.into_clause.is_some() {
            return err("SELECT INTO is not a query: use CREATE TABLE AS in a migration", -1);
        }
        if !s.locking_clause.is_empty() {
            self.read_only = false;
        }
        self.in_level(|t| t.select_level(s))
    }

    fn select_level(&mut self, s: &pb::SelectStmt) -> R<Vec<E>> {
        let defer_unknown = std::mem::take(&mut self.defer_unknown);
        self.level().grouped = !s.group_clause.is_empty();
        for item in &s.from_clause {
            let star = self.source(item.node.as_ref().expect("FROM items are nodes"))?;
            self.level().star.extend(star);
        }
        if let Some(w) = node(&s.where_clause) {
            let e = self.expr(w)?;
            self.want(&e, oid::BOOL, "WHERE", location(w))?;
            self.prove_not_null(w);
        }
        // GROUP BY a name no input column has, or a position: an output column (PostgreSQL looks
        // for an input column first), checked once the select list is typed.
        let mut by_output = Vec::new();
        for g in &s.group_clause {
            let g = g.node.as_ref().expect("nodes");
            match g {
                NodeEnum::ColumnRef(c) if c.fields.len() == 1 && self.peek_column(c).is_none() => by_output.push(g),
                NodeEnum::AConst(_) => {}
                _ => {
                    // A set-returning function may be grouped by.
                    self.set_returning_ok = matches!(g, NodeEnum::FuncCall(_));
                    let e = self.expr(g);
                    self.set_returning_ok = false;
                    e?;
                }
            }
        }
        if let Some(h) = node(&s.having_clause) {
            let e = self.expr(h)?;
            self.want(&e, oid::BOOL, "HAVING", location(h))?;
        }
        let mut out = Vec::new();
        for t in &s.target_list {
            let Some(NodeEnum::ResTarget(t)) = t.node.as_ref() else { continue };
            out.extend(self.target(t)?);
        }
        for g in by_output {
            let NodeEnum::ColumnRef(c) = g else { continue };
            let name = c.fields.first().and_then(sval).unwrap_or_default();
            if !out.iter().any(|e| e.name.as_deref() == Some(name)) {
                self.expr(g)?; // the column-does-not-exist error, with its suggestion
            }
        }
        for d in &s.distinct_clause {
            if let Some(n) = d.node.as_ref() {
                self.expr(n)?;
            }
        }
        for sort in &s.sort_clause {
            if let Some(NodeEnum::SortBy(b)) = sort.node.as_ref()
                && let Some(n) = node(&b.node)
            {
                // ORDER BY an output column by name or position, else an expression.
                let by_output = match n {
                    NodeEnum::ColumnRef(c) if c.fields.len() == 1 => {
                        let name = c.fields.first().and_then(sval).unwrap_or_default();
                        out.iter().any(|e| e.name.as_deref() == Some(name))
                    }
                    NodeEnum::AConst(_) => true,
                    _ => false,
                };
                if !by_output {
                    self.expr(n)?;
                }
            }
        }
        self.limit(s)?;
        for e in out.iter_mut().filter(|_| !defer_unknown) {
            if e.ty == oid::UNKNOWN {
                if let Some(p) = e.param {
                    self.params[p] = Some(oid::TEXT);
                }
                e.ty = oid::TEXT;
            }
        }
        Ok(out)
    }

    fn limit(&mut self, s: &pb::SelectStmt) -> R<()> {
        for n in [node(&s.limit_count), node(&s.limit_offset)].into_iter().flatten() {
            let e = self.expr(n)?;
            self.want(&e, oid::INT8, "LIMIT/OFFSET", location(n))?;
        }
        Ok(())
    }

    fn set_op(&mut self, s: &pb::SelectStmt) -> R<Vec<E>> {
        let (Some(l), Some(r)) = (s.larg.as_deref(), s.rarg.as_deref()) else {
            return err("a set operation has two sides", -1);
        };
        self.defer_unknown = true;
        let left = self.select(l)?;
        self.defer_unknown = true;
        let right = self.select(r)?;
        self.defer_unknown = false;
        if left.len() != right.len() {
            return err("each UNION/INTERSECT/EXCEPT query must have the same number of columns", -1);
        }
        let mut out = Vec::new();
        for (a, b) in left.into_iter().zip(right) {
            let ty = self.env.common_type(&[a.ty, b.ty]).map_err(|m| TypeError { message: m, at: None })?;
            self.check_literal(&a, ty)?;
            self.check_literal(&b, ty)?;
            for p in [a.param, b.param].into_iter().flatten() {
                self.params[p] = Some(ty);
            }
            let nullable = match s.op {
                x if x == pb::SetOperation::SetopUnion as i32 => a.nullable || b.nullable,
                x if x == pb::SetOperation::SetopIntersect as i32 => a.nullable && b.nullable,
                _ => a.nullable,
            };
            out.push(E { name: a.name, ..E::of(ty, nullable) });
        }
        self.in_level(|t| t.limit(s))?;
        Ok(out)
    }

    /// `VALUES (..), (..)`: column types are the common type of each column; `targets` types
    /// the values of an INSERT by their column.
    fn values(&mut self, rows: &[pb::Node], targets: Option<&[Col]>) -> R<Vec<E>> {
        let columns = self.in_level(|t| {
            let mut columns: Vec<Vec<E>> = Vec::new();
            for row in rows {
                let Some(NodeEnum::List(l)) = row.node.as_ref() else { continue };
                for (i, v) in l.items.iter().enumerate() {
                    let n = v.node.as_ref().expect("nodes");
                    if let NodeEnum::SetToDefault(_) = n {
                        continue;
                    }
                    let e = t.expr(n)?;
                    if let Some(targets) = targets {
                        let Some(col) = targets.get(i) else {
                            return err("INSERT has more expressions than target columns", location(n));
                        };
                        t.assign(&e, col, location(n))?;
                    }
                    if columns.len() <= i {
                        columns.resize(i + 1, Vec::new());
                    }
                    columns[i].push(e);
                }
            }
            Ok(columns)
        })?;
        let mut out = Vec::new();
        for (i, col) in columns.into_iter().enumerate() {
            let types: Vec<u32> = col.iter().map(|e| e.ty).collect();
            let ty =
                self.env.common_type(&types).map_err(|m| TypeError { message: format!("VALUES: {m}"), at: None })?;
            for e in &col {
                self.check_literal(e, ty)?;
            }
            for p in col.iter().filter_map(|e| e.param) {
                if self.params[p].is_none_or(|t| t == oid::UNKNOWN) {
                    self.params[p] = Some(ty);
                }
            }
            out.push(E::of(ty, col.iter().any(|e| e.nullable)).named(&format!("column{}", i + 1)));
        }
        Ok(out)
    }

    fn insert(&mut self, s: &pb::InsertStmt) -> R<Vec<E>> {
        self.with_ctes(s.with_clause.as_ref(), |t| t.insert_body(s))
    }

    fn insert_body(&mut self, s: &pb::InsertStmt) -> R<Vec<E>> {
        let rv = s.relation.as_ref();
        let at = rv.map_or(-1, |r| r.location);
        let rel = self.changed_table(rv, at)?;
        let mut targets = Vec::new();
        if s.cols.is_empty() {
            targets = rel.cols.clone();
        }
        for c in &s.cols {
            let Some(NodeEnum::ResTarget(t)) = c.node.as_ref() else { continue };
            let name = truncate_ident(&t.name);
            match rel.cols.iter().find(|c| c.name == name) {
                Some(col) => targets.push(col.clone()),
                None => return err(self.no_column(&name, &rel), t.location),
            }
        }
        match node(&s.select_stmt) {
            Some(NodeEnum::SelectStmt(sel)) if !sel.values_lists.is_empty() => {
                self.values(&sel.values_lists, Some(&targets))?;
            }
            Some(NodeEnum::SelectStmt(sel)) => {
                self.defer_unknown = true;
                let out = self.select(sel)?;
                self.defer_unknown = false;
                if out.len() > targets.len() {
                    return err("INSERT has more expressions than target columns", -1);
                }
                for (e, col) in out.iter().zip(&targets) {
                    self.assign(e, col, -1)?;
                }
            }
            _ => {} // DEFAULT VALUES
        }
        let alias = rv.and_then(|r| r.alias.as_ref()).map(|a| a.aliasname.clone());
        self.in_level(|t| {
            t.push_rel(Rel { alias: alias.or(rel.alias.clone()), ..rel.clone() });
            t.on_conflict(s, &rel)?;
            t.returning(s.returning_clause.as_ref())
        })
    }

    fn on_conflict(&mut self, s: &pb::InsertStmt, rel: &Rel) -> R<()> {
        let Some(oc) = s.on_conflict_clause.as_deref() else { return Ok(()) };
        if let Some(infer) = oc.infer.as_deref() {
            for e in &infer.index_elems {
                if let Some(NodeEnum::IndexElem(ie)) = e.node.as_ref() {
                    if !ie.name.is_empty() && !rel.cols.iter().any(|c| c.name == ie.name) {
                        return err(self.no_column(&ie.name, rel), infer.location);
                    }
                    if let Some(x) = node(&ie.expr) {
                        self.expr(x)?;
                    }
                }
            }
            if let Some(w) = node(&infer.where_clause) {
                self.expr(w)?;
            }
        }
        if oc.action == pb::OnConflictAction::OnconflictUpdate as i32 {
            // EXCLUDED is the row proposed for insertion.
            self.push_rel(Rel::new(Some("excluded".into()), rel.cols.clone()));
            let typed = self.set_list(&oc.target_list, rel).and_then(|()| match node(&oc.where_clause) {
                Some(w) => {
                    let e = self.expr(w)?;
                    self.want(&e, oid::BOOL, "WHERE", location(w))
                }
                None => Ok(()),
            });
            // RETURNING does not see EXCLUDED.
            self.level().rels.pop();
            typed?;
        }
        Ok(())
    }

    fn set_list(&mut self, targets: &[pb::Node], rel: &Rel) -> R<()> {
        for t in targets {
            let Some(NodeEnum::ResTarget(t)) = t.node.as_ref() else { continue };
            let name = truncate_ident(&t.name);
            let Some(col) = rel.cols.iter().find(|c| c.name == name).cloned() else {
                return err(self.no_column(&name, rel), t.location);
            };
            if !t.indirection.is_empty() {
                return err("SET of a field or element is not typed", t.location);
            }
            match node(&t.val) {
                Some(NodeEnum::SetToDefault(_)) | None => {}
                Some(NodeEnum::MultiAssignRef(m)) => {
                    let e = self.multi_assigned(m, t.location)?;
                    self.assign(&e, &col, t.location)?;
                }
                Some(v) => {
                    let e = self.expr(v)?;
                    self.assign(&e, &col, location(v))?;
                }
            }
        }
        Ok(())
    }

    /// Value `colno` of `SET (a, b) = ($1, $2)` or `= (SELECT x, y ..)`.
    fn multi_assigned(&mut self, m: &pb::MultiAssignRef, at: i32) -> R<E> {
        let i = usize::try_from(m.colno - 1).unwrap_or(usize::MAX);
        match node(&m.source) {
            Some(NodeEnum::RowExpr(r)) => match r.args.get(i).and_then(|a| a.node.as_ref()) {
                Some(x) => self.expr(x),
                None => err("SET (..) = (..) has more columns than values", at),
            },
            Some(NodeEnum::SubLink(s)) => match node(&s.subselect) {
                Some(NodeEnum::SelectStmt(sel)) => match self.select(sel)?.get(i) {
                    // The subquery may find no row.
                    Some(e) => Ok(E { nullable: true, ..e.clone() }),
                    None => err("SET (..) = (SELECT ..) has more columns than the subquery", at),
                },
                _ => err("SET (..) = a subquery", at),
            },
            _ => err("SET (..) = (..) takes a row of values or a subquery", at),
        }
    }

    fn update(&mut self, s: &pb::UpdateStmt) -> R<Vec<E>> {
        self.with_ctes(s.with_clause.as_ref(), |t| t.in_level(|t| t.update_body(s)))
    }

    fn update_body(&mut self, s: &pb::UpdateStmt) -> R<Vec<E>> {
        let rel = self.modified_table(s.relation.as_ref(), &s.from_clause, &s.where_clause)?;
        self.set_list(&s.target_list, &rel)?;
        self.returning(s.returning_clause.as_ref())
    }

    /// The table an UPDATE or DELETE changes (under its alias), the other tables it reads
    /// (UPDATE's FROM, DELETE's USING) and its WHERE; returns the changed table.
    fn modified_table(
        &mut self,
        rv: Option<&pb::RangeVar>,
        others: &[pb::Node],
        where_clause: &Option<Box<pb::Node>>,
    ) -> R<Rel> {
        let rel = self.changed_table(rv, rv.map_or(-1, |r| r.location))?;
        let alias = rv.and_then(|r| r.alias.as_ref()).map(|a| a.aliasname.clone());
        self.push_rel(Rel { alias: alias.or(rel.alias.clone()), ..rel.clone() });
        for item in others {
            let star = self.source(item.node.as_ref().expect("nodes"))?;
            self.level().star.extend(star);
        }
        if let Some(w) = node(where_clause) {
            let e = self.expr(w)?;
            self.want(&e, oid::BOOL, "WHERE", location(w))?;
        }
        Ok(rel)
    }

    fn delete(&mut self, s: &pb::DeleteStmt) -> R<Vec<E>> {
        self.with_ctes(s.with_clause.as_ref(), |t| {
            t.in_level(|t| {
                t.modified_table(s.relation.as_ref(), &s.using_clause, &s.where_clause)?;
                t.returning(s.returning_clause.as_ref())
            })
        })
    }

    fn returning(&mut self, r: Option<&pb::ReturningClause>) -> R<Vec<E>> {
        let mut out = Vec::new();
        // RETURNING sees the target row only (the first relation; `*` is its columns).
        if self.level().star.is_empty() && !self.level().rels.is_empty() {
            let n = self.level().rels[0].cols.len();
            self.level().star = (0..n).map(|c| (0, c)).collect();
        }
        for t in r.map(|r| r.exprs.as_slice()).unwrap_or_default() {
            let Some(NodeEnum::ResTarget(t)) = t.node.as_ref() else { continue };
            out.extend(self.target(t)?);
        }
        Ok(out)
    }

    // ----- FROM -----

    fn level(&mut self) -> &mut Level {
        self.levels.last_mut().expect("a query level")
    }

    fn push_rel(&mut self, rel: Rel) -> usize {
        let level = self.level();
        level.rels.push(rel);
        level.rels.len() - 1
    }

    /// The table an INSERT, UPDATE or DELETE changes (a sequence cannot be).
    fn changed_table(&mut self, rv: Option<&pb::RangeVar>, at: i32) -> R<Rel> {
        let q = range_var(rv);
        let cte = q.schema.is_none() && self.ctes.iter().any(|(n, _)| *n == q.name);
        if !cte && let Some(Relation::Sequence(_)) = self.env.schema.relation(&q) {
            return err(format!("cannot change sequence \"{}\"", q.name), at);
        }
        self.table(rv, at)
    }

    /// A table (or view, or CTE, or sequence) by name, as a relation.
    fn table(&mut self, rv: Option<&pb::RangeVar>, at: i32) -> R<Rel> {
        let q = range_var(rv);
        if q.schema.is_none()
            && let Some((_, cols)) = self.ctes.iter().rev().find(|(n, _)| *n == q.name)
        {
            return Ok(Rel::new(Some(q.name.clone()), cols.clone()));
        }
        // pg_catalog's relations (first on every search path) and information_schema's.
        let system = match q.schema.as_deref() {
            None => Some("pg_catalog"),
            Some(s @ ("pg_catalog" | "information_schema")) => Some(s),
            Some(_) => None,
        };
        if let Some(cols) = system.and_then(|s| self.env.cat.relations.get(&(s.to_owned(), q.name.clone()))) {
            let cols = cols.iter().map(|(name, ty, not_null)| Col::new(name.clone(), *ty, !not_null)).collect();
            return Ok(Rel::new(Some(q.name.clone()), cols));
        }
        let schema = self.env.schema;
        let i = match schema.relation(&q) {
            Some(Relation::Table(i)) => i,
            Some(Relation::Sequence(s)) => {
                self.sequences.push(s);
                // A sequence reads as one row of three columns.
                let cols = [("last_value", oid::INT8), ("log_cnt", oid::INT8), ("is_called", oid::BOOL)];
                let cols = cols.into_iter().map(|(name, ty)| Col::new(name.into(), ty, false)).collect();
                return Ok(Rel::new(Some(schema.sequences[s].name.clone()), cols));
            }
            None => {
                let mut names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
                names.extend(schema.sequences.iter().map(|s| s.name.as_str()));
                names.extend(self.ctes.iter().map(|(n, _)| n.as_str()));
                return err(format!("relation \"{}\" does not exist{}", q.name, suggest(&q.name, names)), at);
            }
        };
        let t = &schema.tables[i];
        let cols = t
            .columns
            .iter()
            .map(|c| Col {
                source: Some((i, c.name.clone())),
                declared: Some(c.ty.clone()),
                ..Col::new(c.name.clone(), self.env.of(&c.ty), !schema.not_null(c))
            })
            .collect();
        Ok(Rel { table: Some(i), ..Rel::new(Some(t.name.clone()), cols) })
    }

    /// Adds a FROM item to the current level; returns what `*` lists for it.
    fn source(&mut self, n: &NodeEnum) -> R<Vec<(usize, usize)>> {
        match n {
            NodeEnum::RangeVar(rv) => {
                let mut rel = self.table(Some(rv), rv.location)?;
                if let Some(a) = &rv.alias {
                    rel.alias = Some(a.aliasname.clone());
                    for (c, name) in rel.cols.iter_mut().zip(strings(&a.colnames)) {
                        c.name = name;
                    }
                }
                let width = rel.cols.len();
                let r = self.push_rel(rel);
                Ok((0..width).map(|c| (r, c)).collect())
            }
            NodeEnum::RangeSubselect(s) => {
                let Some(NodeEnum::SelectStmt(sel)) = node(&s.subquery) else { return err("a subquery in FROM", -1) };
                // A LATERAL subquery sees the FROM items before it; any other sees only outer levels.
                let out = if s.lateral {
                    self.select_lateral(sel)?
                } else {
                    let saved = std::mem::take(self.level());
                    let out = self.select(sel);
                    *self.level() = saved;
                    out?
                };
                let alias = s.alias.as_ref().map(|a| a.aliasname.clone());
                let names = s.alias.as_ref().map(|a| strings(&a.colnames)).unwrap_or_default();
                let cols = self.cte_cols(out, &names, -1)?;
                let width = cols.len();
                let r = self.push_rel(Rel::new(alias, cols));
                Ok((0..width).map(|c| (r, c)).collect())
            }
            NodeEnum::JoinExpr(j) => self.join(j),
            NodeEnum::RangeFunction(rf) => self.function_in_from(rf),
            _ => err("this kind of FROM item is not typed", -1),
        }
    }

    /// A function in FROM: `generate_series(..) AS g(n)`, `unnest($1::int8[]) WITH ORDINALITY AS
    /// u(id, i)`, `jsonb_each(..)` (its OUT columns), `jsonb_to_recordset($1) AS t(a int, b text)`
    /// (a column definition list), and `ROWS FROM (f(..), g(..))`, whose columns follow one
    /// another. Its arguments may read the FROM items before it.
    fn function_in_from(&mut self, rf: &pb::RangeFunction) -> R<Vec<(usize, usize)>> {
        let names = rf.alias.as_ref().map(|a| strings(&a.colnames)).unwrap_or_default();
        let alias = rf.alias.as_ref().map(|a| a.aliasname.clone());
        // `unnest(a, b, ..)` in FROM is `ROWS FROM (unnest(a), unnest(b), ..)` (sqlx's bulk-insert
        // idiom: `INSERT .. SELECT * FROM UNNEST($1::int8[], $2::text[])`).
        let multi_unnest = |f: &pb::FuncCall| {
            let names = strings(&f.funcname);
            f.args.len() > 1
                && matches!(names.as_slice(), [n] | [_, n] if n == "unnest")
                && names.first().is_some_and(|s| names.len() == 1 || s == "pg_catalog")
        };
        let mut calls: Vec<(pb::FuncCall, &[pb::Node])> = Vec::new();
        for item in &rf.functions {
            let items = match item.node.as_ref() {
                Some(NodeEnum::List(l)) => l.items.as_slice(),
                _ => &[],
            };
            let Some(NodeEnum::FuncCall(f)) = items.first().and_then(|n| n.node.as_ref()) else {
                return err("only function calls in FROM are typed", -1);
            };
            // The column definition list: ROWS FROM's own for each function, else the FROM item's.
            let coldefs = match items.get(1).and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::List(d)) => d.items.as_slice(),
                _ if !rf.is_rowsfrom => rf.coldeflist.as_slice(),
                _ => &[],
            };
            if multi_unnest(f) && coldefs.is_empty() {
                for arg in &f.args {
                    calls.push((pb::FuncCall { args: vec![arg.clone()], ..(**f).clone() }, &[]));
                }
            } else {
                calls.push(((**f).clone(), coldefs));
            }
        }
        let several = calls.len() > 1;
        let mut cols = Vec::new();
        let mut first_name = None;
        for (f, coldefs) in &calls {
            let (f, coldefs) = (f, *coldefs);
            let (fname, mut fcols) =
                self.one_function_in_from(f, coldefs, if several { None } else { alias.clone() })?;
            if several {
                // The shorter results are padded with NULLs.
                fcols.iter_mut().for_each(|c| c.nullable = true);
            }
            first_name.get_or_insert(fname);
            cols.extend(fcols);
        }
        for (col, name) in cols.iter_mut().zip(&names) {
            col.name = name.clone();
        }
        if rf.ordinality {
            let name = names.get(cols.len()).cloned().unwrap_or_else(|| "ordinality".into());
            cols.push(Col::new(name, oid::INT8, false));
        }
        let width = cols.len();
        let r = self.push_rel(Rel::new(alias.or(first_name), cols));
        Ok((0..width).map(|c| (r, c)).collect())
    }

    /// One function of a FROM item: its name and its columns (named by its OUT arguments, its
    /// column definition list, else the table alias `alias` or the function for a scalar one).
    fn one_function_in_from(
        &mut self,
        f: &pb::FuncCall,
        coldefs: &[pb::Node],
        alias: Option<String>,
    ) -> R<(String, Vec<Col>)> {
        self.set_returning_ok = true;
        self.record_ok = true;
        let e = self.func(f)?;
        self.record_ok = false;
        let fname = strings(&f.funcname).pop().unwrap_or_default();
        let outs = std::mem::take(&mut self.outs);
        if !coldefs.is_empty() {
            if e.ty != oid::RECORD || outs.len() > 1 {
                return err(
                    format!("a column definition list is only allowed for functions returning record, not {fname}"),
                    f.location,
                );
            }
            let mut cols = Vec::new();
            for d in coldefs {
                let Some(NodeEnum::ColumnDef(d)) = d.node.as_ref() else { continue };
                let ty = self.type_name(d.type_name.as_ref().expect("a column definition has a type"), d.location)?;
                // Read from JSON or another record: any of them may be NULL.
                cols.push(Col::new(d.colname.clone(), ty, true));
            }
            return Ok((fname, cols));
        }
        if outs.len() > 1 {
            // OUT columns (`jsonb_each(..)`: key, value).
            let cols = outs.iter().map(|(ty, out)| Col::new(out.clone(), *ty, out_may_be_null(&fname, out))).collect();
            return Ok((fname, cols));
        }
        if e.ty == oid::RECORD {
            return err(
                format!("{fname} returns record: give its columns with a column definition list, AS t(a int, b text)"),
                f.location,
            );
        }
        if self.env.category(e.ty) == b'C' {
            return err("a function in FROM returning rows of a composite type is not typed", f.location);
        }
        // A scalar function's column is named by its OUT argument, else the table alias, else the
        // function (column aliases, applied by the caller, come first).
        let name = outs.first().map(|(_, out)| out.clone()).or(alias).or(e.name).unwrap_or_else(|| "?column?".into());
        Ok((fname, vec![Col::new(name, e.ty, e.nullable)]))
    }

    fn select_lateral(&mut self, sel: &pb::SelectStmt) -> R<Vec<E>> {
        // The current level stays visible as an outer level of the subquery.
        self.select(sel)
    }

    fn join(&mut self, j: &pb::JoinExpr) -> R<Vec<(usize, usize)>> {
        let first = self.level().rels.len();
        let left = self.source(j.larg.as_deref().and_then(|n| n.node.as_ref()).expect("a join has two sides"))?;
        let mid = self.level().rels.len();
        let right = self.source(j.rarg.as_deref().and_then(|n| n.node.as_ref()).expect("a join has two sides"))?;
        let end = self.level().rels.len();
        let kind = j.jointype;
        let (null_left, null_right) = match kind {
            k if k == pb::JoinType::JoinLeft as i32 => (false, true),
            k if k == pb::JoinType::JoinRight as i32 => (true, false),
            k if k == pb::JoinType::JoinFull as i32 => (true, true),
            _ => (false, false),
        };
        let mut using = strings(&j.using_clause);
        if j.is_natural {
            let lnames: Vec<String> = left.iter().map(|&(r, c)| self.level().rels[r].cols[c].name.clone()).collect();
            using = right
                .iter()
                .map(|&(r, c)| self.level().rels[r].cols[c].name.clone())
                .filter(|n| lnames.contains(n))
                .collect();
        }
        let mut star = Vec::new();
        if !using.is_empty() {
            let mut merged = Vec::new();
            let mut hide = Vec::new();
            for name in &using {
                let find = |side: &[(usize, usize)], lv: &Level| {
                    side.iter().copied().find(|&(r, c)| lv.rels[r].cols[c].name == *name && !lv.rels[r].cols[c].hidden)
                };
                let (Some(l), Some(r)) = (find(&left, self.level()), find(&right, self.level())) else {
                    return err(
                        format!("column \"{name}\" specified in USING clause does not exist in both sides"),
                        -1,
                    );
                };
                let lc = self.level().rels[l.0].cols[l.1].clone();
                let rc = self.level().rels[r.0].cols[r.1].clone();
                let ty = self.env.common_type(&[lc.ty, rc.ty]).map_err(|m| TypeError { message: m, at: None })?;
                // The merged column: the left's, the right's for a RIGHT join, COALESCE for FULL.
                let nullable = match (null_left, null_right) {
                    (true, true) => lc.nullable && rc.nullable,
                    (true, false) => rc.nullable,
                    _ => lc.nullable,
                };
                merged.push(Col::new(name.clone(), ty, nullable));
                self.reads.extend([lc.source, rc.source].into_iter().flatten());
                hide.extend([l, r]);
            }
            for (r, c) in &hide {
                self.level().rels[*r].cols[*c].hidden = true;
            }
            let alias = j.join_using_alias.as_ref().map(|a| a.aliasname.clone());
            let width = merged.len();
            let m = self.push_rel(Rel::new(alias, merged));
            star.extend((0..width).map(|c| (m, c)));
            star.extend(left.iter().chain(&right).copied().filter(|p| !hide.contains(p)));
        } else {
            star.extend(left.iter().chain(&right).copied());
        }
        for (range, nulled) in [(first..mid, null_left), (mid..end, null_right)] {
            if nulled {
                for r in range {
                    self.level().rels[r].outer = true;
                    for c in &mut self.level().rels[r].cols {
                        c.nullable = true;
                    }
                }
            }
        }
        if let Some(q) = node(&j.quals) {
            let e = self.expr(q)?;
            self.want(&e, oid::BOOL, "JOIN ON", location(q))?;
        }
        if let Some(a) = &j.alias {
            // `(a JOIN b) AS j`: one relation named j over the join's columns.
            let cols: Vec<Col> = star.iter().map(|&(r, c)| self.level().rels[r].cols[c].clone()).collect();
            let width = cols.len();
            let r = self.push_rel(Rel::new(Some(a.aliasname.clone()), cols));
            return Ok((0..width).map(|c| (r, c)).collect());
        }
        Ok(star)
    }

    // ----- names -----

    fn no_column(&self, name: &str, rel: &Rel) -> String {
        format!(
            "column \"{name}\" of relation \"{}\" does not exist{}",
            rel.alias.as_deref().unwrap_or("?"),
            suggest(name, rel.cols.iter().map(|c| c.name.as_str()).collect())
        )
    }

    fn column_ref(&mut self, c: &pb::ColumnRef) -> R<Vec<E>> {
        let at = c.location;
        let star = matches!(c.fields.last().and_then(|f| f.node.as_ref()), Some(NodeEnum::AStar(_)));
        let names = strings(&c.fields);
        let names: Vec<String> = names.iter().map(|n| truncate_ident(n)).collect();
        if star {
            return match names.as_slice() {
                [] => {
                    let level = self.levels.len() - 1;
                    let star = self.levels[level].star.clone();
                    if star.is_empty() {
                        return err("SELECT * with no tables specified is not valid", at);
                    }
                    Ok(star.into_iter().map(|(r, c)| self.col_expr(level, r, c)).collect())
                }
                [.., rel] => {
                    let (level, r) = self.find_rel(rel, at)?;
                    let n = self.levels[level].rels[r].cols.len();
                    Ok((0..n).map(|c| self.col_expr(level, r, c)).collect())
                }
            };
        }
        match names.as_slice() {
            [col] => {
                for level in (0..self.levels.len()).rev() {
                    let lv = &self.levels[level];
                    let hits = lv.unqualified(col);
                    match hits.as_slice() {
                        [] => continue,
                        [(r, c)] => return Ok(vec![self.col_expr(level, *r, *c)]),
                        _ => {
                            return err(
                                format!("column reference \"{col}\" is ambiguous: qualify it with its table"),
                                at,
                            );
                        }
                    }
                }
                // A system column of the one table in FROM that has them (`RETURNING xmax = 0`).
                if let Some(ty) = system_column(col) {
                    for level in (0..self.levels.len()).rev() {
                        let tables: Vec<usize> =
                            (0..self.levels[level].rels.len()).filter(|&r| self.has_system_columns(level, r)).collect();
                        match tables.as_slice() {
                            [] => continue,
                            [_] => return Ok(vec![E::of(ty, false).named(col)]),
                            _ => {
                                return err(
                                    format!("column reference \"{col}\" is ambiguous: qualify it with its table"),
                                    at,
                                );
                            }
                        }
                    }
                }
                // No column of that name: a whole-row reference to a FROM item (`SELECT t FROM t`,
                // `to_jsonb(t)`), of the table's row type (a record for a subquery's rows).
                for level in (0..self.levels.len()).rev() {
                    if let Some(rel) = self.levels[level].rels.iter().find(|r| r.alias.as_deref() == Some(col.as_str()))
                    {
                        let ty = rel.table.map_or(oid::RECORD, |i| resolve::ROW + i as u32);
                        let outer = rel.outer;
                        let sources: Vec<_> = rel.cols.iter().filter_map(|c| c.source.clone()).collect();
                        self.reads.extend(sources);
                        return Ok(vec![E::of(ty, outer).named(col)]);
                    }
                }
                let all: Vec<&str> = self
                    .levels
                    .iter()
                    .flat_map(|l| l.rels.iter().flat_map(|r| r.cols.iter().map(|c| c.name.as_str())))
                    .collect();
                err(format!("column \"{col}\" does not exist{}", suggest(col, all)), at)
            }
            [.., rel, col] => {
                let (level, r) = self.find_rel(rel, at)?;
                match self.levels[level].rels[r].cols.iter().position(|x| x.name == *col) {
                    Some(c) => Ok(vec![self.col_expr(level, r, c)]),
                    None => match system_column(col) {
                        Some(ty) if self.has_system_columns(level, r) => Ok(vec![E::of(ty, false).named(col)]),
                        _ => err(self.no_column(col, &self.levels[level].rels[r]), at),
                    },
                }
            }
            [] => err("empty column reference", at),
        }
    }

    /// A table of the migrations (not a view): it has `ctid`, `xmin`, `xmax`, .. too.
    fn has_system_columns(&self, level: usize, r: usize) -> bool {
        self.levels[level].rels[r].table.is_some_and(|i| self.env.schema.tables[i].view.is_none())
    }

    fn find_rel(&self, name: &str, at: i32) -> R<(usize, usize)> {
        for level in (0..self.levels.len()).rev() {
            if let Some(r) = self.levels[level].rels.iter().position(|r| r.alias.as_deref() == Some(name)) {
                return Ok((level, r));
            }
        }
        let names: Vec<&str> =
            self.levels.iter().flat_map(|l| l.rels.iter().filter_map(|r| r.alias.as_deref())).collect();
        err(format!("missing FROM-clause entry for table \"{name}\"{}", suggest(name, names)), at)
    }

    fn col_expr(&mut self, level: usize, r: usize, c: usize) -> E {
        let col = &self.levels[level].rels[r].cols[c];
        if let Some(source) = &col.source {
            self.reads.push(source.clone());
        }
        E { name: Some(col.name.clone()), declared: col.declared.clone(), ..E::of(col.ty, col.nullable) }
    }

    fn target(&mut self, t: &pb::ResTarget) -> R<Vec<E>> {
        let Some(v) = node(&t.val) else { return Ok(vec![]) };
        let mut es = match v {
            NodeEnum::ColumnRef(c) => self.column_ref(c)?,
            NodeEnum::FuncCall(f) => {
                self.set_returning_ok = true;
                let e = self.func(f)?;
                self.outs.clear();
                if e.ty == oid::RECORD {
                    return err("a function returning rows of several columns belongs in FROM", f.location);
                }
                vec![e]
            }
            NodeEnum::TypeCast(c) if matches!(node(&c.arg), Some(NodeEnum::FuncCall(_))) => {
                // `generate_series(..)::date`: the select list may call a set-returning function.
                self.set_returning_ok = true;
                let e = self.expr(v);
                self.set_returning_ok = false;
                vec![e?]
            }
            other => vec![self.expr(other)?],
        };
        if !t.name.is_empty() {
            for e in &mut es {
                e.name = Some(t.name.clone());
            }
        }
        Ok(es)
    }

    // ----- WHERE: strict conjuncts prove their columns non-null -----

    fn prove_not_null(&mut self, w: &NodeEnum) {
        let mut proven = Vec::new();
        self.strict_columns(w, &mut proven);
        for (level, r, c) in proven {
            self.levels[level].rels[r].cols[c].nullable = false;
        }
    }

    fn strict_columns(&self, n: &NodeEnum, out: &mut Vec<(usize, usize, usize)>) {
        let level = self.levels.len() - 1;
        let mut col = |n: Option<&NodeEnum>| {
            if let Some(NodeEnum::ColumnRef(c)) = n
                && let Some(p) = self.peek_column(c)
                && p.0 == level
            {
                out.push(p);
            }
        };
        match n {
            NodeEnum::BoolExpr(b) if b.boolop == pb::BoolExprType::AndExpr as i32 => {
                for a in &b.args {
                    if let Some(a) = a.node.as_ref() {
                        self.strict_columns(a, out);
                    }
                }
            }
            NodeEnum::AExpr(a)
                if [
                    pb::AExprKind::AexprOp,
                    pb::AExprKind::AexprLike,
                    pb::AExprKind::AexprIlike,
                    pb::AExprKind::AexprIn,
                ]
                .iter()
                .any(|k| *k as i32 == a.kind)
                    || a.kind == pb::AExprKind::AexprBetween as i32 =>
            {
                col(node(&a.lexpr));
                if a.kind == pb::AExprKind::AexprOp as i32 {
                    col(node(&a.rexpr));
                }
            }
            NodeEnum::NullTest(t) if t.nulltesttype == pb::NullTestType::IsNotNull as i32 => col(node(&t.arg)),
            _ => {}
        }
    }

    fn peek_column(&self, c: &pb::ColumnRef) -> Option<(usize, usize, usize)> {
        let names = strings(&c.fields);
        let level = self.levels.len() - 1;
        let lv = &self.levels[level];
        match names.as_slice() {
            [col] => {
                let hits = lv.unqualified(col);
                (hits.len() == 1).then(|| (level, hits[0].0, hits[0].1))
            }
            [.., rel, col] => {
                let r = lv.rels.iter().position(|x| x.alias.as_deref() == Some(rel.as_str()))?;
                let c = lv.rels[r].cols.iter().position(|x| x.name == *col)?;
                Some((level, r, c))
            }
            _ => None,
        }
    }

    // ----- expressions -----

    /// The type of `$n` so far.
    fn param(&mut self, n: i32, at: i32) -> R<E> {
        let Ok(i) = usize::try_from(n - 1) else { return err("parameters are numbered from $1", at) };
        if i >= 100 {
            return err("more than 100 parameters", at);
        }
        if self.params.len() <= i {
            self.params.resize(i + 1, None);
        }
        let ty = self.params[i].unwrap_or(oid::UNKNOWN);
        Ok(E { param: Some(i), ..E::of(ty, true) })
    }

    /// Types an open parameter (or checks a typed value) as `ty` where the context requires it.
    fn want(&mut self, e: &E, ty: u32, what: &str, at: i32) -> R<()> {
        if let Some(p) = e.param
            && self.params[p].is_none_or(|t| t == oid::UNKNOWN)
        {
            self.params[p] = Some(ty);
            return Ok(());
        }
        self.check_literal(e, ty)?;
        if e.ty == ty || e.ty == oid::UNKNOWN || self.env.can_coerce(e.ty, ty) {
            return Ok(());
        }
        err(format!("{what} must be {}, not {}", self.env.name(ty), self.env.name(e.ty)), at)
    }

    /// A value stored into `col` (INSERT, UPDATE SET): an open parameter takes the column's type
    /// (its domain, as PostgreSQL reports it).
    fn assign(&mut self, e: &E, col: &Col, at: i32) -> R<()> {
        if let Some(p) = e.param
            && self.params[p].is_none_or(|t| t == oid::UNKNOWN)
        {
            self.params[p] = Some(col.ty);
            return Ok(());
        }
        self.check_literal(e, col.ty)?;
        if e.ty == oid::UNKNOWN || self.env.base(e.ty) == self.env.base(col.ty) || self.env.can_coerce(e.ty, col.ty) {
            return Ok(());
        }
        let (from, to) = (self.env.base(e.ty), self.env.base(col.ty));
        if from < resolve::USER && to < resolve::USER && matches!(self.env.cat.cast(from, to), Some(b'a' | b'i')) {
            return Ok(()); // an assignment cast
        }
        err(
            format!(
                "column \"{}\" is of type {} but the expression is of type {}: add a cast",
                col.name,
                self.env.name(col.ty),
                self.env.name(e.ty)
            ),
            at,
        )
    }

    /// Gives open parameters among `args` the types a resolved call declares.
    fn bind_args(&mut self, args: &[E], declared: &[u32]) {
        for (e, &d) in args.iter().zip(declared) {
            if let Some(p) = e.param
                && self.params[p].is_none_or(|t| t == oid::UNKNOWN)
                && d != oid::ANY
                && !catalog::Catalog::is_polymorphic(d)
            {
                self.params[p] = Some(d);
            }
        }
    }

    fn expr(&mut self, n: &NodeEnum) -> R<E> {
        match n {
            NodeEnum::ColumnRef(c) => {
                let mut es = self.column_ref(c)?;
                if es.len() != 1 {
                    return err("a row (`t.*`) is not a value here", c.location);
                }
                Ok(es.remove(0))
            }
            NodeEnum::ParamRef(p) => self.param(p.number, p.location),
            NodeEnum::AConst(c) => Ok(self.constant(c)),
            NodeEnum::TypeCast(c) => self.cast(c),
            NodeEnum::AExpr(a) => self.a_expr(a),
            NodeEnum::BoolExpr(b) => {
                let mut nullable = false;
                let mut agg = false;
                for a in &b.args {
                    let a = a.node.as_ref().expect("nodes");
                    let e = self.expr(a)?;
                    self.want(&e, oid::BOOL, "an argument of AND/OR/NOT", location(a))?;
                    nullable |= e.nullable;
                    agg |= e.agg;
                }
                Ok(E { agg, ..E::of(oid::BOOL, nullable) })
            }
            NodeEnum::NullTest(t) => {
                // `x IS NULL`, or `ROW(a, b) IS NULL` (every field is).
                let tested = match node(&t.arg).expect("an argument") {
                    NodeEnum::RowExpr(r) => self.exprs(&r.args)?,
                    x => vec![self.expr(x)?],
                };
                // An untyped `$n` stays untyped here, as in PostgreSQL: another occurrence may type it
                // (`col = $1 OR $1 IS NULL`); if none does, the statement is refused at its end.
                Ok(E { agg: tested.iter().any(|e| e.agg), ..E::of(oid::BOOL, false) })
            }
            NodeEnum::BooleanTest(t) => {
                let e = self.expr(node(&t.arg).expect("an argument"))?;
                self.want(&e, oid::BOOL, "IS TRUE/FALSE", t.location)?;
                Ok(E::of(oid::BOOL, false))
            }
            NodeEnum::FuncCall(f) => self.func(f),
            NodeEnum::CaseExpr(c) => self.case(c),
            NodeEnum::CoalesceExpr(c) => {
                let args = self.exprs(&c.args)?;
                let ty = self.common(&args, "COALESCE", c.location)?;
                Ok(E {
                    agg: args.iter().any(|a| a.agg),
                    ..E::of(ty, args.iter().all(|a| a.nullable)).named("coalesce")
                })
            }
            NodeEnum::MinMaxExpr(m) => {
                let args = self.exprs(&m.args)?;
                let ty = self.common(&args, "GREATEST/LEAST", m.location)?;
                let name = if m.op == pb::MinMaxOp::IsGreatest as i32 { "greatest" } else { "least" };
                Ok(E::of(ty, args.iter().all(|a| a.nullable)).named(name))
            }
            NodeEnum::NullIfExpr(_) => err("NULLIF is not typed", -1),
            NodeEnum::SubLink(s) => self.sublink(s),
            NodeEnum::AArrayExpr(a) => {
                let elems = self.exprs(&a.elements)?;
                if elems.is_empty() {
                    return err(
                        "cannot determine the type of an empty array: add a cast (`ARRAY[]::text[]`)",
                        a.location,
                    );
                }
                let ty = self.common(&elems, "ARRAY", a.location)?;
                let arr =
                    self.env.array_of(ty).ok_or_else(|| TypeError { message: "no array type".into(), at: None })?;
                Ok(E::of(arr, false).named("array"))
            }
            NodeEnum::SqlvalueFunction(v) => {
                use pb::SqlValueFunctionOp as O;
                let (ty, name) = match O::try_from(v.op).unwrap_or(O::SqlvalueFunctionOpUndefined) {
                    O::SvfopCurrentDate => ("date", "current_date"),
                    O::SvfopCurrentTime | O::SvfopCurrentTimeN => ("timetz", "current_time"),
                    O::SvfopCurrentTimestamp | O::SvfopCurrentTimestampN => ("timestamptz", "current_timestamp"),
                    O::SvfopLocaltime | O::SvfopLocaltimeN => ("time", "localtime"),
                    O::SvfopLocaltimestamp | O::SvfopLocaltimestampN => ("timestamp", "localtimestamp"),
                    O::SvfopCurrentRole => ("name", "current_role"),
                    O::SvfopCurrentUser => ("name", "current_user"),
                    O::SvfopUser => ("name", "current_user"),
                    O::SvfopSessionUser => ("name", "session_user"),
                    O::SvfopCurrentCatalog => ("name", "current_catalog"),
                    O::SvfopCurrentSchema => ("name", "current_schema"),
                    O::SqlvalueFunctionOpUndefined => return err("unknown SQL value function", v.location),
                };
                Ok(E::of(self.env.cat.oid(ty).expect("built-in"), name == "current_schema").named(name))
            }
            NodeEnum::CollateClause(c) => self.expr(node(&c.arg).expect("an argument")),
            NodeEnum::AIndirection(i) => {
                let e = self.expr(node(&i.arg).expect("an argument"))?;
                let (mut ty, mut name) = (e.ty, e.name);
                for ind in &i.indirection {
                    match ind.node.as_ref() {
                        Some(NodeEnum::AIndices(ix)) => {
                            for b in [node(&ix.lidx), node(&ix.uidx)].into_iter().flatten() {
                                let x = self.expr(b)?;
                                self.want(&x, oid::INT4, "an array subscript", location(b))?;
                            }
                            if !ix.is_slice {
                                ty = self.env.elem(ty).ok_or_else(|| TypeError {
                                    message: format!("cannot subscript type {}", self.env.name(ty)),
                                    at: None,
                                })?;
                            }
                        }
                        // `(x).field` of a composite type the migrations create (nullable: the
                        // value or its field may be NULL).
                        Some(NodeEnum::String(field)) if self.env.table_of_row(ty).is_some() => {
                            let table = &self.env.schema.tables[self.env.table_of_row(ty).expect("a row")];
                            let Some(col) = table.columns.iter().find(|c| c.name == field.sval) else {
                                let names = table.columns.iter().map(|c| c.name.as_str()).collect();
                                return err(
                                    format!(
                                        "column \"{}\" of relation \"{}\" does not exist{}",
                                        field.sval,
                                        table.name,
                                        suggest(&field.sval, names)
                                    ),
                                    location(n),
                                );
                            };
                            (ty, name) = (self.env.of(&col.ty), Some(field.sval.clone()));
                        }
                        Some(NodeEnum::String(field)) => {
                            let t = self.env.user_type(ty).ok_or_else(|| TypeError {
                                message: format!(
                                    "(..).{}: field selection is typed on composite types the migrations create, not on {}",
                                    field.sval,
                                    self.env.name(ty)
                                ),
                                at: usize::try_from(location(n)).ok(),
                            })?;
                            let Some(fields) = &t.fields else {
                                return err(
                                    format!(
                                        "type {} has no fields the model knows (not a composite type, or ALTERed since): cast the value instead",
                                        t.name
                                    ),
                                    location(n),
                                );
                            };
                            let Some((_, fty)) = fields.iter().find(|(name, _)| *name == field.sval) else {
                                let names = fields.iter().map(|(name, _)| name.as_str()).collect();
                                return err(
                                    format!(
                                        "type {} has no field \"{}\"{}",
                                        t.name,
                                        field.sval,
                                        suggest(&field.sval, names)
                                    ),
                                    location(n),
                                );
                            };
                            // PostgreSQL names the column after the field.
                            (ty, name) = (self.env.of(fty), Some(field.sval.clone()));
                        }
                        _ => return err("field selection is not typed", -1),
                    }
                }
                Ok(E { name, ..E::of(ty, true) })
            }
            NodeEnum::NamedArgExpr(n) => self.expr(node(&n.arg).expect("an argument")),
            // `(a, b)` / `ROW(a, b)` as a value: a record (never NULL itself).
            NodeEnum::RowExpr(r) => {
                let fields = self.exprs(&r.args)?;
                Ok(E { agg: fields.iter().any(|e| e.agg), ..E::of(oid::RECORD, false).named("row") })
            }
            NodeEnum::GroupingFunc(_) => Ok(E::of(oid::INT4, false).named("grouping")),
            _ => err("this expression is not typed", location(n)),
        }
    }

    fn exprs(&mut self, nodes: &[pb::Node]) -> R<Vec<E>> {
        nodes.iter().map(|a| self.expr(a.node.as_ref().expect("nodes"))).collect()
    }

    /// The common type of `args`; open parameters among them take it.
    fn common(&mut self, args: &[E], what: &str, at: i32) -> R<u32> {
        let types: Vec<u32> = args.iter().map(|e| e.ty).collect();
        let ty = self
            .env
            .common_type(&types)
            .map_err(|m| TypeError { message: format!("{what}: {m}"), at: usize::try_from(at).ok() })?;
        for e in args {
            self.check_literal(e, ty)?;
            if let Some(p) = e.param
                && self.params[p].is_none_or(|t| t == oid::UNKNOWN)
            {
                self.params[p] = Some(ty);
            }
        }
        Ok(ty)
    }

    fn constant(&self, c: &pb::AConst) -> E {
        use pb::a_const::Val;
        let ty = match &c.val {
            _ if c.isnull => return E::of(oid::UNKNOWN, true).named("?column?"),
            Some(Val::Ival(_)) => oid::INT4,
            Some(Val::Fval(f)) => {
                // An integer too large for int4 is int8 (or numeric), a decimal numeric.
                if f.fval.contains(['.', 'e', 'E']) {
                    oid::NUMERIC
                } else if f.fval.parse::<i64>().is_ok() {
                    oid::INT8
                } else {
                    oid::NUMERIC
                }
            }
            Some(Val::Boolval(_)) => oid::BOOL,
            Some(Val::Bsval(_)) => self.env.cat.oid("bit").expect("built-in"),
            Some(Val::Sval(_)) | None => oid::UNKNOWN,
        };
        // (PostgreSQL 15 parses TRUE as a constant, unnamed like the others; before, as a cast.)
        let name = "?column?";
        let literal = match &c.val {
            Some(Val::Sval(v)) => Some((v.sval.clone(), c.location)),
            _ => None,
        };
        E { literal, ..E::of(ty, false).named(name) }
    }

    /// A string literal read as `ty`: an enum (or a domain over one) takes only its labels.
    fn check_literal(&self, e: &E, ty: u32) -> R<()> {
        let Some((text, at)) = &e.literal else { return Ok(()) };
        let Some(t) = self.env.user_type(self.env.base(ty)) else { return Ok(()) };
        let crate::model::TypeKind::Enum { labels } = &t.kind else { return Ok(()) };
        if labels.iter().any(|l| l == text) {
            return Ok(());
        }
        err(
            format!(
                "invalid input value for enum {}: \"{text}\"{}",
                t.name,
                suggest(text, labels.iter().map(String::as_str).collect())
            ),
            *at,
        )
    }

    /// The sequence a `nextval('..')` / `currval` / `setval` names: PREPARE reads the literal as
    /// a relation (`relation "x" does not exist`), and one that is not a sequence fails every run.
    /// Other regclass literals are not checked: indexes, which the model does not hold, are
    /// relations too.
    fn check_sequence(&self, text: &str, at: i32) -> R<()> {
        let Some(q) = crate::ddl::relation_name(text) else { return Ok(()) };
        match self.env.schema.relation(&q) {
            Some(crate::model::Relation::Sequence(_)) => Ok(()),
            Some(_) => err(format!("\"{}\" is not a sequence", q.name), at),
            None => {
                let known = self.env.schema.sequences.iter().map(|s| s.name.as_str()).collect();
                err(format!("relation \"{text}\" does not exist{}", suggest(&q.name, known)), at)
            }
        }
    }

    /// `check_literal` for each argument of a resolved call.
    fn check_literals(&self, args: &[E], declared: &[u32]) -> R<()> {
        args.iter().zip(declared).try_for_each(|(e, &d)| self.check_literal(e, d))
    }

    fn type_name(&self, t: &pb::TypeName, at: i32) -> R<u32> {
        Ok(self.env.of(&self.declared_type(t, at)?))
    }

    /// A type name as the model resolves it, with its modifiers.
    fn declared_type(&self, t: &pb::TypeName, at: i32) -> R<ColType> {
        let mut spec = type_spec(t);
        if spec.name.schema.as_deref() == Some("pg_catalog") {
            spec.name.schema = None;
        }
        let (ty, _) =
            self.env.schema.resolve(&spec).map_err(|m| TypeError { message: m, at: usize::try_from(at).ok() })?;
        Ok(ty)
    }

    fn cast(&mut self, c: &pb::TypeCast) -> R<E> {
        let t = c.type_name.as_ref().expect("a type");
        let declared = self.declared_type(t, c.location)?;
        let ty = self.env.of(&declared);
        let arg = node(&c.arg).expect("an argument");
        if let (NodeEnum::AArrayExpr(a), Some(elem)) = (arg, self.env.elem(ty)) {
            // `ARRAY[..]::t[]` types the elements as t.
            for x in &a.elements {
                let x = x.node.as_ref().expect("nodes");
                let e = self.expr(x)?;
                self.want(&e, elem, "an array element", location(x))?;
            }
            return Ok(E { declared: Some(declared), ..E::of(ty, false).named("array") });
        }
        let e = self.expr(arg)?;
        self.check_literal(&e, ty)?;
        if let Some(p) = e.param
            && self.params[p].is_none_or(|x| x == oid::UNKNOWN)
        {
            self.params[p] = Some(ty);
        }
        // The result column keeps the argument's name, else the type's.
        let name =
            e.name.clone().filter(|n| n != "?column?").or_else(|| t.names.last().and_then(sval).map(str::to_owned));
        let name = if matches!(arg, NodeEnum::AConst(_) | NodeEnum::ParamRef(_)) {
            t.names.last().and_then(sval).map(str::to_owned)
        } else {
            name
        };
        Ok(E { name, agg: e.agg, declared: Some(declared), ..E::of(ty, e.nullable) })
    }

    /// Strict operators that still return NULL for some non-NULL operands: a JSON (or hstore) key
    /// or path that is not there, a JSON path that yields no boolean.
    fn operator_may_return_null(&self, op: &str, args: &[E]) -> bool {
        let jsonb = self.env.cat.oid("jsonb");
        match op {
            "->" | "->>" | "#>" | "#>>" => true,
            "@?" | "@@" => args.first().is_some_and(|l| Some(self.env.base(l.ty)) == jsonb),
            _ => false,
        }
    }

    /// The candidates the extensions the migrations created add (in `schema`, when the name is
    /// qualified with one).
    fn extension_procs(
        &self,
        pick: impl Fn(&'static catalog::Extension) -> Option<&'static Vec<catalog::Proc>>,
        schema: Option<&str>,
    ) -> Vec<catalog::Proc> {
        let mut out = Vec::new();
        for (name, ext) in &self.env.cat.extensions {
            let Some(in_schema) = self.env.schema.extension_schema(name) else { continue };
            if schema.is_some_and(|s| s != in_schema) {
                continue;
            }
            out.extend(pick(ext).into_iter().flatten().cloned());
        }
        out
    }

    fn op_name(name: &[pb::Node]) -> String {
        name.last().and_then(sval).unwrap_or_default().to_owned()
    }

    /// Resolves operator `op` over `args`; open parameters take the declared types. Returns the
    /// result type, whether the operator is strict, and its argument types.
    fn operator(&mut self, op: &str, args: &[E], at: i32) -> R<(u32, bool, Vec<u32>)> {
        let core = self.env.cat.operators.get(op).map_or(&[][..], Vec::as_slice);
        let extra = self.extension_procs(|e| e.operators.get(op), None);
        let both: Vec<catalog::Proc>;
        let cands = if extra.is_empty() {
            core
        } else {
            both = core.iter().cloned().chain(extra).collect();
            &both
        };
        if cands.is_empty() {
            return err(format!("operator does not exist: {op}"), at);
        }
        let inputs: Vec<u32> = args.iter().map(|e| e.ty).collect();
        let r = self
            .env
            .resolve(cands, &inputs, &format!("operator {op}"))
            .map_err(|m| TypeError { message: m, at: usize::try_from(at).ok() })?;
        let (args_decl, result, strict) = (r.args.clone(), r.result, r.proc.strict);
        self.check_literals(args, &args_decl)?;
        self.bind_args(args, &args_decl);
        Ok((result, strict, args_decl))
    }

    fn a_expr(&mut self, a: &pb::AExpr) -> R<E> {
        use pb::AExprKind as K;
        let kind = K::try_from(a.kind).unwrap_or(K::Undefined);
        let op = Self::op_name(&a.name);
        let at = a.location;
        match kind {
            K::AexprOp | K::AexprDistinct | K::AexprNotDistinct
                if matches!(
                    (node(&a.lexpr), node(&a.rexpr)),
                    (Some(NodeEnum::RowExpr(_)), Some(NodeEnum::RowExpr(_)))
                ) =>
            {
                self.row_comparison(a, kind, op)
            }
            K::AexprOp | K::AexprLike | K::AexprIlike | K::AexprDistinct | K::AexprNotDistinct => {
                let mut args = Vec::new();
                if let Some(l) = node(&a.lexpr) {
                    args.push(self.expr(l)?);
                }
                args.push(self.expr(node(&a.rexpr).expect("an operand"))?);
                let op = match kind {
                    K::AexprDistinct | K::AexprNotDistinct => "=".to_owned(),
                    _ => op,
                };
                let (result, strict, _) = self.operator(&op, &args, at)?;
                let nullable = if matches!(kind, K::AexprDistinct | K::AexprNotDistinct) {
                    false
                } else {
                    args.iter().any(|e| e.nullable) || !strict || self.operator_may_return_null(&op, &args)
                };
                let result = if matches!(kind, K::AexprDistinct | K::AexprNotDistinct) { oid::BOOL } else { result };
                Ok(E { agg: args.iter().any(|e| e.agg), ..E::of(result, nullable) })
            }
            K::AexprOpAny | K::AexprOpAll => {
                let l = self.expr(node(&a.lexpr).expect("an operand"))?;
                let r = self.expr(node(&a.rexpr).expect("an operand"))?;
                let elem = if r.ty == oid::UNKNOWN {
                    oid::UNKNOWN
                } else {
                    match self.env.elem(self.env.base(r.ty)) {
                        Some(e) => e,
                        None => {
                            return err(
                                format!(
                                    "op ANY/ALL (array) requires an array on the right, not {}",
                                    self.env.name(r.ty)
                                ),
                                at,
                            );
                        }
                    }
                };
                let probe = E { param: None, ..E::of(elem, r.nullable) };
                let (result, _, decl) = self.operator(&op, &[l.clone(), probe], at)?;
                // The array parameter: an array of the operator's right type.
                if let Some(p) = r.param
                    && self.params[p].is_none_or(|t| t == oid::UNKNOWN)
                {
                    let right = decl[1];
                    let arr = self
                        .env
                        .array_of(right)
                        .ok_or_else(|| TypeError { message: "no array type".into(), at: None })?;
                    self.params[p] = Some(arr);
                }
                Ok(E::of(result, l.nullable || r.nullable))
            }
            K::AexprIn if matches!(node(&a.lexpr), Some(NodeEnum::RowExpr(_))) => {
                // `(a, b) IN ((x, y), ..)`: a row comparison with each, as PostgreSQL rewrites it.
                let Some(NodeEnum::RowExpr(l)) = node(&a.lexpr) else { unreachable!("matched") };
                let Some(NodeEnum::List(list)) = node(&a.rexpr) else { return err("IN needs a list", at) };
                let left = self.exprs(&l.args)?;
                let eq = if op == "<>" { "<>" } else { "=" };
                let mut nullable = false;
                for item in &list.items {
                    let Some(NodeEnum::RowExpr(r)) = item.node.as_ref() else {
                        return err("a row IN a list of rows: each item is a row `(x, y)`", at);
                    };
                    let right = self.exprs(&r.args)?;
                    nullable |= self.row_pairs(&left, &right, eq, at)?;
                }
                Ok(E::of(oid::BOOL, nullable))
            }
            K::AexprIn => {
                let l = self.expr(node(&a.lexpr).expect("an operand"))?;
                let Some(NodeEnum::List(list)) = node(&a.rexpr) else { return err("IN needs a list", at) };
                let items = self.exprs(&list.items)?;
                let mut all = vec![l.clone()];
                all.extend(items.iter().cloned());
                let eq = if op == "<>" { "<>" } else { "=" };
                if items.len() >= 2
                    && let Ok(ty) = self.env.common_type(&all.iter().map(|e| e.ty).collect::<Vec<_>>())
                {
                    // `x IN (a, b)` is `x = ANY(ARRAY[a, b])` over the common type.
                    for e in &all {
                        self.check_literal(e, ty)?;
                        if let Some(p) = e.param
                            && self.params[p].is_none_or(|t| t == oid::UNKNOWN)
                        {
                            self.params[p] = Some(ty);
                        }
                    }
                    let probe = E::of(ty, false);
                    self.operator(eq, &[probe.clone(), probe], at)?;
                } else {
                    for item in &items {
                        let l = self.refresh(&l);
                        self.operator(eq, &[l, item.clone()], at)?;
                    }
                }
                Ok(E::of(oid::BOOL, l.nullable || items.iter().any(|e| e.nullable)))
            }
            K::AexprBetween | K::AexprNotBetween | K::AexprBetweenSym | K::AexprNotBetweenSym => {
                let x = self.expr(node(&a.lexpr).expect("an operand"))?;
                let Some(NodeEnum::List(list)) = node(&a.rexpr) else { return err("BETWEEN needs two bounds", at) };
                let bounds = self.exprs(&list.items)?;
                for b in &bounds {
                    let x = self.refresh(&x);
                    self.operator(">=", &[x, b.clone()], at)?;
                }
                Ok(E::of(oid::BOOL, x.nullable || bounds.iter().any(|b| b.nullable)))
            }
            K::AexprNullif => {
                let l = self.expr(node(&a.lexpr).expect("an operand"))?;
                let r = self.expr(node(&a.rexpr).expect("an operand"))?;
                let l2 = self.refresh(&l);
                self.operator("=", &[l2, r], at)?;
                let l = self.refresh(&l);
                Ok(E { name: Some("nullif".into()), ..E::of(l.ty, true) })
            }
            K::AexprSimilar => {
                let l = self.expr(node(&a.lexpr).expect("an operand"))?;
                self.want(&l, oid::TEXT, "SIMILAR TO", at)?;
                let r = self.expr(node(&a.rexpr).expect("an operand"))?;
                let _ = r;
                Ok(E::of(oid::BOOL, true))
            }
            K::Undefined => err("unknown operator expression", at),
        }
    }

    /// `(a, b) < ($1, $2)`: compared pair by pair, each pair's operator resolved on its own.
    fn row_comparison(&mut self, a: &pb::AExpr, kind: pb::AExprKind, op: String) -> R<E> {
        let (Some(NodeEnum::RowExpr(l)), Some(NodeEnum::RowExpr(r))) = (node(&a.lexpr), node(&a.rexpr)) else {
            return err("a row comparison compares two rows", a.location);
        };
        let op = if kind == pb::AExprKind::AexprOp { op } else { "=".to_owned() };
        let left = self.exprs(&l.args)?;
        let right = self.exprs(&r.args)?;
        let nullable = self.row_pairs(&left, &right, &op, a.location)?;
        // IS [NOT] DISTINCT FROM is never NULL.
        Ok(E::of(oid::BOOL, nullable && kind == pb::AExprKind::AexprOp))
    }

    /// Two rows compared field by field with `op`, each pair's operator resolved on its own (so
    /// each open parameter takes its neighbour's type); whether the comparison can be NULL.
    fn row_pairs(&mut self, left: &[E], right: &[E], op: &str, at: i32) -> R<bool> {
        if left.len() != right.len() {
            return err("unequal number of entries in row expressions", at);
        }
        let mut nullable = false;
        for (x, y) in left.iter().zip(right) {
            let (x, y) = (self.refresh(x), self.refresh(y));
            nullable |= x.nullable || y.nullable;
            let (result, _, _) = self.operator(op, &[x, y], at)?;
            if result != oid::BOOL {
                return err(format!("row comparison operator {op} must yield boolean"), at);
            }
        }
        Ok(nullable)
    }

    /// `e` with the type its parameter got since (a parameter typed by an earlier use).
    fn refresh(&self, e: &E) -> E {
        match e.param {
            Some(p) => E { ty: self.params[p].unwrap_or(oid::UNKNOWN), ..e.clone() },
            None => e.clone(),
        }
    }

    /// `CALL p(..)`: a procedure of the migrations; its OUT arguments, if any, are the one row's
    /// columns (nullable: the body sets them, or not).
    fn call(&mut self, c: &pb::CallStmt) -> R<Vec<E>> {
        let Some(f) = c.funccall.as_deref() else { return err("CALL names no procedure", -1) };
        (self.calling, self.set_returning_ok, self.record_ok) = (true, true, true);
        self.func(f)?;
        Ok(std::mem::take(&mut self.outs).into_iter().map(|(ty, name)| E::of(ty, true).named(&name)).collect())
    }

    fn func(&mut self, f: &pb::FuncCall) -> R<E> {
        // Only this call may return a set, not its arguments.
        let srf_ok = std::mem::take(&mut self.set_returning_ok);
        let record_ok = std::mem::take(&mut self.record_ok);
        let calling = std::mem::take(&mut self.calling);
        let names = strings(&f.funcname);
        // The schema a qualified name names (`None`: the search path, pg_catalog then public).
        let (schema, name) = match names.as_slice() {
            [n] => (None, n.clone()),
            [s, n] => (Some(s.clone()), n.clone()),
            _ => return err(format!("function {} does not exist", names.join(".")), f.location),
        };
        if let Some(filter) = node(&f.agg_filter) {
            let e = self.expr(filter)?;
            self.want(&e, oid::BOOL, "FILTER", location(filter))?;
        }
        for o in f.agg_order.iter().filter(|_| !f.agg_within_group) {
            if let Some(NodeEnum::SortBy(b)) = o.node.as_ref()
                && let Some(n) = node(&b.node)
            {
                self.expr(n)?;
            }
        }
        if let Some(over) = f.over.as_deref() {
            for n in over.partition_clause.iter().chain(&over.order_clause) {
                match n.node.as_ref() {
                    Some(NodeEnum::SortBy(b)) => {
                        if let Some(x) = node(&b.node) {
                            self.expr(x)?;
                        }
                    }
                    Some(x) => {
                        self.expr(x)?;
                    }
                    None => {}
                }
            }
        }
        if f.agg_star {
            if name != "count" {
                return err(format!("{name}(*) is not a function call PostgreSQL knows"), f.location);
            }
            return Ok(E { agg: f.over.is_none(), ..E::of(oid::INT8, false).named("count") });
        }
        let mut args = self.exprs(&f.args)?;
        if f.agg_within_group {
            // An ordered-set aggregate takes the ORDER BY expressions as its last arguments.
            for o in &f.agg_order {
                if let Some(NodeEnum::SortBy(b)) = o.node.as_ref()
                    && let Some(n) = node(&b.node)
                {
                    args.push(self.expr(n)?);
                }
            }
        }
        let named: Vec<Option<String>> = f
            .args
            .iter()
            .map(|a| match a.node.as_ref() {
                Some(NodeEnum::NamedArgExpr(n)) => Some(n.name.clone()),
                _ => None,
            })
            .collect();
        let cat = self.env.cat;
        // The built-ins of that name, and the migrations' functions (copied in beside them only
        // when there are some).
        // (PostgreSQL 15's catalog has no procedures: a CALL's candidates are the migrations'.)
        let builtin = !calling && schema.as_deref().is_none_or(|s| s == "pg_catalog");
        let in_schema = schema.as_deref().unwrap_or(crate::model::DEFAULT_SCHEMA);
        let builtins = cat.functions.get(&name).filter(|_| builtin).map_or(&[][..], Vec::as_slice);
        // An extension's functions: unqualified wherever it was created (the search path of the
        // application's sessions is theirs to set), qualified with its schema.
        let extra =
            if calling { Vec::new() } else { self.extension_procs(|e| e.functions.get(&name), schema.as_deref()) };
        let named_so = |g: &&crate::model::Function| g.name == name && g.schema == in_schema;
        let mut created =
            self.env.schema.functions.iter().filter(named_so).filter(|g| g.procedure == calling).peekable();
        let both: Vec<catalog::Proc>;
        let cands = if created.peek().is_none() && extra.is_empty() {
            builtins
        } else {
            both = builtins.iter().cloned().chain(extra).chain(created.map(|g| self.env.proc_of(g))).collect();
            &both
        };
        if cands.is_empty() {
            let other = self.env.schema.functions.iter().filter(named_so).any(|g| g.procedure != calling);
            match (other, calling) {
                (true, false) => return err(format!("{name} is a procedure: run it with CALL"), f.location),
                (true, true) => {
                    return err(format!("{name} is a function, not a procedure: call it in a SELECT"), f.location);
                }
                _ => {}
            }
            let mut known: Vec<&str> =
                self.env.schema.functions.iter().filter(|g| g.procedure == calling).map(|g| g.name.as_str()).collect();
            if !calling {
                known.extend(cat.functions.keys().map(String::as_str));
                for (e, ext) in &cat.extensions {
                    if self.env.schema.extension_schema(e).is_some() {
                        known.extend(ext.functions.keys().map(String::as_str));
                    }
                }
            }
            let what = if calling { "procedure" } else { "function" };
            // A contrib extension the migrations have not created has it: say which.
            let mut providers: Vec<&str> = cat
                .extensions
                .iter()
                .filter(|(e, ext)| self.env.schema.extension_schema(e).is_none() && ext.functions.contains_key(&name))
                .map(|(e, _)| e.as_str())
                .collect();
            providers.sort_unstable();
            if let (false, Some(first)) = (calling, providers.first()) {
                return err(
                    format!(
                        "function {} does not exist: extension {first} has it, and the migrations do not create it \
                         (CREATE EXTENSION \"{first}\")",
                        names.join(".")
                    ),
                    f.location,
                );
            }
            return err(format!("{what} {} does not exist{}", names.join("."), suggest(&name, known)), f.location);
        }
        let inputs: Vec<u32> = args.iter().map(|e| e.ty).collect();
        // Named notation: each candidate's arguments put in the call's order (as PostgreSQL's
        // FuncnameGetCandidates does), then the usual resolution.
        let reordered: Vec<catalog::Proc>;
        let cands: &[catalog::Proc] = if named.iter().any(Option::is_some) {
            reordered = cands.iter().filter_map(|p| in_call_order(p, &named)).collect();
            &reordered
        } else {
            cands
        };
        let r = self
            .env
            .resolve(cands, &inputs, &format!("{} {name}", if calling { "procedure" } else { "function" }))
            .map_err(|m| TypeError { message: m, at: usize::try_from(f.location).ok() })?;
        let (decl, result, proc_kind, strict, retset, volatile) =
            (r.args.clone(), r.result, r.proc.kind, r.proc.strict, r.proc.retset, r.proc.volatile);
        let outs = if srf_ok { r.proc.outs.clone() } else { Vec::new() };
        self.check_literals(&args, &decl)?;
        if matches!(name.as_str(), "nextval" | "currval" | "setval")
            && let Some((text, at)) = args.first().and_then(|a| a.literal.as_ref())
        {
            self.check_sequence(text, *at)?;
        }
        self.bind_args(&args, &decl);
        for (e, &d) in args.iter().zip(&decl) {
            if let Some(p) = e.param
                && self.params[p].is_none_or(|t| t == oid::UNKNOWN)
                && (d == oid::ANY || catalog::Catalog::is_polymorphic(d))
            {
                return err(
                    format!("cannot infer the type of ${} as an argument of {name}: add a cast", p + 1),
                    f.location,
                );
            }
        }
        if retset && !srf_ok {
            return err(format!("{name} returns a set: call it in FROM or in the select list"), f.location);
        }
        if volatile == b'v'
            && !matches!(name.as_str(), "random" | "now" | "clock_timestamp" | "gen_random_uuid" | "timeofday")
        {
            self.read_only = false; // nextval, setval, pg_advisory_lock, ..: not safe to run twice
        }
        let record = outs.len() > 1;
        if record {
            if outs.iter().any(|(t, _)| catalog::Catalog::is_polymorphic(*t)) {
                return err(format!("the columns of {name} are polymorphic: not typed"), f.location);
            }
            // Only a FROM item reads them (a record in a select list is refused there).
            self.outs = outs;
        } else if let [(_, out)] = outs.as_slice() {
            // One OUT argument names the column (`jsonb_array_elements(..)`: value).
            self.outs = vec![(result, out.clone())];
        }
        let record_in_from = record_ok && result == oid::RECORD;
        // A `void` result is a value like any other (its binary form is empty): it reads as
        // `taulu::Raw`, so `SELECT pg_advisory_xact_lock($1)` is typed.
        if !record && !record_in_from && matches!(result, oid::RECORD | oid::UNKNOWN) {
            return err(format!("{name} returns {}, which has no Rust mapping", self.env.name(result)), f.location);
        }
        let is_agg = proc_kind == b'a' && f.over.is_none();
        let grouped = self.levels.last().is_some_and(|l| l.grouped);
        let nullable = match (proc_kind, name.as_str()) {
            (b'a', "count") => false,
            // Every group has a row: an aggregate of non-null values has a value (but a sample
            // statistic of one row is NULL).
            (b'a', n) => {
                !grouped
                    || f.agg_filter.is_some()
                    || args.iter().any(|e| e.nullable)
                    || n.ends_with("_samp")
                    || matches!(n, "stddev" | "variance" | "corr")
                    || n.starts_with("regr_")
            }
            (b'w', "row_number" | "rank" | "dense_rank" | "percent_rank" | "cume_dist" | "ntile") => false,
            (b'w', _) => true,
            // A set-returning function returns no rows for NULL arguments, not NULLs; only some
            // return NULL elements.
            _ if retset => matches!(name.as_str(), "unnest" | "jsonb_array_elements_text" | "json_array_elements_text"),
            _ => !strict || args.iter().any(|e| e.nullable) || function_may_return_null(&name),
        };
        Ok(E { agg: is_agg || args.iter().any(|e| e.agg), ..E::of(result, nullable).named(&name) })
    }

    fn case(&mut self, c: &pb::CaseExpr) -> R<E> {
        let subject = match node(&c.arg) {
            Some(a) => Some(self.expr(a)?),
            None => None,
        };
        let mut results = Vec::new();
        let mut conds = Vec::new();
        for w in &c.args {
            let Some(NodeEnum::CaseWhen(w)) = w.node.as_ref() else { continue };
            let cond = node(&w.expr).expect("a condition");
            let e = self.expr(cond)?;
            match &subject {
                Some(s) => {
                    let s = self.refresh(s);
                    self.operator("=", &[s, e], w.location)?;
                }
                None => self.want(&e, oid::BOOL, "a CASE condition", location(cond))?,
            }
            conds.push(());
            results.push(self.expr(node(&w.result).expect("a result"))?);
        }
        let default = match node(&c.defresult) {
            Some(d) => Some(self.expr(d)?),
            None => None,
        };
        // PostgreSQL resolves the ELSE first.
        let mut all: Vec<E> = default.iter().cloned().collect();
        all.extend(results.iter().cloned());
        let ty = self.common(&all, "CASE", c.location)?;
        let nullable = default.as_ref().is_none_or(|d| d.nullable) || results.iter().any(|r| r.nullable);
        Ok(E { agg: all.iter().any(|e| e.agg), ..E::of(ty, nullable).named("case") })
    }

    fn sublink(&mut self, s: &pb::SubLink) -> R<E> {
        use pb::SubLinkType as T;
        let Some(NodeEnum::SelectStmt(sel)) = node(&s.subselect) else { return err("a subquery", s.location) };
        let kind = T::try_from(s.sub_link_type).unwrap_or(T::Undefined);
        let out = self.select(sel)?;
        match kind {
            T::ExistsSublink => Ok(E::of(oid::BOOL, false).named("exists")),
            T::ExprSublink | T::ArraySublink => {
                if out.len() != 1 {
                    return err("subquery must return only one column", s.location);
                }
                let e = &out[0];
                if kind == T::ArraySublink {
                    let arr = self
                        .env
                        .array_of(e.ty)
                        .ok_or_else(|| TypeError { message: "no array type".into(), at: None })?;
                    return Ok(E::of(arr, false).named("array"));
                }
                // A subquery may find no row: NULL; unless it aggregates without grouping or
                // limits (`(SELECT count(*) FROM ..)`), which makes exactly one row.
                let one_row = e.agg
                    && sel.group_clause.is_empty()
                    && sel.having_clause.is_none()
                    && sel.op == pb::SetOperation::SetopNone as i32
                    && sel.limit_count.is_none()
                    && sel.limit_offset.is_none();
                Ok(E { name: e.name.clone(), ..E::of(e.ty, e.nullable || !one_row) })
            }
            T::AnySublink | T::AllSublink if matches!(node(&s.testexpr), Some(NodeEnum::RowExpr(_))) => {
                // `(a, b) IN (SELECT x, y ..)`: the row against the subquery's columns, pair by pair.
                let Some(NodeEnum::RowExpr(r)) = node(&s.testexpr) else { unreachable!("matched") };
                let left = self.exprs(&r.args)?;
                let op = if s.oper_name.is_empty() { "=".to_owned() } else { Self::op_name(&s.oper_name) };
                let right: Vec<E> = out.iter().map(|c| E::of(c.ty, c.nullable)).collect();
                let nullable = self.row_pairs(&left, &right, &op, s.location)?;
                Ok(E::of(oid::BOOL, nullable))
            }
            T::AnySublink | T::AllSublink => {
                let l = self.expr(node(&s.testexpr).expect("an operand"))?;
                if out.len() != 1 {
                    return err("subquery has too many columns", s.location);
                }
                let op = if s.oper_name.is_empty() { "=".to_owned() } else { Self::op_name(&s.oper_name) };
                let r = E::of(out[0].ty, out[0].nullable);
                self.operator(&op, &[l.clone(), r], s.location)?;
                Ok(E::of(oid::BOOL, l.nullable || out[0].nullable))
            }
            _ => err("this kind of subquery is not typed", s.location),
        }
    }
}

/// `p` with its arguments in the order of a call that names some of them (`named[i]`: the name
/// given for argument i, `None` for a positional one, which come first); `None` when the call
/// does not fit `p` (an unknown or repeated name, a required argument left out).
fn in_call_order(p: &catalog::Proc, named: &[Option<String>]) -> Option<catalog::Proc> {
    if p.names.len() != p.args.len() || p.variadic != 0 {
        return None;
    }
    let mut taken = vec![false; p.args.len()];
    let mut args = Vec::with_capacity(named.len());
    for (i, name) in named.iter().enumerate() {
        let at = match name {
            None => i,
            Some(n) => p.names.iter().position(|x| x == n)?,
        };
        if at >= p.args.len() || std::mem::replace(&mut taken[at], true) {
            return None;
        }
        args.push(p.args[at]);
    }
    // Whatever is not given needs a default (the last `defaults` arguments have one).
    let first_default = p.args.len() - p.defaults;
    if taken.iter().enumerate().any(|(i, t)| !t && i < first_default) {
        return None;
    }
    Some(catalog::Proc { args, defaults: 0, ..p.clone() })
}

/// Whether OUT column `out` of set-returning function `f` can be NULL: the JSON functions' keys
/// and JSON values cannot (a JSON null is a value); their `_text` values can; of any other, assume
/// it can.
fn out_may_be_null(f: &str, out: &str) -> bool {
    match f {
        "json_each" | "jsonb_each" => false,
        "json_each_text" | "jsonb_each_text" => out != "key",
        _ => true,
    }
}

/// Strict built-ins that still return NULL for some non-NULL inputs.
fn function_may_return_null(name: &str) -> bool {
    matches!(
        name,
        "nullif"
            | "array_position"
            | "array_length"
            | "array_upper"
            | "array_lower"
            | "substring"
            | "regexp_match"
            | "jsonb_extract_path"
            | "jsonb_extract_path_text"
            | "json_extract_path"
            | "json_extract_path_text"
            | "to_number"
            | "split_part"
            | "jsonb_path_query_first"
            | "cardinality"
            | "unnest"
    )
}

/// The type of a system column every table has.
fn system_column(name: &str) -> Option<u32> {
    Some(match name {
        "ctid" => 27,
        "xmin" | "xmax" => 28,
        "cmin" | "cmax" => 29,
        "tableoid" => 26,
        _ => return None,
    })
}

/// ` (did you mean "x"?)` for the candidate closest to `name`.
pub fn suggest(name: &str, candidates: Vec<&str>) -> String {
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= (name.len().max(c.len()) / 3).max(2))
        .min()
        .map(|(_, c)| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default()
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
