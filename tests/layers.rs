//! The query layer's modules import one way (`src/query/mod.rs` says which way): the untyped IR
//! (values, nodes, the renderer, shapes, execution) imports nothing of the typed layer, and no two
//! modules import each other, directly or through others. Read from the source files: a `use` or
//! a path naming another module of `src/query` (directly or through a name `mod.rs` re-exports)
//! is an import. `mod.rs`'s own re-exports are the facade and do not count; `expr/` is one module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The untyped layer: what the renderer and the driver need, nothing typed.
const IR: [&str; 4] = ["value", "render", "shape", "exec"];

/// Source text without comments and without its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines().map(|l| l.find("//").map_or(l, |at| &l[..at])).collect::<Vec<_>>().join("\n")
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e` (whitespace removed).
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else { return vec![path.to_owned()] };
    let (prefix, inner) = (&path[..open], &path[open + 1..path.len() - 1]);
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).flat_map(|p| expand(&format!("{prefix}{p}"))).collect()
}

/// Every path the code names: `use` trees expanded, and `super::..` / `crate::query::..` paths.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let boundary = rest[..at].chars().last().is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        rest = &rest[at + 4..];
        if let (true, Some(end)) = (boundary, rest.find(';')) {
            let tree: String = rest[..end].chars().filter(|c| !c.is_whitespace()).collect();
            if tree.starts_with("super::") || tree.starts_with("crate::") {
                out.extend(expand(&tree));
            }
        }
    }
    for root in ["crate::query::", "super::"] {
        let mut rest = code;
        while let Some(at) = rest.find(root) {
            let tail = &rest[at..];
            let end = tail.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(tail.len());
            out.push(tail[..end].trim_end_matches(':').to_owned());
            rest = &rest[at + root.len()..];
        }
    }
    out
}

#[test]
fn the_query_layer_imports_one_way() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/query");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().chain(std::fs::read_dir(dir.join("expr")).unwrap()) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let nested = path.parent().unwrap().ends_with("expr");
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let module = if nested { "expr".to_owned() } else { stem };
            files.push((module, nested, std::fs::read_to_string(&path).unwrap()));
        }
    }
    let modules: BTreeSet<String> = files.iter().map(|(m, ..)| m.clone()).filter(|m| m != "mod").collect();
    // Names `mod.rs` re-exports, by the module they come from; its own items are `mod`'s.
    let root = code(&files.iter().find(|(m, nested, _)| m == "mod" && !nested).unwrap().2);
    let mut home: BTreeMap<String, String> = BTreeMap::new();
    for line in root.split(';') {
        let line = line.trim();
        if let Some(tree) = line.strip_prefix("pub use ").or_else(|| line.strip_prefix("pub(crate) use ")) {
            let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
            for path in expand(&tree) {
                let mut segments = path.split("::");
                if let (Some(first), Some(name)) = (segments.next(), path.rsplit("::").next())
                    && modules.contains(first)
                {
                    home.insert(name.to_owned(), first.to_owned());
                }
            }
        }
        for kind in ["pub trait ", "pub struct ", "pub enum ", "pub type ", "pub fn "] {
            if let Some(at) = line.find(kind) {
                let name: String =
                    line[at + kind.len()..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                home.insert(name, "mod".to_owned());
            }
        }
    }
    let mut imports: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, nested, text) in &files {
        let code = code(text);
        for path in paths(&code) {
            if module == "mod" && !nested && path.starts_with("pub") {
                continue;
            }
            let inside = if *nested {
                match path.strip_prefix("super::super::") {
                    Some(p) => p.to_owned(),
                    None if path.starts_with("super::") => continue, // within expr/
                    None => path.strip_prefix("crate::query::").map_or(String::new(), str::to_owned),
                }
            } else {
                path.strip_prefix("super::").or(path.strip_prefix("crate::query::")).unwrap_or("").to_owned()
            };
            let first = inside.split("::").next().unwrap_or("");
            let target = if modules.contains(first) { Some(first.to_owned()) } else { home.get(first).cloned() };
            if let Some(target) = target.filter(|t| t != module) {
                imports.entry(module.clone()).or_default().entry(target).or_default().insert(inside.clone());
            }
        }
        imports.entry(module.clone()).or_default();
    }
    // `mod.rs` is the root: its own items (the typed layer's base traits) may use the IR.
    for ir in IR {
        let typed: Vec<_> = imports[ir].iter().filter(|(t, _)| !IR.contains(&t.as_str())).collect();
        assert!(typed.is_empty(), "the IR module `{ir}` imports the typed layer: {typed:?}");
    }
    // No cycle: repeatedly take out a module that imports nothing left.
    let mut left: BTreeMap<&str, BTreeSet<&str>> = imports
        .iter()
        .map(|(m, to)| (m.as_str(), to.keys().map(String::as_str).filter(|t| imports.contains_key(*t)).collect()))
        .collect();
    while let Some(free) = left.iter().find(|(_, to)| to.is_empty()).map(|(m, _)| *m) {
        left.remove(free);
        for to in left.values_mut() {
            to.remove(free);
        }
    }
    let circle: Vec<String> = left
        .iter()
        .map(|(m, to)| {
            let why: Vec<_> = to.iter().map(|t| format!("{t} ({:?})", imports[*m][*t])).collect();
            format!("{m} -> {}", why.join(", "))
        })
        .collect();
    assert!(circle.is_empty(), "modules of src/query import each other in a circle:\n{}", circle.join("\n"));
}
