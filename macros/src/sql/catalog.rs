//! PostgreSQL's own catalog of built-in types, casts, operators and functions, as dumped by
//! `macros/catalog/dump.sh` from the supported server version and embedded here. Parsed once per
//! compiler process on the first `sql!`.

use std::{collections::HashMap, sync::OnceLock};

/// Type OIDs the typer names.
pub mod oid {
    pub const BOOL: u32 = 16;
    pub const INT8: u32 = 20;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const UNKNOWN: u32 = 705;
    pub const NUMERIC: u32 = 1700;
    pub const RECORD: u32 = 2249;
    pub const RECORD_ARRAY: u32 = 2287;
    pub const ANY: u32 = 2276;
    pub const ANYARRAY: u32 = 2277;
    pub const VOID: u32 = 2278;
    pub const ANYELEMENT: u32 = 2283;
    pub const ANYNONARRAY: u32 = 2776;
    pub const ANYENUM: u32 = 3500;
    pub const ANYRANGE: u32 = 3831;
    pub const ANYCOMPATIBLE: u32 = 5077;
    pub const ANYCOMPATIBLEARRAY: u32 = 5078;
    pub const ANYCOMPATIBLENONARRAY: u32 = 5079;
    pub const ANYCOMPATIBLERANGE: u32 = 5080;
    pub const ANYMULTIRANGE: u32 = 4537;
    pub const ANYCOMPATIBLEMULTIRANGE: u32 = 4538;
}

pub struct TypeInfo {
    pub name: String,
    pub category: u8,
    pub preferred: bool,
    /// For an array type, its element.
    pub elem: u32,
    /// The array type of this one (0: none).
    pub array: u32,
    /// For a domain (information_schema's), its base type (0: not a domain).
    pub base: u32,
}

/// An operator or a function: one candidate of overload resolution.
#[derive(Debug, Clone)]
pub struct Proc {
    pub args: Vec<u32>,
    pub result: u32,
    /// `f` function, `a` aggregate, `w` window function.
    pub kind: u8,
    pub retset: bool,
    /// The element type of a VARIADIC last argument (0: none).
    pub variadic: u32,
    pub strict: bool,
    /// `i` immutable, `s` stable, `v` volatile.
    pub volatile: u8,
    /// How many trailing arguments have defaults.
    pub defaults: usize,
    /// The arguments' names, for calls in named notation (empty: unknown or none).
    pub names: Vec<String>,
    /// The columns of a function with OUT (or TABLE) arguments: (type, name).
    pub outs: Vec<(u32, String)>,
}

pub struct Catalog {
    pub version: String,
    pub types: HashMap<u32, TypeInfo>,
    by_name: HashMap<String, u32>,
    /// (source, target) -> cast context (`i` implicit, `a` assignment, `e` explicit).
    casts: HashMap<(u32, u32), u8>,
    /// Operators by name; a prefix operator has `args == [0, right]`.
    pub operators: HashMap<String, Vec<Proc>>,
    pub functions: HashMap<String, Vec<Proc>>,
    /// The columns of `pg_catalog`'s and `information_schema`'s tables and views, by (schema,
    /// name): (column, type, NOT NULL).
    pub relations: HashMap<(String, String), Vec<CatalogColumn>>,
    /// What each contrib extension adds, by its name (its types and casts are in `types` and
    /// `casts`: only a model that created the extension has columns of them).
    pub extensions: HashMap<String, Extension>,
}

/// A contrib extension's operators and functions: candidates once the migrations create it.
#[derive(Default)]
pub struct Extension {
    pub operators: HashMap<String, Vec<Proc>>,
    pub functions: HashMap<String, Vec<Proc>>,
}

/// A column of a catalog relation: (name, type, NOT NULL).
pub type CatalogColumn = (String, u32, bool);

pub const DATA: &str = include_str!("../../catalog/pg15.tsv");

pub fn get() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| parse(DATA))
}

