//! The schema model: replays [`Change`]s in order into tables, columns and user types, the way
//! PostgreSQL would apply them, and maps SQL types to Rust types. Plain Rust, no tokens and no
//! parser: unit-tested with SQL through `ddl` only for convenience.

use std::collections::{BTreeMap, BTreeSet};

use crate::ddl::{
    AlterAction, Change, ColumnSpec, Condition, FunctionSpec, Identity, Located, Origin, Probe, QName, SqlError, Step,
    TEMP_SCHEMA, TableElement, TypeSpec,
};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1 bytes).
const MAX_IDENT: usize = 63;
pub(crate) const DEFAULT_SCHEMA: &str = "public";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColType {
    /// A built-in type by its internal name (`int4`, `varchar`, ...) with its modifiers.
    Builtin {
        name: String,
        typmods: Vec<i64>,
    },
    /// A user type (enum, domain, ...) by id into [`Schema::types`].
    User(usize),
    Array(Box<ColType>),
}

/// A relation a query names: a position in [`Schema::tables`] or in [`Schema::sequences`].
pub enum Relation {
    Table(usize),
    Sequence(usize),
}

/// A sequence: made by `CREATE SEQUENCE`, or for a serial or identity column (then owned by that
/// column, and dropped with it). Read as a relation of three columns (`last_value`, `log_cnt`,
/// `is_called`).
#[derive(Debug, Clone)]
pub struct Sequence {
    /// In the same numbering as tables' ids: what views record they read.
    pub id: u64,
    pub schema: String,
    pub name: String,
    /// The column that owns it: (table id, column name).
    pub owner: Option<(u64, String)>,
    /// Made for a serial column whose default still reads it.
    pub serial: bool,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: ColType,
    pub not_null: bool,
    pub has_default: bool,
    pub identity: Option<Identity>,
    pub generated: bool,
    /// For a generated column: the columns its expression reads.
    pub depends_on: Vec<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Table {
    /// Stable across renames and moves: what views record they read.
    pub id: u64,
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
    pub origin: Origin,
    /// `Some` for a view: read-only, and the columns of other relations it reads.
    pub view: Option<View>,
    /// The tables it is a partition of or inherits from (`PARTITION OF`, `INHERITS`), by id.
    pub parents: Vec<u64>,
    /// Its columns that come from its parents only (not also declared by itself): dropped when
    /// the parent's column is.
    pub inherited: Vec<String>,
}

/// A column a view reads: (relation id, column name).
pub type ColumnUse = (u64, String);

#[derive(Debug, Clone, Default)]
pub struct View {
    /// Every column the view's query reads.
    pub uses: Vec<ColumnUse>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeKind {
    Enum { labels: Vec<String> },
    Domain { base: ColType, not_null: bool, has_default: bool },
    Other(&'static str),
}

#[derive(Debug, Clone)]
pub struct UserType {
    pub schema: String,
    pub name: String,
    pub kind: TypeKind,
    pub origin: Origin,
    /// Dropped types keep their slot so ids stay stable.
    pub dropped: bool,
    /// A composite type's fields, while the model knows them (`(x).field` in `sql!`).
    pub fields: Option<Vec<(String, ColType)>>,
}

/// A function created by the migrations, for `sql!` to type calls to it.
#[derive(Debug, Clone)]
pub struct Function {
    pub schema: String,
    pub name: String,
    /// The input arguments' types and names.
    pub args: Vec<ColType>,
    pub arg_names: Vec<String>,
    /// How many trailing arguments have defaults.
    pub defaults: usize,
    pub variadic: bool,
    /// The result type (`record` for several OUT columns).
    pub result: ColType,
    /// The OUT columns when there are several: (type, name).
    pub outs: Vec<(ColType, String)>,
    pub retset: bool,
    pub volatile: u8,
    /// A procedure: only `CALL` runs it; its result is its OUT arguments (`void` without any).
    pub procedure: bool,
}

/// The pseudo-types a function's signature may use, known by their catalog names; `trigger` and
/// `event_trigger` functions are not callable from a query and not kept.
const PSEUDO_TYPES: &[&str] = &[
    "void",
    "record",
    "anyelement",
    "anyarray",
    "anynonarray",
    "anyenum",
    "anyrange",
    "anycompatible",
    "anycompatiblearray",
    "anycompatiblenonarray",
    "cstring",
];

#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Functions created by the migrations.
    pub functions: Vec<Function>,
    pub schemas: BTreeSet<String>,
    pub tables: Vec<Table>,
    pub sequences: Vec<Sequence>,
    pub types: Vec<UserType>,
    /// (schema, name) -> position in `tables`, built on the first lookup after a change that
    /// moves or renames tables (a CREATE TABLE adds to it): replaying N statements stays linear
    /// instead of scanning every table per statement.
    index: std::cell::RefCell<Option<std::collections::HashMap<(String, String), usize>>>,
    /// The file being replayed, and its `SET search_path` (`None`: the default, `"$user", public`).
    /// Both end with the file: the runner applies each file in a session state of its own.
    file: Option<String>,
    search_path: Option<Vec<String>>,
    /// Extensions created so far (their types resolve, as raw values), and the schema each is in.
    extensions: BTreeMap<String, String>,
    next_id: u64,
}

/// What a built-in type is in Rust. `None`: a PostgreSQL type taulu does not map.
pub struct Builtin {
    /// The internal name (`int4`).
    pub name: &'static str,
    /// How `format_type` prints it without modifiers (`integer`).
    pub display: &'static str,
    /// The Rust type, as a path under `::taulu::__private::types` or a std path.
    pub rust: Option<&'static str>,
}

const BUILTINS: &[Builtin] = &[
    Builtin { name: "int2", display: "smallint", rust: Some("i16") },
    Builtin { name: "int4", display: "integer", rust: Some("i32") },
    Builtin { name: "int8", display: "bigint", rust: Some("i64") },
    Builtin { name: "float4", display: "real", rust: Some("f32") },
    Builtin { name: "float8", display: "double precision", rust: Some("f64") },
    Builtin { name: "numeric", display: "numeric", rust: Some("Decimal") },
    Builtin { name: "bool", display: "boolean", rust: Some("bool") },
    Builtin { name: "text", display: "text", rust: Some("String") },
    Builtin { name: "varchar", display: "character varying", rust: Some("String") },
    Builtin { name: "bpchar", display: "character", rust: Some("String") },
    Builtin { name: "citext", display: "citext", rust: Some("String") },
    Builtin { name: "name", display: "name", rust: Some("String") },
    Builtin { name: "char", display: "\"char\"", rust: Some("i8") },
    Builtin { name: "oid", display: "oid", rust: Some("u32") },
    Builtin { name: "uuid", display: "uuid", rust: Some("Uuid") },
    Builtin { name: "date", display: "date", rust: Some("NaiveDate") },
    Builtin { name: "time", display: "time without time zone", rust: Some("NaiveTime") },
    Builtin { name: "timestamp", display: "timestamp without time zone", rust: Some("NaiveDateTime") },
    Builtin { name: "timestamptz", display: "timestamp with time zone", rust: Some("DateTimeUtc") },
    Builtin { name: "json", display: "json", rust: Some("JsonValue") },
    Builtin { name: "jsonb", display: "jsonb", rust: Some("JsonValue") },
    Builtin { name: "bytea", display: "bytea", rust: Some("Bytes") },
    Builtin { name: "inet", display: "inet", rust: Some("IpAddr") },
    Builtin { name: "interval", display: "interval", rust: Some("Interval") },
    // Real PostgreSQL types without a Rust mapping: their columns read and write `taulu::Raw`.
    Builtin { name: "timetz", display: "time with time zone", rust: None },
    Builtin { name: "money", display: "money", rust: None },
    Builtin { name: "cidr", display: "cidr", rust: None },
    Builtin { name: "macaddr", display: "macaddr", rust: None },
    Builtin { name: "macaddr8", display: "macaddr8", rust: None },
    Builtin { name: "bit", display: "bit", rust: None },
    Builtin { name: "varbit", display: "bit varying", rust: None },
    Builtin { name: "tsvector", display: "tsvector", rust: None },
    Builtin { name: "tsquery", display: "tsquery", rust: None },
    Builtin { name: "xml", display: "xml", rust: None },
    Builtin { name: "point", display: "point", rust: None },
    Builtin { name: "line", display: "line", rust: None },
    Builtin { name: "lseg", display: "lseg", rust: None },
    Builtin { name: "box", display: "box", rust: None },
    Builtin { name: "path", display: "path", rust: None },
    Builtin { name: "polygon", display: "polygon", rust: None },
    Builtin { name: "circle", display: "circle", rust: None },
    Builtin { name: "pg_lsn", display: "pg_lsn", rust: None },
    Builtin { name: "jsonpath", display: "jsonpath", rust: None },
    Builtin { name: "int4range", display: "int4range", rust: None },
    Builtin { name: "int8range", display: "int8range", rust: None },
    Builtin { name: "numrange", display: "numrange", rust: None },
    Builtin { name: "tsrange", display: "tsrange", rust: None },
    Builtin { name: "tstzrange", display: "tstzrange", rust: None },
    Builtin { name: "daterange", display: "daterange", rust: None },
    Builtin { name: "regclass", display: "regclass", rust: None },
    Builtin { name: "regtype", display: "regtype", rust: None },
];

/// Types that exist once their extension is created (`CREATE EXTENSION hstore`): no Rust mapping,
/// so their columns read and write `taulu::Raw`.
const EXTENSION_TYPES: &[(&str, Builtin)] = &[
    ("hstore", Builtin { name: "hstore", display: "hstore", rust: None }),
    ("ltree", Builtin { name: "ltree", display: "ltree", rust: None }),
    ("ltree", Builtin { name: "lquery", display: "lquery", rust: None }),
    ("ltree", Builtin { name: "ltxtquery", display: "ltxtquery", rust: None }),
    ("cube", Builtin { name: "cube", display: "cube", rust: None }),
    ("seg", Builtin { name: "seg", display: "seg", rust: None }),
    ("isn", Builtin { name: "ean13", display: "ean13", rust: None }),
    ("isn", Builtin { name: "isbn", display: "isbn", rust: None }),
    ("isn", Builtin { name: "isbn13", display: "isbn13", rust: None }),
    ("isn", Builtin { name: "ismn", display: "ismn", rust: None }),
    ("isn", Builtin { name: "issn", display: "issn", rust: None }),
    ("isn", Builtin { name: "upc", display: "upc", rust: None }),
    ("vector", Builtin { name: "vector", display: "vector", rust: None }),
    ("vector", Builtin { name: "halfvec", display: "halfvec", rust: None }),
    ("vector", Builtin { name: "sparsevec", display: "sparsevec", rust: None }),
    ("postgis", Builtin { name: "geometry", display: "geometry", rust: None }),
    ("postgis", Builtin { name: "geography", display: "geography", rust: None }),
];

/// Aliases PostgreSQL resolves to a built-in (the grammar already rewrites `INTEGER`, `DOUBLE
/// PRECISION`, `CHARACTER VARYING`, ...; these are the spellings it leaves alone).
const ALIASES: &[(&str, &str)] = &[
    ("int", "int4"),
    ("integer", "int4"),
    ("smallint", "int2"),
    ("bigint", "int8"),
    ("real", "float4"),
    ("decimal", "numeric"),
    ("boolean", "bool"),
    ("timestamp with time zone", "timestamptz"),
];

const SERIALS: &[(&str, &str)] = &[
    ("serial", "int4"),
    ("serial4", "int4"),
    ("bigserial", "int8"),
    ("serial8", "int8"),
    ("smallserial", "int2"),
    ("serial2", "int2"),
];

pub fn builtin(name: &str) -> Option<&'static Builtin> {
    let name = ALIASES.iter().find(|(a, _)| *a == name).map_or(name, |(_, n)| n);
    BUILTINS.iter().find(|b| b.name == name).or_else(|| EXTENSION_TYPES.iter().map(|(_, b)| b).find(|b| b.name == name))
}

/// The extension whose type a column is of (or of an array of), if any.
fn extension_type(ty: &ColType) -> Option<&'static str> {
    match ty {
        ColType::Builtin { name, .. } => extension_of(name),
        ColType::Array(inner) => extension_type(inner),
        ColType::User(_) => None,
    }
}

