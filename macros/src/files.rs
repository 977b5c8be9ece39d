//! The rules a set of migration files must follow: names, up/down pairs, unique versions, and no
//! transaction control inside a transactional file. Shared by two crates (the runtime includes
//! this file with `#[path]`, as it does `split.rs`): `taulu::migrations!` applies the rules at build
//! time, so a bad set fails the build, and `taulu::migrate::Migrations` applies the same rules to
//! files read at run time (the CLI's `--dir`). Plain data in, plain data out; each crate wraps the
//! error in its own type.

use std::collections::BTreeMap;

use super::split;

/// The first-line directive that runs a migration file outside a transaction.
#[allow(dead_code)] // the macros crate checks with it but never names it
pub const NO_TRANSACTION_DIRECTIVE: &str = "-- taulu:no-transaction";

/// A file that breaks a rule, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileError {
    pub file: String,
    pub reason: String,
}

/// One checked direction of a migration.
#[derive(Debug, Clone)]
#[allow(dead_code)] // the macros crate only checks; the runtime reads the fields
pub(crate) struct CheckedScript {
    pub file: String,
    /// The SQL to run.
    pub sql: String,
    /// The file as written, when `sql` differs from it (an outer `BEGIN`/`COMMIT` blanked out):
    /// checksums are of the file.
    pub original: Option<String>,
    pub transactional: bool,
}

/// One checked migration: its version, description and both scripts.
#[derive(Debug, Clone)]
#[allow(dead_code)] // as above
pub(crate) struct Checked {
    pub version: i64,
    pub name: String,
    pub up: CheckedScript,
    pub down: CheckedScript,
}

/// Checks `(file name, contents)` pairs (every file ending in `.sql`, in any case) and returns the
/// migrations in version order.
pub(crate) fn check(files: impl IntoIterator<Item = (String, String)>) -> Result<Vec<Checked>, FileError> {
    struct Pair {
        name: String,
        up: Option<(String, String)>,
        down: Option<(String, String)>,
    }
    let mut by_version: BTreeMap<i64, Pair> = BTreeMap::new();
    for (file, sql) in files {
        let (version, name, is_up) = parse_file_name(&file)?;
        let pair = by_version.entry(version).or_insert_with(|| Pair { name: name.to_owned(), up: None, down: None });
        let same_slot = if is_up { &pair.up } else { &pair.down };
        let clash = match same_slot {
            Some((f, _)) => Some(f),
            None if pair.name != name => pair.up.as_ref().or(pair.down.as_ref()).map(|(f, _)| f),
            None => None,
        };
        if let Some(other) = clash {
            return Err(FileError { reason: format!("duplicate version {version}: {other} has it too"), file });
        }
        *(if is_up { &mut pair.up } else { &mut pair.down }) = Some((file, sql));
    }
    let mut out = Vec::with_capacity(by_version.len());
    for (version, pair) in by_version {
        let (up, down) = match (pair.up, pair.down) {
            (Some(up), Some(down)) => (up, down),
            (Some((file, _)), None) => {
                return Err(FileError {
                    reason: format!(
                        "has no down migration; add {} (it may be empty only if nothing needs undoing)",
                        file.replace(".up.sql", ".down.sql")
                    ),
                    file,
                });
            }
            (None, Some((file, _))) => {
                return Err(FileError {
                    reason: format!("has no up migration; add {}", file.replace(".down.sql", ".up.sql")),
                    file,
                });
            }
            (None, None) => unreachable!("a version is only recorded with a file"),
        };
        out.push(Checked { version, name: pair.name, up: script(up.0, up.1)?, down: script(down.0, down.1)? });
    }
    Ok(out)
}

/// A script, transactional unless its first line is the directive; a transactional one may not
/// manage transactions itself.
fn script(file: String, sql: String) -> Result<CheckedScript, FileError> {
    let transactional = sql.lines().next().map(str::trim) != Some(NO_TRANSACTION_DIRECTIVE);
    let transaction_control = |s: &split::Statement<'_>| {
        matches!(s.first_word.as_str(), "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT")
    };
    let statements = split::split(&sql);
    if transactional && let Some(body) = outer_transaction(&statements) {
        // One outer BEGIN .. COMMIT around the whole file (golang-migrate sets often have it):
        // the runner's own transaction is the same one. Blank the two statements out, keeping
        // every line where it is, so errors still point at the right line.
        let mut text = sql.clone().into_bytes();
        for s in [body.0, body.1] {
            for b in &mut text[s.offset..s.offset + s.text.len()] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
        let run = String::from_utf8(text).expect("only ASCII keywords were blanked");
        return Ok(CheckedScript { file, sql: run, original: Some(sql), transactional });
    }
    if transactional && let Some(s) = statements.into_iter().find(transaction_control) {
        return Err(FileError {
            reason: format!(
                "line {}: `{}` is not allowed: each migration already runs in its own transaction. \
                 Remove it, or put `{NO_TRANSACTION_DIRECTIVE}` on the first line to manage transactions yourself",
                s.line, s.first_word
            ),
            file,
        });
    }
    Ok(CheckedScript { file, sql, original: None, transactional })
}

/// The plain `BEGIN` first and `COMMIT` last of a file with no other transaction control.
fn outer_transaction<'s, 'a>(
    statements: &'s [split::Statement<'a>],
) -> Option<(&'s split::Statement<'a>, &'s split::Statement<'a>)> {
    let words = |s: &split::Statement<'_>| {
        s.text.trim_end_matches(';').split_whitespace().map(str::to_ascii_uppercase).collect::<Vec<_>>().join(" ")
    };
    if statements.len() < 2 {
        return None;
    }
    let (first, last) = (&statements[0], &statements[statements.len() - 1]);
    let begins = ["BEGIN", "BEGIN TRANSACTION", "BEGIN WORK", "START TRANSACTION"];
    let commits = ["COMMIT", "COMMIT TRANSACTION", "COMMIT WORK", "END", "END TRANSACTION", "END WORK"];
    let control = |s: &split::Statement<'_>| {
        matches!(s.first_word.as_str(), "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT")
    };
    let inner = &statements[1..statements.len() - 1];
    (begins.contains(&words(first).as_str()) && commits.contains(&words(last).as_str()) && !inner.iter().any(control))
        .then_some((first, last))
}

/// `000001_create_x.up.sql` -> (1, "create_x", true).
fn parse_file_name(file: &str) -> Result<(i64, &str, bool), FileError> {
    let bad = |why: &str| FileError {
        file: file.into(),
        reason: format!(
            "malformed migration file name ({why}); expected NNNNNN_description.up.sql or NNNNNN_description.down.sql"
        ),
    };
    let (stem, is_up) = if let Some(s) = file.strip_suffix(".up.sql") {
        (s, true)
    } else if let Some(s) = file.strip_suffix(".down.sql") {
        (s, false)
    } else if file.to_ascii_lowercase().ends_with(".up.sql") || file.to_ascii_lowercase().ends_with(".down.sql") {
        return Err(bad("the suffix must be lower-case .up.sql or .down.sql"));
    } else {
        return Err(bad("it must end in .up.sql or .down.sql"));
    };
    let (digits, name) = stem.split_once('_').ok_or_else(|| bad("no `_` after the version"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the version must be digits"));
    }
    let version: i64 = digits.parse().map_err(|_| bad("the version is too large"))?;
    if version == 0 {
        return Err(bad("the version must be positive"));
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(bad("the description must be letters, digits, `_` or `-`"));
    }
    Ok((version, name, is_up))
}