pub fn parse(data: &str) -> Catalog {
    let mut c = Catalog {
        version: String::new(),
        types: HashMap::new(),
        by_name: HashMap::new(),
        casts: HashMap::new(),
        operators: HashMap::new(),
        functions: HashMap::new(),
        relations: HashMap::new(),
        extensions: HashMap::new(),
    };
    let num = |s: &str| s.parse::<u32>().expect("catalog numbers are numbers");
    for line in data.lines() {
        if let Some(comment) = line.strip_prefix("# PostgreSQL ") {
            c.version = comment.split_whitespace().next().unwrap_or_default().to_owned();
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let (ext, f) = match f[0] {
            "E" => (Some(f[1]), &f[2..]),
            _ => (None, &f[..]),
        };
        match f[0] {
            "T" => {
                let oid = num(f[1]);
                c.by_name.insert(f[2].to_owned(), oid);
                c.types.insert(
                    oid,
                    TypeInfo {
                        name: f[2].to_owned(),
                        category: f[3].as_bytes()[0],
                        preferred: f[4] == "1",
                        elem: num(f[6]),
                        array: num(f[7]),
                        base: 0,
                    },
                );
            }
            "D" => {
                let (oid, base) = (num(f[1]), num(f[3]));
                let category = c.types.get(&base).map_or(b'U', |b| b.category);
                c.by_name.insert(f[2].to_owned(), oid);
                c.types.insert(
                    oid,
                    TypeInfo { name: f[2].to_owned(), category, preferred: false, elem: 0, array: 0, base },
                );
            }
            "R" => c.relations.entry((f[1].to_owned(), f[2].to_owned())).or_default().push((
                f[3].to_owned(),
                num(f[4]),
                f[5] == "1",
            )),
            "C" => {
                c.casts.insert((num(f[1]), num(f[2])), f[3].as_bytes()[0]);
            }
            "O" => match ext {
                Some(e) => &mut c.extensions.entry(e.to_owned()).or_default().operators,
                None => &mut c.operators,
            }
            .entry(f[1].to_owned())
            .or_default()
            .push(Proc {
                args: if f[2] == "0" { vec![num(f[3])] } else { vec![num(f[2]), num(f[3])] },
                result: num(f[4]),
                kind: b'o',
                retset: false,
                variadic: 0,
                strict: f[5] == "1",
                volatile: b'i',
                defaults: 0,
                names: Vec::new(),
                outs: Vec::new(),
            }),
            "P" => match ext {
                Some(e) => &mut c.extensions.entry(e.to_owned()).or_default().functions,
                None => &mut c.functions,
            }
            .entry(f[1].to_owned())
            .or_default()
            .push(Proc {
                kind: f[2].as_bytes()[0],
                retset: f[3] == "1",
                variadic: num(f[4]),
                strict: f[5] == "1",
                volatile: f[6].as_bytes()[0],
                result: num(f[7]),
                defaults: f[8].parse().expect("a count"),
                args: f.get(9).map_or(Vec::new(), |a| a.split_whitespace().map(num).collect()),
                names: f
                    .get(10)
                    .filter(|n| !n.is_empty())
                    .map_or(Vec::new(), |n| n.split(',').map(str::to_owned).collect()),
                outs: f.get(11).filter(|o| !o.is_empty()).map_or(Vec::new(), |o| {
                    o.split(',').filter_map(|c| c.split_once(':')).map(|(t, n)| (num(t), n.to_owned())).collect()
                }),
            }),
            _ => {}
        }
    }
    c
}

impl Catalog {
    pub fn oid(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// A domain's base type.
    pub fn base(&self, oid: u32) -> Option<u32> {
        self.types.get(&oid).map(|t| t.base).filter(|b| *b != 0)
    }

    pub fn name(&self, oid: u32) -> &str {
        self.types.get(&oid).map_or("?", |t| t.name.as_str())
    }

    pub fn category(&self, oid: u32) -> u8 {
        self.types.get(&oid).map_or(b'U', |t| t.category)
    }

    pub fn preferred(&self, oid: u32) -> bool {
        self.types.get(&oid).is_some_and(|t| t.preferred)
    }

    /// The element type of an array type, if `oid` is one.
    pub fn elem(&self, oid: u32) -> Option<u32> {
        self.types.get(&oid).filter(|t| t.category == b'A' && t.elem != 0).map(|t| t.elem)
    }

    pub fn array_of(&self, oid: u32) -> Option<u32> {
        self.types.get(&oid).map(|t| t.array).filter(|a| *a != 0)
    }

    /// The cast context from `source` to `target`, if pg_cast has one.
    pub fn cast(&self, source: u32, target: u32) -> Option<u8> {
        self.casts.get(&(source, target)).copied()
    }

    pub fn is_polymorphic(oid: u32) -> bool {
        use oid::*;
        matches!(
            oid,
            ANYELEMENT
                | ANYARRAY
                | ANYNONARRAY
                | ANYENUM
                | ANYRANGE
                | ANYMULTIRANGE
                | ANYCOMPATIBLE
                | ANYCOMPATIBLEARRAY
                | ANYCOMPATIBLENONARRAY
                | ANYCOMPATIBLERANGE
                | ANYCOMPATIBLEMULTIRANGE
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_parses_and_holds_the_familiar_entries() {
        let c = get();
        assert_eq!(c.version.split('.').next(), Some("15"));
        assert_eq!(c.oid("int4"), Some(oid::INT4));
        assert_eq!(c.category(oid::TEXT), b'S');
        assert!(c.preferred(701)); // float8
        assert_eq!(c.cast(oid::INT4, oid::INT8), Some(b'i'));
        assert!(c.operators["="].iter().any(|o| o.args == [oid::TEXT, oid::TEXT] && o.result == oid::BOOL));
        assert!(c.functions["count"].iter().any(|p| p.kind == b'a' && p.args.is_empty()));
    }
}