/// The extension that provides `name`, for types that need one.
fn extension_of(name: &str) -> Option<&'static str> {
    EXTENSION_TYPES.iter().find(|(_, b)| b.name == name).map(|(e, _)| *e)
}

/// Folds like PostgreSQL: names longer than 63 bytes are truncated (at a character boundary).
pub fn truncate_ident(s: &str) -> String {
    if s.len() <= MAX_IDENT {
        return s.to_owned();
    }
    let mut end = MAX_IDENT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

impl Schema {
    pub fn new() -> Self {
        let mut schemas = BTreeSet::new();
        schemas.insert(DEFAULT_SCHEMA.to_owned());
        Schema { schemas, ..Default::default() }
    }

    /// Applies every change, collecting errors (an error skips its statement, the rest goes on).
    pub fn apply_all(&mut self, changes: &[Located]) -> Vec<SqlError> {
        let mut errors = Vec::new();
        for c in changes {
            if self.file.as_deref() != Some(c.origin.file.as_str()) {
                self.end_file();
                self.file = Some(c.origin.file.clone());
            }
            if let Err(message) = self.apply(&c.change, &c.origin) {
                errors.push(SqlError { origin: c.origin.clone(), message });
            }
        }
        self.end_file();
        errors
    }

    /// What ends with a file's session: its temporary tables and its `search_path`.
    fn end_file(&mut self) {
        if self.tables.iter().any(|t| t.schema == TEMP_SCHEMA) {
            self.tables.retain(|t| t.schema != TEMP_SCHEMA);
            self.reindex();
        }
        self.sequences.retain(|s| s.schema != TEMP_SCHEMA);
        self.search_path = None;
        self.file = None;
    }

    /// The schemas an unqualified name is looked up in, in order: the session's temporary
    /// schema, then the search path (`$user` names no schema the model knows).
    fn path(&self) -> impl Iterator<Item = &str> {
        const DEFAULT_PATH: &[&str] = &[DEFAULT_SCHEMA];
        let path: Vec<&str> = match &self.search_path {
            Some(p) => p.iter().map(String::as_str).filter(|s| *s != "$user" && *s != TEMP_SCHEMA).collect(),
            None => DEFAULT_PATH.to_vec(),
        };
        std::iter::once(TEMP_SCHEMA).chain(path)
    }

    /// Where `CREATE` puts an object named `q`: its schema, or the first schema of the search
    /// path that exists, as PostgreSQL does.
    fn creation_schema(&self, q: &QName) -> Result<String, String> {
        if let Some(s) = &q.schema {
            return Ok(truncate_ident(s));
        }
        self.path()
            .skip(1)
            .find(|s| self.schemas.contains(*s))
            .map(str::to_owned)
            .ok_or_else(|| "no schema has been selected to create in (the search_path names none that exists)".into())
    }

    pub fn live_types(&self) -> impl Iterator<Item = (usize, &UserType)> {
        self.types.iter().enumerate().filter(|(_, t)| !t.dropped)
    }

    /// The schema extension `name` was created in, if the migrations created it.
    pub fn extension_schema(&self, name: &str) -> Option<&str> {
        self.extensions.get(name).map(String::as_str)
    }

    #[cfg(test)]
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.table_position(schema, name).map(|i| &self.tables[i])
    }

    fn table_position(&self, schema: &str, name: &str) -> Option<usize> {
        let mut index = self.index.borrow_mut();
        let index = index.get_or_insert_with(|| {
            self.tables.iter().enumerate().map(|(i, t)| ((t.schema.clone(), t.name.clone()), i)).collect()
        });
        index.get(&(schema.to_owned(), name.to_owned())).copied()
    }

    /// Tables were removed, renamed or moved: positions and names in the index are stale.
    fn reindex(&mut self) {
        *self.index.get_mut() = None;
    }

    pub(crate) fn table_index(&self, q: &QName) -> Option<usize> {
        let name = truncate_ident(&q.name);
        match &q.schema {
            Some(schema) => self.table_position(&truncate_ident(schema), &name),
            None => self.path().find_map(|schema| self.table_position(schema, &name)),
        }
    }

    fn sequence_in(&self, schema: &str, name: &str) -> Option<usize> {
        self.sequences.iter().position(|s| s.schema == schema && s.name == name)
    }

    /// What a relation name in a query means: the first schema on the path holding a table, view
    /// or sequence of that name decides.
    pub(crate) fn relation(&self, q: &QName) -> Option<Relation> {
        let name = truncate_ident(&q.name);
        let find = |schema: &str| {
            self.table_position(schema, &name)
                .map(Relation::Table)
                .or_else(|| self.sequence_in(schema, &name).map(Relation::Sequence))
        };
        match &q.schema {
            Some(schema) => find(&truncate_ident(schema)),
            None => self.path().find_map(find),
        }
    }

    /// Whether a table, view or sequence has this name (they share one namespace).
    fn relation_taken(&self, schema: &str, name: &str) -> bool {
        self.table_position(schema, name).is_some() || self.sequence_in(schema, name).is_some()
    }

    fn require_sequence(&self, q: &QName, missing_ok: bool) -> Result<Option<usize>, String> {
        match self.relation(q) {
            Some(Relation::Sequence(i)) => Ok(Some(i)),
            _ if missing_ok => Ok(None),
            _ => Err(format!("sequence {} does not exist", display_qname(q))),
        }
    }

    /// The position in `tables` of the relation with this id (ids survive what moves positions).
    pub(crate) fn table_by_id(&self, id: u64) -> Option<usize> {
        self.tables.iter().position(|t| t.id == id)
    }

    /// The sequence PostgreSQL makes for a serial or identity column: `<table>_<column>_seq`,
    /// both names shortened to fit 63 bytes, and `seq1`, `seq2`, .. while the name is taken.
    fn own_sequence(&mut self, t: usize, column: &str, serial: bool) {
        let (schema, table, id) = (self.tables[t].schema.clone(), self.tables[t].name.clone(), self.tables[t].id);
        let name = (0..)
            .map(|pass| object_name(&table, column, &if pass == 0 { "seq".into() } else { format!("seq{pass}") }))
            .find(|n| !self.relation_taken(&schema, n))
            .expect("a free name");
        self.next_id += 1;
        self.sequences.push(Sequence { id: self.next_id, schema, name, owner: Some((id, column.to_owned())), serial });
    }

    /// The ids of the sequences owned by the relations `ids` (by all their columns, or by `column`).
    fn owned_sequences(&self, ids: &[u64], column: Option<&str>) -> Vec<u64> {
        let owned =
            |s: &&Sequence| s.owner.as_ref().is_some_and(|(t, c)| ids.contains(t) && column.is_none_or(|col| col == c));
        self.sequences.iter().filter(owned).map(|s| s.id).collect()
    }

    fn type_in(&self, schema: &str, name: &str) -> Option<usize> {
        self.types.iter().position(|t| !t.dropped && t.schema == schema && t.name == name)
    }

    fn type_index(&self, q: &QName) -> Option<usize> {
        let name = truncate_ident(&q.name);
        match &q.schema {
            Some(schema) => self.type_in(&truncate_ident(schema), &name),
            None => self.path().skip(1).find_map(|schema| self.type_in(schema, &name)),
        }
    }

    fn require_table(&self, q: &QName, missing_ok: bool) -> Result<Option<usize>, String> {
        match self.table_index(q) {
            Some(i) => Ok(Some(i)),
            None if missing_ok => Ok(None),
            None => Err(format!("table {} does not exist", display_qname(q))),
        }
    }

    fn require_schema(&self, name: &str) -> Result<(), String> {
        if self.schemas.contains(name) { Ok(()) } else { Err(format!("schema \"{name}\" does not exist")) }
    }

    /// Resolves a written type: schema-qualified user types, then built-ins (PostgreSQL searches
    /// `pg_catalog` first) and the types of created extensions, then user types along the search
    /// path.
    pub(crate) fn resolve(&self, spec: &TypeSpec) -> Result<(ColType, bool), String> {
        if spec.pct_type {
            return Err("%TYPE column types are not supported: write the type".into());
        }
        let schema = spec.name.schema.as_deref();
        let name = spec.name.name.as_str();
        let mut serial = false;
        let base = if schema.is_some_and(|s| s != "pg_catalog") {
            match self.type_index(&spec.name) {
                Some(id) => ColType::User(id),
                None => return Err(format!("type {} does not exist", display_qname(&spec.name))),
            }
        } else if let Some((_, int)) = SERIALS.iter().find(|(s, _)| *s == name).filter(|_| schema.is_none()) {
            if spec.array {
                return Err(format!("array of {name} is not supported by PostgreSQL"));
            }
            serial = true;
            ColType::Builtin { name: (*int).to_owned(), typmods: vec![] }
        } else if let Some(b) =
            builtin(name).filter(|b| extension_of(b.name).is_none_or(|e| self.extensions.contains_key(e)))
        {
            let mut typmods = spec.typmods.clone();
            // `numeric(p)` means `numeric(p,0)`.
            if b.name == "numeric" && typmods.len() == 1 {
                typmods.push(0);
            }
            ColType::Builtin { name: b.name.to_owned(), typmods }
        } else if schema.is_none()
            && let Some(id) = self.type_index(&spec.name)
        {
            ColType::User(id)
        } else {
            return Err(format!(
                "type {} does not exist (or is not a type taulu knows; create it in a migration first)",
                display_qname(&spec.name)
            ));
        };
        let ty = if spec.array { ColType::Array(Box::new(base)) } else { base };
        Ok((ty, serial))
    }

    /// A column as written, and whether it is serial.
    fn column(&self, spec: &ColumnSpec, origin: &Origin) -> Result<(Column, bool), String> {
        let (ty, serial) = self.resolve(&spec.ty).map_err(|e| format!("column \"{}\": {e}", spec.name))?;
        let column = Column {
            name: truncate_ident(&spec.name),
            ty,
            not_null: spec.not_null || spec.primary_key || spec.identity.is_some() || serial,
            has_default: spec.has_default || serial,
            identity: spec.identity,
            generated: spec.generated,
            depends_on: spec.depends_on.iter().map(|c| truncate_ident(c)).collect(),
            origin: Origin { file: origin.file.clone(), line: if spec.line > 0 { spec.line } else { origin.line } },
        };
        Ok((column, serial))
    }

    /// `OWNED BY table.column` (`None`: `OWNED BY NONE`): the column, which must exist.
    fn sequence_owner(&self, owned_by: Option<&(QName, String)>) -> Result<Option<(u64, String)>, String> {
        let Some((table, column)) = owned_by else { return Ok(None) };
        let t = self.require_table(table, false)?.expect("not missing_ok");
        let column = truncate_ident(column);
        if !self.tables[t].columns.iter().any(|c| c.name == column) {
            return Err(format!("column \"{column}\" of relation \"{}\" does not exist", self.tables[t].name));
        }
        Ok(Some((self.tables[t].id, column)))
    }

    fn apply(&mut self, change: &Change, origin: &Origin) -> Result<(), String> {
        match change {
            Change::CreateSchema { name, if_not_exists } => {
                let name = truncate_ident(name);
                if !self.schemas.insert(name.clone()) && !if_not_exists {
                    return Err(format!("schema \"{name}\" already exists"));
                }
            }
            Change::DropSchemas { names, missing_ok, cascade } => {
                for name in names {
                    let name = truncate_ident(name);
                    if !self.schemas.contains(&name) {
                        if *missing_ok {
                            continue;
                        }
                        return Err(format!("schema \"{name}\" does not exist"));
                    }
                    let used = self.tables.iter().any(|t| t.schema == name)
                        || self.sequences.iter().any(|s| s.schema == name)
                        || self.live_types().any(|(_, t)| t.schema == name);
                    if used && !cascade {
                        return Err(format!("cannot drop schema \"{name}\": objects depend on it (use CASCADE)"));
                    }
                    let gone: Vec<u64> = self.tables.iter().filter(|t| t.schema == name).map(|t| t.id).collect();
                    let owned = self.owned_sequences(&gone, None);
                    self.sequences.retain(|s| s.schema != name && !owned.contains(&s.id));
                    self.tables.retain(|t| t.schema != name);
                    self.functions.retain(|f| f.schema != name);
                    self.extensions.retain(|_, s| *s != name);
                    self.reindex();
                    for t in self.types.iter_mut().filter(|t| t.schema == name) {
                        t.dropped = true;
                    }
                    self.schemas.remove(&name);
                }
            }
            Change::RenameSchema { name, new_name } => {
                let (name, new_name) = (truncate_ident(name), truncate_ident(new_name));
                if !self.schemas.remove(&name) {
                    return Err(format!("schema \"{name}\" does not exist"));
                }
                self.schemas.insert(new_name.clone());
                for t in self.tables.iter_mut().filter(|t| t.schema == name) {
                    t.schema = new_name.clone();
                }
                for s in self.sequences.iter_mut().filter(|s| s.schema == name) {
                    s.schema = new_name.clone();
                }
                self.reindex();
                for t in self.types.iter_mut().filter(|t| t.schema == name) {
                    t.schema = new_name.clone();
                }
                for f in self.functions.iter_mut().filter(|f| f.schema == name) {
                    f.schema = new_name.clone();
                }
            }
            Change::CreateTable { table, if_not_exists, elements } => {
                let schema = self.creation_schema(table)?;
                if schema != TEMP_SCHEMA {
                    self.require_schema(&schema)?;
                }
                if self.relation_taken(&schema, &truncate_ident(&table.name)) {
                    return if *if_not_exists {
                        Ok(())
                    } else {
                        Err(format!("relation {} already exists", display_qname(table)))
                    };
                }
                let mut columns: Vec<Column> = Vec::new();
                // Serial and identity columns, which get a sequence of their own.
                let mut sequenced: Vec<(String, bool)> = Vec::new();
                let mut pk: Vec<String> = Vec::new();
                // Columns from parents (INHERITS / PARTITION OF): a column of the same name
                // merges with them instead of being a duplicate.
                let mut inherited: BTreeSet<String> = BTreeSet::new();
                let mut parents: Vec<u64> = Vec::new();
                for element in elements {
                    match element {
                        TableElement::Inherits { parents: of, .. } => {
                            for parent in of {
                                let p = self.require_table(parent, false)?.expect("not missing_ok");
                                parents.push(self.tables[p].id);
                                for c in &self.tables[p].columns {
                                    if let Some(same) = columns.iter_mut().find(|x| x.name == c.name) {
                                        same.not_null |= c.not_null;
                                        continue;
                                    }
                                    inherited.insert(c.name.clone());
                                    // A partition and an INHERITS child get the columns, their
                                    // NOT NULL and defaults, but not identity: in PostgreSQL 15
                                    // (the version modelled) a partition's identity column is a
                                    // plain NOT NULL one, filled when rows go in through the
                                    // parent (17 gives partitions the parent's identity).
                                    columns.push(Column { identity: None, origin: origin.clone(), ..c.clone() });
                                }
                            }
                        }
                        TableElement::Column(spec) => {
                            let (col, serial) = self.column(spec, origin)?;
                            if serial || col.identity.is_some() {
                                sequenced.push((col.name.clone(), serial));
                            }
                            if inherited.remove(&col.name) {
                                let same = columns.iter_mut().find(|c| c.name == col.name).expect("inherited");
                                same.not_null |= col.not_null;
                                same.has_default |= col.has_default;
                                continue;
                            }
                            if columns.iter().any(|c| c.name == col.name) {
                                return Err(format!("column \"{}\" specified more than once", col.name));
                            }
                            columns.push(col);
                        }
                        TableElement::PrimaryKey(keys) => pk.extend(keys.iter().map(|k| truncate_ident(k))),
                        TableElement::Like { table: like, options } => {
                            let source = self.require_table(like, false)?.expect("not missing_ok");
                            for c in &self.tables[source].columns {
                                if columns.iter().any(|x| x.name == c.name) {
                                    return Err(format!("column \"{}\" specified more than once", c.name));
                                }
                                let keep_generated = options & crate::ddl::LIKE_GENERATED != 0;
                                let keep_defaults = options & crate::ddl::LIKE_DEFAULTS != 0;
                                let keep_identity = options & crate::ddl::LIKE_IDENTITY != 0;
                                if keep_identity && c.identity.is_some() {
                                    sequenced.push((c.name.clone(), false));
                                }
                                columns.push(Column {
                                    identity: c.identity.filter(|_| keep_identity),
                                    generated: c.generated && keep_generated,
                                    has_default: c.has_default && !c.generated && keep_defaults,
                                    origin: origin.clone(),
                                    ..c.clone()
                                });
                            }
                        }
                    }
                }
                for key in &pk {
                    let col = columns
                        .iter_mut()
                        .find(|c| &c.name == key)
                        .ok_or_else(|| format!("primary key column \"{key}\" does not exist"))?;
                    col.not_null = true;
                }
                let name = truncate_ident(&table.name);
                if let Some(index) = self.index.get_mut() {
                    index.insert((schema.clone(), name.clone()), self.tables.len());
                }
                self.next_id += 1;
                self.tables.push(Table {
                    id: self.next_id,
                    schema,
                    name,
                    columns,
                    origin: origin.clone(),
                    view: None,
                    parents,
                    inherited: inherited.into_iter().collect(),
                });
                for (column, serial) in sequenced {
                    self.own_sequence(self.tables.len() - 1, &column, serial);
                }
            }
            Change::AlterTable { table, missing_ok, actions, only } => {
                let Some(t) = self.require_table(table, *missing_ok)? else { return Ok(()) };
                // By id: a change that drops views moves the tables after them.
                let id = self.tables[t].id;
                for action in actions {
                    let t = self.table_by_id(id).expect("a table outlives its own ALTER");
                    self.alter(t, action, origin).map_err(|e| format!("ALTER TABLE {}: {e}", display_qname(table)))?;
                    // Without ONLY, PostgreSQL applies a column's change to the partitions and
                    // inheriting tables too.
                    if !only {
                        for child in self.descendants(t) {
                            let Some(d) = self.table_by_id(child) else { continue };
                            self.alter_inherited(d, action, origin).map_err(|e| {
                                format!("ALTER TABLE {} (on {}): {e}", display_qname(table), self.tables[d].name)
                            })?;
                        }
                    }
                }
            }
            // `ALTER TABLE` renames and moves a sequence too.
            Change::RenameTable { table, new_name, missing_ok }
                if matches!(self.relation(table), Some(Relation::Sequence(_))) =>
            {
                return self.apply(
                    &Change::RenameSequence {
                        name: table.clone(),
                        new_name: new_name.clone(),
                        missing_ok: *missing_ok,
                    },
                    origin,
                );
            }
            Change::SetTableSchema { table, schema, missing_ok }
                if matches!(self.relation(table), Some(Relation::Sequence(_))) =>
            {
                return self.apply(
                    &Change::SetSequenceSchema { name: table.clone(), schema: schema.clone(), missing_ok: *missing_ok },
                    origin,
                );
            }
            Change::RenameTable { table, new_name, missing_ok } => {
                let Some(t) = self.require_table(table, *missing_ok)? else { return Ok(()) };
                let new_name = truncate_ident(new_name);
                if self.relation_taken(&self.tables[t].schema, &new_name) {
                    return Err(format!("relation \"{new_name}\" already exists"));
                }
                self.tables[t].name = new_name;
                self.reindex();
            }
            Change::RenameColumn { table, column, new_name, missing_ok, only } => {
                let Some(t) = self.require_table(table, *missing_ok)? else { return Ok(()) };
                // The partitions' and inheriting tables' column is renamed with it (ONLY cannot).
                let column = truncate_ident(column);
                let children: Vec<usize> = self
                    .descendants(t)
                    .into_iter()
                    .filter_map(|id| self.table_by_id(id))
                    .filter(|d| self.tables[*d].columns.iter().any(|c| c.name == column))
                    .collect();
                if *only && !children.is_empty() {
                    return Err(format!("inherited column \"{column}\" must be renamed in child tables too"));
                }
                for target in std::iter::once(t).chain(children) {
                    self.rename_column(target, &column, new_name)?;
                }
            }
            Change::SetTableSchema { table, schema, missing_ok } => {
                let Some(t) = self.require_table(table, *missing_ok)? else { return Ok(()) };
                let schema = truncate_ident(schema);
                self.require_schema(&schema)?;
                if self.relation_taken(&schema, &self.tables[t].name) {
                    return Err(format!("relation \"{}\" already exists in schema \"{schema}\"", self.tables[t].name));
                }
                // Its sequences move with it, as PostgreSQL moves them.
                let id = self.tables[t].id;
                for s in self.sequences.iter_mut().filter(|s| s.owner.as_ref().is_some_and(|(o, _)| *o == id)) {
                    s.schema.clone_from(&schema);
                }
                self.tables[t].schema = schema;
                self.reindex();
            }
            Change::DropTables { tables, missing_ok, cascade } => {
                for q in tables {
                    if let Some(i) = self.require_table(q, *missing_ok)? {
                        if self.tables[i].view.is_some() {
                            return Err(format!("{} is a view: use DROP VIEW", display_qname(q)));
                        }
                        let id = self.tables[i].id;
                        self.drop_relations(&[id], *cascade, &format!("table {}", display_qname(q)))?;
                    }
                }
            }
            Change::CreateSequence { name, if_not_exists, owned_by } => {
                let schema = self.creation_schema(name)?;
                if schema != TEMP_SCHEMA {
                    self.require_schema(&schema)?;
                }
                let seq = truncate_ident(&name.name);
                if self.relation_taken(&schema, &seq) {
                    return if *if_not_exists {
                        Ok(())
                    } else {
                        Err(format!("relation {} already exists", display_qname(name)))
                    };
                }
                let owner = self.sequence_owner(owned_by.as_ref())?;
                self.next_id += 1;
                self.sequences.push(Sequence { id: self.next_id, schema, name: seq, owner, serial: false });
            }
            Change::AlterSequenceOwner { name, missing_ok, owned_by } => {
                let Some(i) = self.require_sequence(name, *missing_ok)? else { return Ok(()) };
                self.sequences[i].owner = self.sequence_owner(owned_by.as_ref())?;
            }
            Change::RenameSequence { name, new_name, missing_ok } => {
                let Some(i) = self.require_sequence(name, *missing_ok)? else { return Ok(()) };
                let new_name = truncate_ident(new_name);
                if self.relation_taken(&self.sequences[i].schema, &new_name) {
                    return Err(format!("relation \"{new_name}\" already exists"));
                }
                self.sequences[i].name = new_name;
            }
            Change::SetSequenceSchema { name, schema, missing_ok } => {
                let Some(i) = self.require_sequence(name, *missing_ok)? else { return Ok(()) };
                let schema = truncate_ident(schema);
                self.require_schema(&schema)?;
                if self.relation_taken(&schema, &self.sequences[i].name) {
                    return Err(format!(
                        "relation \"{}\" already exists in schema \"{schema}\"",
                        self.sequences[i].name
                    ));
                }
                self.sequences[i].schema = schema;
            }
            Change::DropSequences { names, missing_ok, cascade } => {
                for q in names {
                    let Some(i) = self.require_sequence(q, *missing_ok)? else { continue };
                    // An identity column requires its sequence; a serial column's default reads
                    // its sequence, and goes with it under CASCADE.
                    if let Some((id, column)) = self.sequences[i].owner.clone() {
                        let t = self.table_by_id(id).expect("an owner exists");
                        let table = self.tables[t].name.clone();
                        let col = column_mut(&mut self.tables[t], &column)?;
                        if col.identity.is_some() {
                            return Err(format!(
                                "cannot drop sequence {}: column \"{column}\" of table \"{table}\" requires it \
                                 (drop the column's identity instead)",
                                display_qname(q)
                            ));
                        }
                        if self.sequences[i].serial && col.has_default {
                            if !cascade {
                                return Err(format!(
                                    "cannot drop sequence {}: the default of column \"{column}\" of table \"{table}\" \
                                     depends on it (use CASCADE)",
                                    display_qname(q)
                                ));
                            }
                            col.has_default = false;
                        }
                    }
                    let id = self.sequences[i].id;
                    self.drop_relations(&[id], *cascade, &format!("sequence {}", display_qname(q)))?;
                }
            }
            Change::CreateView { name, replace, columns, query } => {
                self.create_view(name, *replace, columns, query, origin)?
            }
            Change::DropViews { names, missing_ok, cascade } => {
                for q in names {
                    match self.table_index(q) {
                        Some(i) if self.tables[i].view.is_some() => {
                            let id = self.tables[i].id;
                            self.drop_relations(&[id], *cascade, &format!("view {}", display_qname(q)))?;
                        }
                        Some(_) => return Err(format!("{} is not a view", display_qname(q))),
                        None if *missing_ok => {}
                        None => return Err(format!("view {} does not exist", display_qname(q))),
                    }
                }
            }
            Change::CreateEnum { name, labels } => {
                self.create_type(name, TypeKind::Enum { labels: labels.clone() }, origin)?;
            }
            Change::CreateDomain { name, base, not_null, has_default } => {
                let (base, serial) = self.resolve(base)?;
                if serial {
                    return Err("a domain cannot be based on a serial type".into());
                }
                self.create_type(
                    name,
                    TypeKind::Domain { base, not_null: *not_null, has_default: *has_default },
                    origin,
                )?;
            }
            Change::CreateOtherType { name, kind, fields } => {
                self.create_type(name, TypeKind::Other(kind), origin)?;
                // Every field's type known, or none kept (a field of an unknown type is refused).
                let fields = fields.iter().map(|(n, t)| Some((n.clone(), self.resolve(t).ok()?.0))).collect();
                if let Some(t) = self.types.last_mut().filter(|_| *kind == "composite type") {
                    t.fields = fields;
                }
            }
            Change::ForgetFields { name } => {
                if let Some(id) = self.type_index(name) {
                    self.types[id].fields = None;
                }
            }
            Change::AddEnumValue { name, label, neighbor, if_not_exists } => {
                let labels = self.enum_labels(name)?;
                if labels.contains(label) {
                    return if *if_not_exists { Ok(()) } else { Err(format!("enum label \"{label}\" already exists")) };
                }
                let at = match neighbor {
                    None => labels.len(),
                    Some((n, after)) => {
                        let i = labels
                            .iter()
                            .position(|l| l == n)
                            .ok_or_else(|| format!("\"{n}\" is not an existing enum label"))?;
                        if *after { i + 1 } else { i }
                    }
                };
                labels.insert(at, label.clone());
            }
            Change::RenameEnumValue { name, old, new } => {
                let labels = self.enum_labels(name)?;
                if labels.contains(new) {
                    return Err(format!("enum label \"{new}\" already exists"));
                }
                let l = labels
                    .iter_mut()
                    .find(|l| *l == old)
                    .ok_or_else(|| format!("\"{old}\" is not an existing enum label"))?;
                *l = new.clone();
            }
            Change::RenameType { name, new_name, missing_ok } => {
                let Some(id) = self.type_index(name) else {
                    return if *missing_ok {
                        Ok(())
                    } else {
                        Err(format!("type {} does not exist", display_qname(name)))
                    };
                };
                self.types[id].name = truncate_ident(new_name);
            }
            Change::SetTypeSchema { name, schema, missing_ok } => {
                let Some(id) = self.type_index(name) else {
                    return if *missing_ok {
                        Ok(())
                    } else {
                        Err(format!("type {} does not exist", display_qname(name)))
                    };
                };
                let schema = truncate_ident(schema);
                self.require_schema(&schema)?;
                self.types[id].schema = schema;
            }
            Change::DropTypes { names, missing_ok, cascade } => {
                for q in names {
                    let Some(id) = self.type_index(q) else {
                        if *missing_ok {
                            continue;
                        }
                        return Err(format!("type {} does not exist", display_qname(q)));
                    };
                    let users: Vec<String> = self
                        .tables
                        .iter()
                        .flat_map(|t| {
                            t.columns
                                .iter()
                                .filter(|c| uses_type(&c.ty, id))
                                .map(move |c| format!("{}.{}", t.name, c.name))
                        })
                        .collect();
                    if !users.is_empty() {
                        if !cascade {
                            return Err(format!(
                                "cannot drop type {}: column {} depends on it (use CASCADE)",
                                display_qname(q),
                                users.join(", ")
                            ));
                        }
                        for t in &mut self.tables {
                            t.columns.retain(|c| !uses_type(&c.ty, id));
                        }
                    }
                    self.types[id].dropped = true;
                }
            }
            Change::AlterDomainNotNull { name, not_null } => {
                match self.type_index(name).map(|id| &mut self.types[id].kind) {
                    Some(TypeKind::Domain { not_null: n, .. }) => *n = *not_null,
                    _ => return Err(format!("domain {} does not exist", display_qname(name))),
                }
            }
            Change::AlterDomainDefault { name, has_default } => {
                match self.type_index(name).map(|id| &mut self.types[id].kind) {
                    Some(TypeKind::Domain { has_default: d, .. }) => *d = *has_default,
                    _ => return Err(format!("domain {} does not exist", display_qname(name))),
                }
            }
            Change::SetSearchPath(path) => self.search_path = path.clone(),
            Change::CreateExtension { name, schema } => {
                let schema = self.creation_schema(&QName { schema: schema.clone(), name: name.clone() })?;
                self.require_schema(&schema)?;
                self.extensions.entry(name.clone()).or_insert(schema);
            }
            Change::DropExtensions { names, missing_ok, cascade } => {
                for name in names {
                    if self.extensions.remove(name).is_none() {
                        if *missing_ok {
                            continue;
                        }
                        return Err(format!("extension \"{name}\" does not exist"));
                    }
                    let of_it = |c: &Column| extension_type(&c.ty).is_some_and(|e| e == name);
                    if !cascade
                        && let Some((t, c)) =
                            self.tables.iter().find_map(|t| Some((t, t.columns.iter().find(|c| of_it(c))?)))
                    {
                        return Err(format!(
                            "cannot drop extension {name}: column {} of table {} is of its type (use CASCADE)",
                            c.name, t.name
                        ));
                    }
                    for t in &mut self.tables {
                        t.columns.retain(|c| !of_it(c));
                    }
                }
            }
            Change::CreateFunction { name, replace: _, function } => {
                let schema = self.creation_schema(name)?;
                self.require_schema(&schema)?;
                let Some(f) = self.function(&schema, name, function) else { return Ok(()) };
                let same = |g: &Function| g.schema == f.schema && g.name == f.name && g.args == f.args;
                // Without OR REPLACE, PostgreSQL would have refused a second definition; meeting one
                // means the model missed what removed the first: the later one wins.
                match self.functions.iter().position(same) {
                    Some(i) => self.functions[i] = f,
                    None => self.functions.push(f),
                }
            }
            Change::DropFunctions { names, missing_ok: _ } => {
                for (name, args) in names {
                    let args: Option<Vec<ColType>> = match args {
                        Some(a) => match a.iter().map(|t| self.signature_type(t)).collect::<Option<Vec<_>>>() {
                            Some(a) => Some(a),
                            // An argument type the model does not keep: neither does it keep the function.
                            None => continue,
                        },
                        None => None,
                    };
                    // A function the model did not keep (a trigger function, one of a type it
                    // does not know) may be dropped: no error when none is found.
                    let fname = truncate_ident(&name.name);
                    let path: Vec<String> = match &name.schema {
                        Some(s) => vec![truncate_ident(s)],
                        None => self.path().map(str::to_owned).collect(),
                    };
                    let schema =
                        path.iter().find(|s| self.functions.iter().any(|f| f.schema == **s && f.name == fname));
                    if let Some(schema) = schema.cloned() {
                        self.functions.retain(|f| {
                            !(f.schema == schema && f.name == fname && args.as_ref().is_none_or(|a| *a == f.args))
                        });
                    }
                }
            }
            Change::Unsupported { what } => return Err(format!("{what} is not supported by taulu's schema model")),
            Change::Do(steps) => self.run_steps(steps, origin)?,
        }
        Ok(())
    }

    /// A `DO` block, as PostgreSQL runs it replaying the files on a fresh database: statements in
    /// order, a block's changes undone when one of its statements fails with a condition it
    /// catches, an `IF` on the catalog decided from the model. What cannot be decided at build
    /// time (a condition the model cannot answer, when the schema depends on it; a loop or an
    /// `EXECUTE` of a computed string changing the schema) fails with what to write instead.
    fn run_steps(&mut self, steps: &[Step], origin: &Origin) -> Result<(), String> {
        for step in steps {
            match step {
                Step::Run { changes, line } => {
                    let at = Origin { file: origin.file.clone(), line: origin.line + line.saturating_sub(1) };
                    for c in changes {
                        self.apply(c, &at).map_err(|e| format!("in the DO block, line {}: {e}", at.line))?;
                    }
                }
                Step::Block { body, catches } if catches.is_empty() => self.run_steps(body, origin)?,
                Step::Block { body, catches } => {
                    let before = self.clone();
                    if let Err(e) = self.run_steps(body, origin) {
                        if !catches.iter().any(|c| catches_error(c, &e)) {
                            return Err(e);
                        }
                        *self = before;
                    }
                }
                Step::If { branches, otherwise } => {
                    let chosen = self.choose(branches, otherwise, origin)?;
                    self.run_steps(chosen, origin)?;
                }
                Step::Opaque { what, line } => {
                    return Err(format!(
                        "in the DO block, line {}: {what} cannot be followed at build time, so taulu cannot tell \
                         what it does to the schema; write the statements out (CREATE .. IF NOT EXISTS, ALTER TABLE \
                         .. ADD COLUMN IF NOT EXISTS, or a DO block of plain statements and IFs testing the catalog)",
                        origin.line + line.saturating_sub(1)
                    ));
                }
            }
        }
        Ok(())
    }

    /// The branch of an `IF` PostgreSQL takes. A condition the model cannot answer is fine when
    /// every branch it could lead to leaves the same schema.
    fn choose<'s>(
        &self,
        branches: &'s [(Condition, Vec<Step>)],
        otherwise: &'s [Step],
        origin: &Origin,
    ) -> Result<&'s [Step], String> {
        for (i, (condition, body)) in branches.iter().enumerate() {
            match self.holds(condition) {
                Some(true) => return Ok(body),
                Some(false) => continue,
                None => {
                    let outcome = |steps: &[Step]| {
                        let mut s = self.clone();
                        s.run_steps(steps, origin).map(|()| s.fingerprint())
                    };
                    let first = outcome(body);
                    let rest = branches[i + 1..].iter().map(|(_, b)| b.as_slice()).chain([otherwise]);
                    if first.is_ok() && rest.map(outcome).all(|o| o == first) {
                        return Ok(body);
                    }
                    let Condition::Unknown(text) = condition else { unreachable!("only unknown conditions") };
                    return Err(format!(
                        "in the DO block: `IF {text}` cannot be decided at build time, and the schema depends on \
                         it; test the catalog as taulu can follow (EXISTS (SELECT 1 FROM pg_type WHERE typname = \
                         '..'), also pg_class, pg_tables, pg_namespace, pg_enum, pg_attribute, \
                         information_schema.tables/columns, or to_regclass('..') IS NULL), or write statements \
                         that decide for themselves (CREATE .. IF NOT EXISTS, ADD COLUMN IF NOT EXISTS)"
                    ));
                }
            }
        }
        Ok(otherwise)
    }

    /// Whether a catalog condition holds on the model (`None`: the model cannot tell).
    fn holds(&self, condition: &Condition) -> Option<bool> {
        let Condition::Exists { negated, probe } = condition else { return None };
        let any_table = |schema: &Option<String>, name: &str| {
            let name = truncate_ident(name);
            self.tables.iter().find(|t| t.name == name && schema.as_ref().is_none_or(|s| *s == t.schema))
        };
        let exists = match probe {
            Probe::Type(name) => {
                let name = truncate_ident(name);
                builtin(&name).is_some()
                    || self.live_types().any(|(_, t)| t.name == name)
                    || self.tables.iter().any(|t| t.name == name)
            }
            Probe::Relation(schema, name) => any_table(schema, name).is_some(),
            Probe::Column(schema, table, column) => {
                any_table(schema, table).is_some_and(|t| t.columns.iter().any(|c| c.name == truncate_ident(column)))
            }
            Probe::EnumLabel(ty, label) => self.live_types().any(|(_, t)| {
                t.name == truncate_ident(ty) && matches!(&t.kind, TypeKind::Enum { labels } if labels.contains(label))
            }),
            Probe::Schema(name) => self.schemas.contains(&truncate_ident(name)),
        };
        Some(exists != *negated)
    }

    /// The schema's content, for telling whether two replays left the same schema.
    fn fingerprint(&self) -> String {
        format!("{:?}{:?}{:?}{:?}{:?}", self.tables, self.types, self.functions, self.schemas, self.extensions)
    }

    /// Positions of the views whose query reads a column matching `uses`.
    fn views_reading(&self, uses: impl Fn(&(u64, String)) -> bool) -> Vec<usize> {
        (0..self.tables.len())
            .filter(|i| self.tables[*i].view.as_ref().is_some_and(|v| v.uses.iter().any(&uses)))
            .collect()
    }

    /// Drops the views that read a column matching `uses`, and the views reading those, or (without
    /// CASCADE) refuses to, as PostgreSQL does.
    fn drop_views_reading(
        &mut self,
        uses: impl Fn(&(u64, String)) -> bool,
        cascade: bool,
        what: &str,
    ) -> Result<(), String> {
        let ids: Vec<u64> = self.views_reading(uses).into_iter().map(|i| self.tables[i].id).collect();
        if ids.is_empty() {
            return Ok(());
        }
        if !cascade {
            let view = self.tables.iter().find(|t| t.id == ids[0]).map_or("?", |t| t.name.as_str());
            return Err(format!("cannot drop {what}: view \"{view}\" depends on it (use CASCADE)"));
        }
        self.drop_relations(&ids, true, what)
    }

    /// Drops the relations `ids` and (with CASCADE; refused without) every view reading them.
    /// The sequences the relations own go with them (a view reading one, like a view reading them).
    fn drop_relations(&mut self, ids: &[u64], cascade: bool, what: &str) -> Result<(), String> {
        let mut gone: Vec<u64> = ids.to_vec();
        loop {
            let owned: Vec<u64> = self.owned_sequences(&gone, None).into_iter().filter(|s| !gone.contains(s)).collect();
            gone.extend(owned);
            let more: Vec<u64> = self
                .tables
                .iter()
                .filter(|t| {
                    !gone.contains(&t.id)
                        && t.view.as_ref().is_some_and(|v| v.uses.iter().any(|(r, _)| gone.contains(r)))
                })
                .map(|t| t.id)
                .collect();
            if more.is_empty() {
                break;
            }
            if !cascade {
                let view = self.tables.iter().find(|t| t.id == more[0]).map_or("?", |t| t.name.as_str());
                return Err(format!("cannot drop {what}: view \"{view}\" depends on it (use CASCADE)"));
            }
            gone.extend(more);
        }
        self.tables.retain(|t| !gone.contains(&t.id));
        self.sequences.retain(|s| !gone.contains(&s.id));
        self.reindex();
        Ok(())
    }

    /// `CREATE [OR REPLACE] VIEW`: typed from its query by `sql!`'s typer; a view it cannot type
    /// fails the build with the reason.
    fn create_view(
        &mut self,
        name: &QName,
        replace: bool,
        aliases: &[String],
        query: &Result<String, String>,
        origin: &Origin,
    ) -> Result<(), String> {
        let schema = self.creation_schema(name)?;
        self.require_schema(&schema)?;
        let view_name = truncate_ident(&name.name);
        let existing = self.table_position(&schema, &view_name);
        match existing {
            Some(i) if !replace || self.tables[i].view.is_none() => {
                return Err(format!("relation \"{view_name}\" already exists"));
            }
            _ => {}
        }
        let (columns, uses) = query
            .clone()
            .and_then(|q| self.type_view(&q, aliases, origin))
            .map_err(|reason| format!("view {view_name} cannot be typed: {reason}"))?;
        match existing {
            Some(i) => {
                // OR REPLACE keeps the relation (and what reads it); PostgreSQL only lets it add
                // columns at the end.
                let kept = &self.tables[i].columns;
                if columns.len() < kept.len() {
                    return Err(format!("cannot drop columns from view {view_name}"));
                }
                if let Some((old, new)) = kept.iter().zip(&columns).find(|(o, n)| o.name != n.name) {
                    return Err(format!(
                        "cannot change name of view column \"{}\" to \"{}\" (CREATE OR REPLACE VIEW only adds \
                         columns at the end)",
                        old.name, new.name
                    ));
                }
                self.tables[i].columns = columns;
                self.tables[i].view = Some(View { uses });
                self.tables[i].origin = origin.clone();
            }
            None => {
                self.next_id += 1;
                if let Some(index) = self.index.get_mut() {
                    index.insert((schema.clone(), view_name.clone()), self.tables.len());
                }
                self.tables.push(Table {
                    id: self.next_id,
                    schema,
                    name: view_name,
                    columns,
                    origin: origin.clone(),
                    view: Some(View { uses }),
                    parents: Vec::new(),
                    inherited: Vec::new(),
                });
            }
        }
        Ok(())
    }

    /// A view's columns (name, type, and nullability from its query, which is more than
    /// PostgreSQL's catalog says: it calls every view column nullable) and the columns it reads.
    fn type_view(
        &self,
        sql: &str,
        aliases: &[String],
        origin: &Origin,
    ) -> Result<(Vec<Column>, Vec<ColumnUse>), String> {
        let typed = crate::sql::type_statement(self, sql).map_err(|e| e.message)?;
        let env = crate::sql::resolve::Env { cat: crate::sql::catalog::get(), schema: self };
        let mut columns: Vec<Column> = typed
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                ty: c.declared.clone().unwrap_or_else(|| env.col(c.ty)),
                not_null: !c.nullable,
                has_default: false,
                identity: None,
                generated: false,
                depends_on: Vec::new(),
                origin: origin.clone(),
            })
            .collect();
        if aliases.len() > columns.len() {
            return Err("CREATE VIEW names more columns than its query has".into());
        }
        for (c, a) in columns.iter_mut().zip(aliases) {
            c.name = truncate_ident(a);
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("column \"{}\" specified more than once", c.name));
            }
        }
        let mut uses: Vec<ColumnUse> = typed.reads.iter().map(|(i, c)| (self.tables[*i].id, c.clone())).collect();
        uses.extend(typed.sequences.iter().map(|s| (self.sequences[*s].id, String::new())));
        uses.sort();
        uses.dedup();
        Ok((columns, uses))
    }

    /// A type of a function's signature: a type of the model, or a pseudo-type by its catalog
    /// name; `None` for one the model does not know (the function is then not kept).
    fn signature_type(&self, spec: &TypeSpec) -> Option<ColType> {
        if let Ok((ty, _)) = self.resolve(spec) {
            return Some(ty);
        }
        let name = spec.name.name.as_str();
        let builtin = spec.name.schema.as_deref().is_none_or(|s| s == "pg_catalog");
        (builtin && !spec.array && PSEUDO_TYPES.contains(&name))
            .then(|| ColType::Builtin { name: name.to_owned(), typmods: Vec::new() })
    }

    /// The model of a `CREATE FUNCTION`, or `None` when a type of its signature is unknown to
    /// the model or it is a trigger function: `sql!` then reports a call to it as unknown.
    fn function(&self, schema: &str, name: &QName, spec: &FunctionSpec) -> Option<Function> {
        let args = spec.args.iter().map(|(_, t)| self.signature_type(t)).collect::<Option<Vec<_>>>()?;
        let outs =
            spec.outs.iter().map(|(n, t)| Some((self.signature_type(t)?, n.clone()))).collect::<Option<Vec<_>>>()?;
        let result = match (&spec.returns, outs.as_slice()) {
            (_, []) if spec.procedure => ColType::Builtin { name: "void".into(), typmods: Vec::new() },
            (Some(t), _) if spec.outs.len() <= 1 || t.name.name != "record" => self.signature_type(t)?,
            (_, [(t, _)]) => t.clone(),
            (_, []) => return None,
            _ => ColType::Builtin { name: "record".into(), typmods: Vec::new() },
        };
        Some(Function {
            schema: schema.to_owned(),
            name: truncate_ident(&name.name),
            arg_names: spec.args.iter().map(|(n, _)| n.clone()).collect(),
            args,
            defaults: spec.defaults,
            variadic: spec.variadic,
            result,
            // A procedure's single OUT argument names its column, as several do.
            outs: if outs.len() > 1 || spec.procedure { outs } else { Vec::new() },
            retset: spec.retset,
            volatile: spec.volatile,
            procedure: spec.procedure,
        })
    }

    fn create_type(&mut self, name: &QName, kind: TypeKind, origin: &Origin) -> Result<(), String> {
        let schema = self.creation_schema(name)?;
        self.require_schema(&schema)?;
        if self.type_in(&schema, &truncate_ident(&name.name)).is_some() {
            return Err(format!("type {} already exists", display_qname(name)));
        }
        self.types.push(UserType {
            schema,
            name: truncate_ident(&name.name),
            kind,
            origin: origin.clone(),
            dropped: false,
            fields: None,
        });
        Ok(())
    }

    fn enum_labels(&mut self, name: &QName) -> Result<&mut Vec<String>, String> {
        match self.type_index(name).map(|id| &mut self.types[id].kind) {
            Some(TypeKind::Enum { labels }) => Ok(labels),
            _ => Err(format!("enum type {} does not exist", display_qname(name))),
        }
    }

    /// Renames column `column` of table `t`, and what reads it (generated columns, views, its
    /// sequence's ownership, the inherited list).
    fn rename_column(&mut self, t: usize, column: &str, new_name: &str) -> Result<(), String> {
        let new_name = truncate_ident(new_name);
        let table = &mut self.tables[t];
        if table.columns.iter().any(|c| c.name == new_name) {
            return Err(format!("column \"{new_name}\" of table \"{}\" already exists", table.name));
        }
        let old = column_mut(table, column)?.name.clone();
        column_mut(table, column)?.name = new_name.clone();
        for c in table.inherited.iter_mut().filter(|c| **c == old) {
            c.clone_from(&new_name);
        }
        for c in &mut table.columns {
            for d in c.depends_on.iter_mut().filter(|d| **d == old) {
                d.clone_from(&new_name);
            }
        }
        // Views keep their own column names; what they read is renamed under them. A
        // sequence the column owns stays its own.
        let id = table.id;
        for s in self.sequences.iter_mut() {
            if let Some((_, c)) = s.owner.as_mut().filter(|(t, c)| *t == id && *c == old) {
                c.clone_from(&new_name);
            }
        }
        for v in self.tables.iter_mut().filter_map(|t| t.view.as_mut()) {
            for (_, c) in v.uses.iter_mut().filter(|(r, c)| *r == id && *c == old) {
                c.clone_from(&new_name);
            }
        }
        Ok(())
    }

    /// The ids of the tables that are partitions of, or inherit from, table `t`, at any depth.
    fn descendants(&self, t: usize) -> Vec<u64> {
        let mut next = vec![self.tables[t].id];
        let mut out = Vec::new();
        while let Some(id) = next.pop() {
            for child in self.tables.iter().filter(|c| c.parents.contains(&id)) {
                if !out.contains(&child.id) {
                    out.push(child.id);
                    next.push(child.id);
                }
            }
        }
        out
    }

    /// A parent's column change, as it reaches a partition or an inheriting table `d`: an added
    /// column is added (without identity, which PostgreSQL 15 does not give partitions), a dropped
    /// one dropped unless the table declares it itself, a type, NOT NULL or default follows.
    fn alter_inherited(&mut self, d: usize, action: &AlterAction, origin: &Origin) -> Result<(), String> {
        match action {
            AlterAction::AddColumn { column, .. } => {
                let (mut col, _) = self.column(column, origin)?;
                let child = &mut self.tables[d];
                if child.columns.iter().any(|c| c.name == col.name) {
                    return Ok(()); // merged with its own column of that name
                }
                col.identity = None;
                child.inherited.push(col.name.clone());
                child.columns.push(col);
                Ok(())
            }
            AlterAction::DropColumn { name, cascade, .. } => {
                let name = truncate_ident(name);
                let child = &mut self.tables[d];
                if !child.inherited.contains(&name) {
                    return Ok(()); // its own column stays
                }
                child.inherited.retain(|c| *c != name);
                self.alter(d, &AlterAction::DropColumn { name, missing_ok: true, cascade: *cascade }, origin)
            }
            AlterAction::AlterType { .. }
            | AlterAction::SetNotNull(_)
            | AlterAction::DropNotNull(_)
            | AlterAction::SetDefault(_)
            | AlterAction::DropDefault(_) => self.alter(d, action, origin),
            _ => Ok(()),
        }
    }

    fn alter(&mut self, t: usize, action: &AlterAction, origin: &Origin) -> Result<(), String> {
        match action {
            AlterAction::AddColumn { column, if_not_exists } => {
                let (col, serial) = self.column(column, origin)?;
                let table = &mut self.tables[t];
                if table.columns.iter().any(|c| c.name == col.name) {
                    return if *if_not_exists {
                        Ok(())
                    } else {
                        Err(format!("column \"{}\" already exists", col.name))
                    };
                }
                let (name, sequenced) = (col.name.clone(), serial || col.identity.is_some());
                table.columns.push(col);
                if sequenced {
                    self.own_sequence(t, &name, serial);
                }
            }
            AlterAction::DropColumn { name, missing_ok, cascade } => {
                let table = &mut self.tables[t];
                let name = truncate_ident(name);
                if !table.columns.iter().any(|c| c.name == name) {
                    return if *missing_ok { Ok(()) } else { Err(format!("column \"{name}\" does not exist")) };
                }
                // Generated columns reading it go with it under CASCADE (transitively), and
                // make a plain DROP fail, as in PostgreSQL.
                let mut gone = vec![name.clone()];
                while let Some(next) = table
                    .columns
                    .iter()
                    .find(|c| !gone.contains(&c.name) && c.depends_on.iter().any(|d| gone.contains(d)))
                {
                    if !cascade {
                        return Err(format!(
                            "cannot drop column \"{name}\": generated column \"{}\" depends on it (use CASCADE)",
                            next.name
                        ));
                    }
                    gone.push(next.name.clone());
                }
                table.columns.retain(|c| !gone.contains(&c.name));
                let (id, what) = (table.id, format!("column \"{name}\""));
                let owned: Vec<u64> = gone.iter().flat_map(|c| self.owned_sequences(&[id], Some(c))).collect();
                if !owned.is_empty() {
                    self.drop_relations(&owned, *cascade, &what)?;
                }
                self.drop_views_reading(|(t, c)| *t == id && gone.contains(c), *cascade, &what)?;
            }
            AlterAction::AlterType { column, ty } => {
                let (id, name) = (self.tables[t].id, truncate_ident(column));
                if let Some(v) = self.views_reading(|(r, c)| *r == id && *c == name).first() {
                    return Err(format!(
                        "cannot alter type of column \"{name}\": view \"{}\" depends on it (drop and recreate the view)",
                        self.tables[*v].name
                    ));
                }
                let (ty, serial) = self.resolve(ty).map_err(|e| format!("column \"{column}\": {e}"))?;
                if serial {
                    return Err(format!("column \"{column}\": cannot change a column's type to a serial type"));
                }
                column_mut(&mut self.tables[t], column)?.ty = ty;
            }
            AlterAction::SetNotNull(c) => column_mut(&mut self.tables[t], c)?.not_null = true,
            AlterAction::DropNotNull(c) => {
                let col = column_mut(&mut self.tables[t], c)?;
                if col.identity.is_some() {
                    return Err(format!("column \"{c}\" is an identity column; it must stay NOT NULL"));
                }
                col.not_null = false;
            }
            AlterAction::SetDefault(c) => column_mut(&mut self.tables[t], c)?.has_default = true,
            AlterAction::DropDefault(c) => {
                let id = self.tables[t].id;
                let col = column_mut(&mut self.tables[t], c)?;
                col.has_default = false;
                // A serial column's sequence stays, read by no default.
                let name = col.name.clone();
                for s in
                    self.sequences.iter_mut().filter(|s| s.owner.as_ref().is_some_and(|(o, c)| *o == id && *c == name))
                {
                    s.serial = false;
                }
            }
            AlterAction::AddIdentity { column, kind } => {
                let col = column_mut(&mut self.tables[t], column)?;
                if col.identity.is_some() {
                    return Err(format!("column \"{column}\" is already an identity column"));
                }
                if col.has_default {
                    return Err(format!("column \"{column}\" already has a default value"));
                }
                col.identity = Some(*kind);
                col.not_null = true;
                let name = col.name.clone();
                self.own_sequence(t, &name, false);
            }
            AlterAction::SetIdentity { column, kind } => {
                let col = column_mut(&mut self.tables[t], column)?;
                if col.identity.is_none() {
                    return Err(format!("column \"{column}\" is not an identity column"));
                }
                col.identity = Some(*kind);
            }
            AlterAction::DropIdentity { column, missing_ok } => {
                let id = self.tables[t].id;
                let col = column_mut(&mut self.tables[t], column)?;
                if col.identity.is_none() && !missing_ok {
                    return Err(format!("column \"{column}\" is not an identity column"));
                }
                let had = col.identity.take().is_some();
                let name = col.name.clone();
                if had {
                    let owned = self.owned_sequences(&[id], Some(&name));
                    self.drop_relations(&owned, false, &format!("the identity of column \"{name}\""))?;
                }
            }
            AlterAction::DropExpression { column, missing_ok } => {
                let col = column_mut(&mut self.tables[t], column)?;
                if !col.generated && !missing_ok {
                    return Err(format!("column \"{column}\" is not a generated column"));
                }
                col.generated = false;
            }
            AlterAction::AddPrimaryKey(keys) => {
                for k in keys {
                    column_mut(&mut self.tables[t], k)?.not_null = true;
                }
            }
            AlterAction::AddPrimaryKeyUsingIndex(index) => {
                return Err(format!(
                    "ADD PRIMARY KEY USING INDEX \"{index}\" is not supported (taulu does not track index columns): \
                     write ADD PRIMARY KEY (columns), or SET NOT NULL on the key columns first"
                ));
            }
        }
        Ok(())
    }

    /// Whether the column can never hold NULL: its own NOT NULL, or a NOT NULL domain (as the
    /// domain is now: `ALTER DOMAIN` applies to existing columns).
    pub fn not_null(&self, c: &Column) -> bool {
        c.not_null || matches!(self.domain(&c.ty), Some(TypeKind::Domain { not_null: true, .. }))
    }

    /// Whether an insert may leave the column out and get a value (its DEFAULT, serial, or its
    /// domain's default).
    pub fn has_default(&self, c: &Column) -> bool {
        c.has_default || matches!(self.domain(&c.ty), Some(TypeKind::Domain { has_default: true, .. }))
    }

    fn domain(&self, ty: &ColType) -> Option<&TypeKind> {
        match ty {
            ColType::User(id) => Some(&self.types[*id].kind).filter(|k| matches!(k, TypeKind::Domain { .. })),
            _ => None,
        }
    }

    /// How `format_type` prints a column type (user types qualified outside `public`).
    pub fn display_type(&self, ty: &ColType) -> String {
        match ty {
            ColType::Array(inner) => format!("{}[]", self.display_type(inner)),
            ColType::User(id) => {
                let t = &self.types[*id];
                if t.schema == DEFAULT_SCHEMA {
                    quote_if_needed(&t.name)
                } else {
                    format!("{}.{}", quote_if_needed(&t.schema), quote_if_needed(&t.name))
                }
            }
            ColType::Builtin { name, typmods } => {
                let b = builtin(name).expect("builtins are resolved");
                match (b.name, typmods.as_slice()) {
                    (_, []) => b.display.to_owned(),
                    ("timestamp" | "timestamptz" | "time", [p]) => {
                        let (head, tail) = b.display.split_once(' ').unwrap_or((b.display, ""));
                        format!("{head}({p}) {tail}")
                    }
                    (_, mods) => {
                        format!("{}({})", b.display, mods.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
                    }
                }
            }
        }
    }
}

