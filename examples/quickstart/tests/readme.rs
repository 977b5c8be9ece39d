//! The README's quick start is this crate: every Rust and SQL block of that section (less the
//! lines rustdoc hides) is a piece of one of its files, and its `Cargo.toml` block names the
//! dependencies this crate has. (The Rust blocks are compiled as this crate's doc tests too.)

use std::path::Path;

fn quick_start_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let start = readme.find("## Quick start").expect("the README has a quick start");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let (lang, body) = after.split_once('\n').unwrap();
        let close = body.find("```").unwrap();
        blocks.push((lang.to_owned(), body[..close].to_owned()));
        rest = &body[close + 3..];
    }
    blocks
}

fn files_under(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_block_of_the_readme_quick_start_is_in_this_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "migrations"] {
        files_under(&root.join(dir), &mut files);
    }
    let blocks = quick_start_blocks();
    assert!(blocks.len() >= 8, "{} blocks", blocks.len());
    for (lang, body) in &blocks {
        match lang.as_str() {
            "rust" | "sql" => {
                // What the reader sees: rustdoc hides the `# ` lines that make a piece compile.
                let shown: String = body
                    .lines()
                    .filter(|l| !(l.trim_start() == "#" || l.trim_start().starts_with("# ")))
                    .map(|l| format!("{l}\n"))
                    .collect();
                assert!(files.iter().any(|f| f.contains(shown.as_str())), "not in examples/quickstart:\n{shown}")
            }
            "toml" => {
                let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
                let names = |text: &str, table: &str| -> Vec<String> {
                    let section = text.split(&format!("[{table}]\n")).nth(1).unwrap_or("");
                    let section = section.split("\n[").next().unwrap();
                    let lines = section.lines().filter(|l| !l.starts_with('#') && l.contains('='));
                    lines.map(|l| l.split('=').next().unwrap().trim().to_owned()).collect()
                };
                for table in ["dependencies", "dev-dependencies"] {
                    assert_eq!(names(body, table), names(&manifest, table), "[{table}]");
                }
            }
            other => panic!("a block of an unchecked kind: {other}"),
        }
    }
}