fn uses_type(ty: &ColType, id: usize) -> bool {
    match ty {
        ColType::User(u) => *u == id,
        ColType::Array(inner) => uses_type(inner, id),
        ColType::Builtin { .. } => false,
    }
}

fn column_mut<'a>(table: &'a mut Table, name: &str) -> Result<&'a mut Column, String> {
    let name = truncate_ident(name);
    let table_name = table.name.clone();
    table
        .columns
        .iter_mut()
        .find(|c| c.name == name)
        .ok_or_else(|| format!("column \"{name}\" of table \"{table_name}\" does not exist"))
}

/// PostgreSQL's `makeObjectName(name1, name2, label)`: `name1_name2_label`, the longer of the two
/// names shortened a byte at a time (on a character boundary) until the whole fits 63 bytes.
fn object_name(name1: &str, name2: &str, label: &str) -> String {
    let avail = MAX_IDENT - label.len() - 2;
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 { n1 -= 1 } else { n2 -= 1 }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_owned()
    };
    format!("{}_{}_{label}", clip(name1, n1), clip(name2, n2))
}

fn display_qname(q: &QName) -> String {
    match &q.schema {
        Some(s) => format!("\"{s}\".\"{}\"", q.name),
        None => format!("\"{}\"", q.name),
    }
}

/// Quotes an identifier the way `quote_ident` does when it is not a plain lower-case name.
pub fn quote_if_needed(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain { name.to_owned() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// Parses and replays migration files (`(file name, sql)` in version order).
/// Whether a PL/pgSQL exception condition catches an error of the model (by what the message says
/// of which kind of object).
fn catches_error(condition: &str, message: &str) -> bool {
    let condition = condition.to_ascii_lowercase();
    let about = message.rsplit(": ").next().unwrap_or(message);
    let kind = about.split_whitespace().next().unwrap_or_default();
    let (exists, missing) = (about.contains("already exists"), about.contains("does not exist"));
    match condition.as_str() {
        "others" => true,
        "duplicate_object" => exists && matches!(kind, "type" | "enum" | "constraint" | "extension"),
        "duplicate_table" => exists && matches!(kind, "table" | "relation" | "view"),
        "duplicate_column" => exists && kind == "column",
        "duplicate_schema" => exists && kind == "schema",
        "duplicate_function" => exists && kind == "function",
        "undefined_object" => missing && matches!(kind, "type" | "constraint" | "extension"),
        "undefined_table" => missing && matches!(kind, "table" | "relation" | "view"),
        "undefined_column" => missing && kind == "column",
        "undefined_function" => missing && kind == "function",
        "invalid_schema_name" => missing && kind == "schema",
        _ => false,
    }
}

pub fn build(files: &[(String, String)]) -> (Schema, Vec<SqlError>) {
    let mut schema = Schema::new();
    let mut errors = Vec::new();
    for (file, sql) in files {
        match crate::ddl::parse_file(file, sql) {
            Ok(changes) => errors.extend(schema.apply_all(&changes)),
            Err(e) => errors.push(e),
        }
    }
    (schema, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(files: &[&str]) -> Schema {
        let files: Vec<(String, String)> =
            files.iter().enumerate().map(|(i, sql)| (format!("{:06}_m.up.sql", i + 1), (*sql).to_owned())).collect();
        let (schema, errors) = build(&files);
        assert!(errors.is_empty(), "{errors:#?}");
        schema
    }

    fn error(files: &[&str]) -> SqlError {
        let files: Vec<(String, String)> =
            files.iter().enumerate().map(|(i, sql)| (format!("{:06}_m.up.sql", i + 1), (*sql).to_owned())).collect();
        let (_, errors) = build(&files);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors[0].clone()
    }

    /// (name, display type, not null, has default, identity, generated) of each column.
    fn cols(s: &Schema, schema_name: &str, table: &str) -> Vec<(String, String, bool, bool, Option<Identity>, bool)> {
        s.table(schema_name, table)
            .unwrap_or_else(|| panic!("no table {schema_name}.{table}"))
            .columns
            .iter()
            .map(|c| (c.name.clone(), s.display_type(&c.ty), s.not_null(c), s.has_default(c), c.identity, c.generated))
            .collect()
    }

    fn col(name: &str, ty: &str, nn: bool, def: bool) -> (String, String, bool, bool, Option<Identity>, bool) {
        (name.into(), ty.into(), nn, def, None, false)
    }

    #[test]
    fn create_table_types_nullability_defaults_identity_generated() {
        let s = schema(&["CREATE TABLE t (
            a int PRIMARY KEY, b varchar(20) NOT NULL DEFAULT 'x', c numeric(10,2), d numeric(5), e text[],
            f double precision, g bigint GENERATED ALWAYS AS IDENTITY, h int GENERATED BY DEFAULT AS IDENTITY,
            i bigserial, j int GENERATED ALWAYS AS (a * 2) STORED, k timestamptz, l timestamp(3), m char,
            n boolean, o uuid, p jsonb, q bytea, r inet, s smallserial, t date, u time, v float8, w decimal(4,1),
            x character varying, y \"char\", z real)"]);
        let mut g = col("g", "bigint", true, false);
        g.4 = Some(Identity::Always);
        let mut h = col("h", "integer", true, false);
        h.4 = Some(Identity::ByDefault);
        let mut j = col("j", "integer", false, false);
        j.5 = true;
        assert_eq!(
            cols(&s, "public", "t"),
            vec![
                col("a", "integer", true, false),
                col("b", "character varying(20)", true, true),
                col("c", "numeric(10,2)", false, false),
                col("d", "numeric(5,0)", false, false),
                col("e", "text[]", false, false),
                col("f", "double precision", false, false),
                g,
                h,
                col("i", "bigint", true, true),
                j,
                col("k", "timestamp with time zone", false, false),
                col("l", "timestamp(3) without time zone", false, false),
                col("m", "character(1)", false, false),
                col("n", "boolean", false, false),
                col("o", "uuid", false, false),
                col("p", "jsonb", false, false),
                col("q", "bytea", false, false),
                col("r", "inet", false, false),
                col("s", "smallint", true, true),
                col("t", "date", false, false),
                col("u", "time without time zone", false, false),
                col("v", "double precision", false, false),
                col("w", "numeric(4,1)", false, false),
                col("x", "character varying", false, false),
                col("y", "\"char\"", false, false),
                col("z", "real", false, false),
            ]
        );
    }

    #[test]
    fn default_null_is_no_default() {
        let s = schema(&[
            "CREATE TABLE t (a text NOT NULL DEFAULT NULL, b text DEFAULT NULL::text, c int NOT NULL DEFAULT 1);
             ALTER TABLE t ALTER COLUMN c SET DEFAULT NULL;",
        ]);
        assert_eq!(
            cols(&s, "public", "t"),
            vec![col("a", "text", true, false), col("b", "text", false, false), col("c", "integer", true, false)]
        );
    }

    #[test]
    fn table_constraint_primary_key_implies_not_null_and_if_not_exists_is_a_no_op() {
        let s = schema(&["CREATE TABLE m (a int, b int, c int, PRIMARY KEY (a, b), UNIQUE (c), CHECK (c > 0));
             CREATE TABLE IF NOT EXISTS m (z int);"]);
        assert_eq!(
            cols(&s, "public", "m"),
            vec![col("a", "integer", true, false), col("b", "integer", true, false), col("c", "integer", false, false)]
        );
        assert_eq!(
            error(&["CREATE TABLE m (a int); CREATE TABLE m (b int);"]).message,
            "relation \"m\" already exists"
        );
    }

    #[test]
    fn foreign_keys_and_checks_do_not_change_shapes() {
        let s = schema(&[
            "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p_id int REFERENCES p (id) ON DELETE CASCADE CHECK (p_id > 0),
             FOREIGN KEY (p_id) REFERENCES p (id));",
        ]);
        assert_eq!(cols(&s, "public", "c"), vec![col("p_id", "integer", false, false)]);
    }

    #[test]
    fn like_including_all_copies_columns_defaults_identity_and_generated() {
        let s = schema(&[
            "CREATE TABLE a (id int GENERATED ALWAYS AS IDENTITY, n text NOT NULL DEFAULT 'x', g int GENERATED ALWAYS AS (1) STORED);
             CREATE TABLE b (LIKE a INCLUDING ALL, extra int);
             CREATE TABLE c (LIKE a);",
        ]);
        assert_eq!(cols(&s, "public", "b"), {
            let mut v = cols(&s, "public", "a");
            v.push(col("extra", "integer", false, false));
            v
        });
        // Without INCLUDING: NOT NULL is copied, defaults, identity and generation are not.
        assert_eq!(
            cols(&s, "public", "c"),
            vec![col("id", "integer", true, false), col("n", "text", true, false), col("g", "integer", false, false)]
        );
    }

    #[test]
    fn alter_table_actions_apply_in_order() {
        let s = schema(&[
            "CREATE TABLE t (a int, b text, c int, d int GENERATED ALWAYS AS (a) STORED, e int NOT NULL);",
            "ALTER TABLE t ADD COLUMN f text NOT NULL DEFAULT '', ADD COLUMN IF NOT EXISTS a bigint,
                 DROP COLUMN b, DROP COLUMN IF EXISTS nope, ALTER COLUMN c TYPE bigint USING c::bigint,
                 ALTER COLUMN c SET NOT NULL, ALTER COLUMN a SET DEFAULT 1, ALTER COLUMN e DROP NOT NULL;
             ALTER TABLE t ALTER COLUMN d DROP EXPRESSION, ALTER COLUMN a SET NOT NULL, ALTER COLUMN a DROP DEFAULT,
                 ALTER COLUMN a ADD GENERATED BY DEFAULT AS IDENTITY;
             ALTER TABLE t ALTER COLUMN a SET GENERATED ALWAYS;
             ALTER TABLE t ALTER COLUMN f DROP DEFAULT;
             ALTER TABLE t RENAME COLUMN e TO e2;
             ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY (e2);
             ALTER TABLE t ADD CONSTRAINT t_c CHECK (c > 0);",
        ]);
        let mut a = col("a", "integer", true, false);
        a.4 = Some(Identity::Always);
        assert_eq!(
            cols(&s, "public", "t"),
            vec![
                a,
                col("c", "bigint", true, false),
                col("d", "integer", false, false),
                col("e2", "integer", true, false),
                col("f", "text", true, false),
            ]
        );
        let e = error(&[
            "CREATE TABLE t (a int NOT NULL DEFAULT 0); ALTER TABLE t ALTER COLUMN a ADD GENERATED ALWAYS AS IDENTITY;",
        ]);
        assert!(e.message.ends_with("column \"a\" already has a default value"), "{}", e.message);
        let s = schema(&[
            "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY); ALTER TABLE t ALTER COLUMN a DROP IDENTITY;",
        ]);
        assert_eq!(cols(&s, "public", "t"), vec![col("a", "integer", true, false)]);
        let s = schema(&["CREATE TABLE t (a int); ALTER TABLE t ALTER COLUMN a DROP IDENTITY IF EXISTS;"]);
        assert_eq!(cols(&s, "public", "t"), vec![col("a", "integer", false, false)]);
    }

    #[test]
    fn rename_table_set_schema_and_drop() {
        let s = schema(&["CREATE SCHEMA archive; CREATE TABLE a (x int); CREATE TABLE gone (y int);
             ALTER TABLE a RENAME TO b; ALTER TABLE b SET SCHEMA archive; DROP TABLE IF EXISTS gone, nope CASCADE;
             ALTER TABLE IF EXISTS nope ADD COLUMN z int;"]);
        assert_eq!(cols(&s, "archive", "b"), vec![col("x", "integer", false, false)]);
        assert!(s.table("public", "a").is_none() && s.table("public", "gone").is_none());
    }

    #[test]
    fn sequences_follow_their_columns_and_get_postgresql_s_names() {
        let names = |s: &Schema| -> Vec<String> {
            let mut v: Vec<String> = s.sequences.iter().map(|q| format!("{}.{}", q.schema, q.name)).collect();
            v.sort();
            v
        };
        let s = schema(&[
            "CREATE SCHEMA app;
             CREATE TABLE t_id_seq (x int);
             CREATE TABLE t (id serial, n int GENERATED BY DEFAULT AS IDENTITY, gone bigserial);
             ALTER TABLE t DROP COLUMN gone;
             ALTER TABLE t ADD COLUMN m int;
             ALTER TABLE t ALTER COLUMN m ADD GENERATED ALWAYS AS IDENTITY;
             ALTER TABLE t ALTER COLUMN n DROP IDENTITY;
             ALTER TABLE t SET SCHEMA app;
             CREATE SEQUENCE s1; ALTER SEQUENCE s1 RENAME TO s2; ALTER TABLE s2 SET SCHEMA app;
             CREATE TABLE u (id int); CREATE SEQUENCE owned OWNED BY u.id; DROP TABLE u;
             CREATE TABLE w (id serial); ALTER TABLE w RENAME COLUMN id TO key; ALTER TABLE w DROP COLUMN key;
             CREATE TEMP SEQUENCE scratch; CREATE TEMP TABLE tmp (id serial);
             CREATE TABLE abcdefghijabcdefghijabcdefghijabcdefghij (abcdefghijabcdefghijabcdefghijabcdefghij serial);",
        ]);
        assert_eq!(
            names(&s),
            [
                "app.s2",
                "app.t_id_seq1",
                "app.t_m_seq",
                // makeObjectName: the longer name loses a byte at a time, until 63 bytes fit.
                "public.abcdefghijabcdefghijabcdefghi_abcdefghijabcdefghijabcdefghi_seq",
            ]
        );
        // The identity needs its sequence; a serial default goes with its sequence under CASCADE.
        let e = error(&["CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY); DROP SEQUENCE t_id_seq;"]);
        assert!(e.message.contains("column \"id\" of table \"t\" requires it"), "{}", e.message);
        let e = error(&["CREATE TABLE t (id serial); DROP SEQUENCE t_id_seq;"]);
        assert!(e.message.contains("(use CASCADE)"), "{}", e.message);
        let s = schema(&["CREATE TABLE t (id serial); DROP SEQUENCE t_id_seq CASCADE;"]);
        assert_eq!(cols(&s, "public", "t"), vec![col("id", "integer", true, false)]);
        let e = error(&[
            "CREATE TABLE p (a int); CREATE TABLE c () INHERITS (p); ALTER TABLE ONLY p RENAME COLUMN a TO b;",
        ]);
        assert_eq!(e.message, "inherited column \"a\" must be renamed in child tables too");
        let e = error(&["CREATE SEQUENCE t; CREATE TABLE t (x int);"]);
        assert_eq!(e.message, "relation \"t\" already exists");
    }

    #[test]
    fn enums_add_values_in_position_rename_and_drop() {
        let s = schema(&[
            "CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE TABLE t (m mood, ms mood[]);",
            "ALTER TYPE mood ADD VALUE 'ok' BEFORE 'happy'; ALTER TYPE mood ADD VALUE 'meh' AFTER 'sad';
             ALTER TYPE mood ADD VALUE 'ecstatic'; ALTER TYPE mood ADD VALUE IF NOT EXISTS 'ok';
             ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'; ALTER TYPE mood RENAME TO feeling;",
        ]);
        let (_, t) = s.live_types().next().unwrap();
        assert_eq!(t.name, "feeling");
        assert_eq!(
            t.kind,
            TypeKind::Enum {
                labels: vec!["blue".into(), "meh".into(), "ok".into(), "happy".into(), "ecstatic".into()]
            }
        );
        // Columns follow the rename.
        assert_eq!(cols(&s, "public", "t")[1].1, "feeling[]");
        let e = error(&["CREATE TYPE mood AS ENUM ('a'); CREATE TABLE t (m mood); DROP TYPE mood;"]);
        assert_eq!(e.message, "cannot drop type \"mood\": column t.m depends on it (use CASCADE)");
        let s = schema(&["CREATE TYPE mood AS ENUM ('a'); CREATE TABLE t (m mood, n int); DROP TYPE mood CASCADE;"]);
        assert_eq!(cols(&s, "public", "t"), vec![col("n", "integer", false, false)]);
        assert_eq!(s.live_types().count(), 0);
    }

    #[test]
    fn domains_carry_base_type_not_null_and_default() {
        let s = schema(&["CREATE DOMAIN email AS text NOT NULL CHECK (VALUE LIKE '%@%');
             CREATE DOMAIN score AS integer DEFAULT 0;
             CREATE TABLE u (e email, s score, o email);
             ALTER DOMAIN score SET NOT NULL;"]);
        assert_eq!(
            cols(&s, "public", "u"),
            vec![col("e", "email", true, false), col("s", "score", true, true), col("o", "email", true, false)]
        );
        let (_, score) = s.live_types().nth(1).unwrap();
        assert_eq!(
            score.kind,
            TypeKind::Domain {
                base: ColType::Builtin { name: "int4".into(), typmods: vec![] },
                not_null: true,
                has_default: true
            }
        );
    }

    #[test]
    fn schema_qualified_and_quoted_names_fold_and_truncate_like_postgres() {
        let long = "x".repeat(70);
        let s = schema(&[&format!(
            "CREATE SCHEMA \"Billing\"; CREATE TYPE \"Billing\".\"Kind\" AS ENUM ('a');
             CREATE TABLE \"Billing\".\"Invoice\" (\"Id\" int, kind \"Billing\".\"Kind\", {long} int);
             CREATE TABLE public.Users (ID int, \"user\" text);"
        )]);
        assert_eq!(
            cols(&s, "Billing", "Invoice"),
            vec![
                col("Id", "integer", false, false),
                col("kind", "\"Billing\".\"Kind\"", false, false),
                col(&"x".repeat(63), "integer", false, false),
            ]
        );
        assert_eq!(
            cols(&s, "public", "users"),
            vec![col("id", "integer", false, false), col("user", "text", false, false)]
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = error(&["CREATE TABLE a (x int);", "\n\nALTER TABLE nope ADD COLUMN y int;"]);
        assert_eq!(e.origin.to_string(), "000002_m.up.sql:3");
        assert_eq!(e.message, "table \"nope\" does not exist");
        assert_eq!(
            error(&["CREATE TABLE a (x widget);"]).message.split(" (").next().unwrap(),
            "column \"x\": type \"widget\" does not exist"
        );
        assert_eq!(
            error(&["CREATE TABLE a (x int); ALTER TABLE a ALTER COLUMN y SET NOT NULL;"]).message,
            "ALTER TABLE \"a\": column \"y\" of table \"a\" does not exist"
        );
        assert!(error(&["CREATE TABLE a AS SELECT 1 AS x;"]).message.contains("is not supported"));
        assert_eq!(error(&["CREATE TABLE other.t (x int);"]).message, "schema \"other\" does not exist");
    }

    #[test]
    fn columns_remember_the_line_that_defined_them() {
        let s = schema(&["-- c\nCREATE TABLE t (\n  a int,\n  b text\n);\nALTER TABLE t\n  ADD COLUMN c int;"]);
        let lines: Vec<usize> = s.table("public", "t").unwrap().columns.iter().map(|c| c.origin.line).collect();
        assert_eq!(lines, [3, 4, 7]);
        assert_eq!(s.table("public", "t").unwrap().origin.line, 2);
    }

    #[test]
    fn errors_are_collected_not_just_the_first() {
        let files = vec![(
            "000001_m.up.sql".to_owned(),
            "ALTER TABLE a ADD COLUMN x int;\nDROP TABLE b;\nCREATE TABLE c (x int);".to_owned(),
        )];
        let (schema, errors) = build(&files);
        assert_eq!(errors.iter().map(|e| e.origin.line).collect::<Vec<_>>(), [1, 2]);
        assert!(schema.table("public", "c").is_some());
    }

    #[test]
    fn dropping_a_column_a_generated_one_reads_needs_cascade_and_then_takes_it_along() {
        let table = "CREATE TABLE t (a int, b int, c int GENERATED ALWAYS AS (a * 2) STORED, \
                     d int GENERATED ALWAYS AS (b + 1) STORED);";
        let e = error(&[table, "ALTER TABLE t DROP COLUMN a;"]);
        assert_eq!((e.origin.file.as_str(), e.origin.line), ("000002_m.up.sql", 1));
        assert!(e.message.contains("generated column \"c\" depends on it (use CASCADE)"), "{}", e.message);
        let s = schema(&[table, "ALTER TABLE t RENAME COLUMN a TO x;\nALTER TABLE t DROP COLUMN x CASCADE;"]);
        assert_eq!(cols(&s, "public", "t").iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["b", "d"]);
    }

    #[test]
    fn search_path_decides_where_unqualified_names_go_until_the_file_ends() {
        let s = schema(&[
            "CREATE SCHEMA app;\nSET search_path TO app, public;\nCREATE TYPE mood AS ENUM ('ok');\n\
             CREATE TABLE t (m mood);\nALTER TABLE t ADD COLUMN n int;",
            "CREATE TABLE t (m app.mood);",
        ]);
        assert_eq!(cols(&s, "app", "t").iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["m", "n"]);
        assert_eq!(cols(&s, "public", "t")[0].1, "app.mood");
        let e = error(&["SET search_path = nowhere;\nCREATE TABLE t (a int);"]);
        assert_eq!(e.origin.line, 2);
        assert!(e.message.starts_with("no schema has been selected to create in"), "{}", e.message);
    }

    #[test]
    fn temporary_tables_shadow_and_vanish_with_their_file() {
        let s = schema(&[
            "CREATE TABLE t (a int);\nCREATE TEMP TABLE t (tmp int);\nALTER TABLE t ADD COLUMN more int;",
            "ALTER TABLE t ADD COLUMN b int;",
        ]);
        assert_eq!(cols(&s, "public", "t").iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(s.tables.len(), 1);
    }

    #[test]
    fn an_extension_type_needs_its_extension() {
        let e = error(&["CREATE TABLE t (h hstore);"]);
        assert!(e.message.contains("type \"hstore\" does not exist"), "{}", e.message);
        let s = schema(&["CREATE EXTENSION hstore;\nCREATE TABLE t (h hstore);"]);
        assert_eq!(cols(&s, "public", "t")[0].1, "hstore");
    }

    #[test]
    fn views_are_typed_from_their_query_and_guard_what_they_read() {
        let base = "CREATE TABLE t (a int NOT NULL, b text);\nCREATE TABLE u (a int NOT NULL, c text NOT NULL);\n\
                    CREATE VIEW v AS SELECT t.a, u.c, b::varchar(5) FROM t LEFT JOIN u ON u.a = t.a;";
        let s = schema(&[base]);
        assert_eq!(
            cols(&s, "public", "v"),
            vec![
                col("a", "integer", true, false),
                col("c", "text", false, false),
                col("b", "character varying(5)", false, false)
            ]
        );
        let e = error(&[base, "DROP TABLE u;"]);
        assert!(e.message.contains("view \"v\" depends on it (use CASCADE)"), "{}", e.message);
        let e = error(&[base, "ALTER TABLE t ALTER COLUMN a TYPE bigint;"]);
        assert!(e.message.contains("cannot alter type of column \"a\": view \"v\" depends on it"), "{}", e.message);
        let e = error(&[base, "DROP TABLE v;"]);
        assert!(e.message.contains("is a view: use DROP VIEW"), "{}", e.message);
        let s = schema(&[base, "CREATE VIEW w AS SELECT * FROM v;\nDROP TABLE u CASCADE;"]);
        assert!(s.table("public", "v").is_none() && s.table("public", "w").is_none(), "dropped along");
        let s = schema(&[base, "ALTER TABLE t RENAME COLUMN a TO x;\nALTER TABLE t DROP COLUMN x CASCADE;"]);
        assert!(s.table("public", "v").is_none(), "the renamed column is still the one it reads");
        // Any query sql! types: an expression, a subquery, a UNION; what it cannot type fails.
        let s = schema(&["CREATE TABLE t (a int NOT NULL, b text);
                          CREATE VIEW v AS SELECT a + 1 AS n, coalesce(b, '') AS b FROM t
                                           UNION ALL SELECT count(*)::int, max(b) FROM (SELECT b FROM t) s;"]);
        let v = s.table("public", "v").unwrap();
        assert_eq!(
            v.columns.iter().map(|c| (c.name.as_str(), s.not_null(c))).collect::<Vec<_>>(),
            [("n", true), ("b", false)]
        );
        // A view reads a sequence; dropping it takes the view along, with CASCADE only.
        let s = schema(&["CREATE SEQUENCE q; CREATE VIEW v AS SELECT last_value FROM q;"]);
        let v = s.table("public", "v").unwrap();
        assert_eq!(
            v.columns.iter().map(|c| (c.name.as_str(), s.not_null(c))).collect::<Vec<_>>(),
            [("last_value", true)]
        );
        let e = error(&["CREATE SEQUENCE q;\nCREATE VIEW v AS SELECT last_value FROM q;\nDROP SEQUENCE q;"]);
        assert!(e.message.contains("cannot drop sequence \"q\": view \"v\" depends on it"), "{}", e.message);
        let s = schema(&[
            "CREATE TABLE t (id serial); CREATE VIEW v AS SELECT last_value FROM t_id_seq; DROP TABLE t CASCADE;",
        ]);
        assert!(s.table("public", "v").is_none() && s.sequences.is_empty());
        let e = error(&[
            "CREATE TABLE t (a int);\nCREATE VIEW v AS SELECT a FROM t;\nCREATE OR REPLACE VIEW v AS SELECT 1 AS z, a FROM t;",
        ]);
        assert!(e.message.contains("cannot change name of view column \"a\" to \"z\""), "{}", e.message);
    }

    /// DO blocks are replayed as PostgreSQL runs them on a fresh database: their statements, a
    /// block's undone when a statement fails with a condition it catches, an IF on the catalog
    /// decided from the model, EXECUTE of a string literal.
    #[test]
    fn do_blocks_are_replayed_as_postgresql_runs_them() {
        let s = schema(&[
            "CREATE TABLE t (a int);
             DO $$ BEGIN
                 CREATE TYPE mood AS ENUM ('ok', 'sad');
             EXCEPTION
                 WHEN duplicate_object THEN null;
             END $$;
             DO $$ BEGIN CREATE TYPE mood AS ENUM ('other'); EXCEPTION WHEN duplicate_object THEN null; END $$;",
            "DO $$
             BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'link') THEN
                 CREATE TYPE link AS (kind text, url text);
               END IF;
               IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                              WHERE table_name = 't' AND column_name = 'b') THEN
                 ALTER TABLE t ADD COLUMN b text NOT NULL DEFAULT '';
               END IF;
               IF to_regclass('missing') IS NULL THEN
                 EXECUTE format('ALTER TABLE %I ADD COLUMN %s mood DEFAULT %L', 't', 'c', who);
               ELSE
                 ALTER TABLE t ADD COLUMN d int;
               END IF;
               RAISE NOTICE 'done';
             END $$;",
            // Again: every IF now finds what it looks for.
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'b') THEN
                 ALTER TABLE t ADD COLUMN b int;
               END IF;
               IF EXISTS (SELECT 1 FROM pg_enum WHERE enumtypid = 'mood'::regtype AND enumlabel = 'ok') THEN
                 ALTER TABLE t ADD COLUMN e mood;
               END IF;
             END $$;",
            // An undecidable condition whose branches leave the same schema is fine.
            "DO $$ BEGIN IF (SELECT count(*) FROM t) > 0 THEN CREATE INDEX t_a ON t (a); END IF; END $$;",
        ]);
        let mood = s.live_types().find(|(_, t)| t.name == "mood").unwrap().1;
        assert_eq!(mood.kind, TypeKind::Enum { labels: vec!["ok".into(), "sad".into()] });
        assert!(s.live_types().any(|(_, t)| t.name == "link"));
        let names: Vec<&str> = s.table("public", "t").unwrap().columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "e"]);
    }

    #[test]
    fn what_a_do_block_does_that_cannot_be_followed_fails_with_what_to_write() {
        let e = error(&["CREATE TABLE t (a int);
            DO $$ BEGIN
              EXECUTE format('ALTER TABLE %I ADD COLUMN b int', table_name);
            END $$;"]);
        assert_eq!(e.origin.line, 2);
        assert!(e.message.starts_with("in the DO block, line 3: EXECUTE format("), "{}", e.message);
        assert!(e.message.contains("cannot be followed at build time"), "{}", e.message);
        let e = error(&["CREATE TABLE t (a int);
            DO $$ BEGIN
              IF (SELECT count(*) FROM t) = 0 THEN ALTER TABLE t ADD COLUMN b int; END IF;
            END $$;"]);
        assert!(
            e.message.contains("`IF (SELECT count(*) FROM t) = 0` cannot be decided at build time"),
            "{}",
            e.message
        );
        // A failure the block does not catch is the migration's.
        let e = error(&["CREATE TABLE t (a int);
            DO $$ BEGIN ALTER TABLE t ADD COLUMN a int; EXCEPTION WHEN duplicate_object THEN null; END $$;"]);
        assert_eq!(e.message, "in the DO block, line 2: ALTER TABLE \"t\": column \"a\" already exists");
    }
}
