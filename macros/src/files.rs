//! The one rule set for migration files: which layouts exist on disk (golang-migrate, sqlx simple
//! and reversible, diesel, refinery), which layout a directory holds, what each file is, and what
//! makes a set valid (unique versions, a down only with its up, no transaction control inside a
//! transactional file). Shared by two crates (the runtime reads it through a symlink, as it
//! does `split.rs`): `schema!` and `taulu::migrations!` apply the rules at build time, so a bad set
//! fails the build, and `taulu::migrate::Migrations` applies the same rules to files read at run
//! time (the CLI's `--dir`). Reads a directory; otherwise plain data in, plain data out; each crate
//! wraps the error in its own type.

use std::{collections::BTreeMap, path::Path};

use super::split;

/// The first-line directive that runs a migration file outside a transaction.
#[allow(dead_code)] // the macros crate checks with it but never names it
pub const NO_TRANSACTION_DIRECTIVE: &str = "-- taulu:no-transaction";

/// sqlx's first-line directive for the same.
const SQLX_NO_TRANSACTION: &str = "-- no-transaction";

/// How a migrations directory lays out its files: each tool's own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `<version>_<description>.up.sql` and `.down.sql` (the down may be missing: a one-way
    /// migration). golang-migrate's names, and sqlx's reversible ones.
    GolangMigrate,
    /// sqlx: `<version>_<description>.sql` (one way), `.up.sql` and `.down.sql`, in one directory.
    Sqlx,
    /// diesel: a directory per migration, `<version>_<name>/up.sql` and `down.sql` (the version's
    /// dashes dropped: `2024-01-01-120000` is 20240101120000), `metadata.toml` beside them.
    Diesel,
    /// refinery: `V<version>__<name>.sql` (and `U<version>__..`, applied whatever their order), in
    /// the directory and below it; one way.
    Refinery,
}

impl Layout {
    /// Every layout, in the order detection tries them.
    pub const ALL: [Layout; 4] = [Layout::Diesel, Layout::Refinery, Layout::Sqlx, Layout::GolangMigrate];

    /// Its name: `golang-migrate`, `sqlx`, `diesel`, `refinery`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::GolangMigrate => "golang-migrate",
            Layout::Sqlx => "sqlx",
            Layout::Diesel => "diesel",
            Layout::Refinery => "refinery",
        }
    }

    /// The layout named `name`.
    #[allow(dead_code)] // each crate names layouts from its own input
    pub fn named(name: &str) -> Result<Layout, String> {
        Layout::ALL
            .into_iter()
            .find(|l| l.name() == name)
            .ok_or_else(|| format!("unknown migration layout {name:?}: golang-migrate, sqlx, diesel or refinery"))
    }

    /// How its files are named, for messages.
    fn names(self) -> &'static str {
        match self {
            Layout::GolangMigrate => "<version>_<description>.up.sql / .down.sql",
            Layout::Sqlx => "<version>_<description>.sql, or .up.sql / .down.sql",
            Layout::Diesel => "<version>_<name>/up.sql and down.sql",
            Layout::Refinery => "V<version>__<name>.sql (or U<version>__<name>.sql)",
        }
    }
}

/// A file that breaks a rule, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileError {
    pub file: String,
    pub reason: String,
}

/// A file of a migrations directory: its path below the directory (`/`-separated), its absolute
/// path, and its contents.
#[derive(Debug, Clone)]
pub(crate) struct DirFile {
    pub name: String,
    #[allow(dead_code)] // the runtime reads embedded files, which have no path
    pub path: std::path::PathBuf,
    pub text: String,
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

/// One checked migration: its version, description and scripts (no down: one way).
#[derive(Debug, Clone)]
#[allow(dead_code)] // as above
pub(crate) struct Checked {
    pub version: i64,
    pub name: String,
    pub up: CheckedScript,
    pub down: Option<CheckedScript>,
    /// Applied even below a version already applied (refinery's `U` migrations).
    pub unordered: bool,
}

/// Reads a migrations directory as the layouts see it: every `.sql` file (in any case: the rules
/// then reject a wrong case) and `metadata.toml` below it, at any depth, sorted by path. Which of
/// them a layout reads is [`check`]'s to say.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<DirFile>, FileError> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<DirFile>) -> Result<(), FileError> {
        let io = |e: std::io::Error| FileError { file: dir.display().to_string(), reason: format!("cannot read: {e}") };
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let name = format!("{prefix}{file_name}");
            let path = entry.path();
            if path.is_dir() {
                if !file_name.starts_with('.') {
                    walk(&path, &format!("{name}/"), out)?;
                }
            } else if file_name.to_ascii_lowercase().ends_with(".sql") || file_name == "metadata.toml" {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| FileError { file: name.clone(), reason: format!("cannot read: {e}") })?;
                out.push(DirFile { name, path, text });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out).map_err(|e| match e.file == dir.display().to_string() {
        true => FileError { file: e.file, reason: format!("cannot read the migrations directory: {}", e.reason) },
        false => e,
    })?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// What one file is in a layout.
enum Role {
    Up,
    Down,
    /// A sqlx simple or a refinery file: the up of a one-way migration.
    OneWay {
        unordered: bool,
    },
    /// Diesel's `metadata.toml`.
    Metadata,
    /// Not read by this layout (a sqlx or golang-migrate directory's subdirectories).
    Outside,
}

/// What a file is in `layout`: its role, version and description, or why it fits none.
fn classify(layout: Layout, file: &str) -> Result<(Role, i64, String), String> {
    let (dir, base) = match file.rsplit_once('/') {
        Some((dir, base)) => (Some(dir), base),
        None => (None, file),
    };
    let lower = base.to_ascii_lowercase();
    if lower.ends_with(".sql") && !base.ends_with(".sql") {
        return Err("the suffix must be lower-case .sql".into());
    }
    for suffix in [".up.sql", ".down.sql"] {
        if lower.ends_with(suffix) && !base.ends_with(suffix) {
            return Err(format!("the suffix must be lower-case {suffix}"));
        }
    }
    match layout {
        Layout::GolangMigrate | Layout::Sqlx => {
            if dir.is_some() {
                return Ok((Role::Outside, 0, String::new()));
            }
            let (stem, role) = if let Some(s) = base.strip_suffix(".up.sql") {
                (s, Role::Up)
            } else if let Some(s) = base.strip_suffix(".down.sql") {
                (s, Role::Down)
            } else if layout == Layout::Sqlx {
                (base.strip_suffix(".sql").ok_or("not a .sql file")?, Role::OneWay { unordered: false })
            } else {
                return Err("a golang-migrate file ends in .up.sql or .down.sql".into());
            };
            let (digits, name) = stem.split_once('_').ok_or("no `_` after the version")?;
            Ok((role, version(digits)?, name.to_owned()))
        }
        Layout::Diesel => {
            let Some(dir) = dir.filter(|d| !d.contains('/')) else {
                return Err("a diesel migration is a directory <version>_<name> holding up.sql and down.sql".into());
            };
            let role = match base {
                "up.sql" => Role::Up,
                "down.sql" => Role::Down,
                "metadata.toml" => Role::Metadata,
                _ => return Err("a diesel migration's directory holds up.sql, down.sql and metadata.toml".into()),
            };
            let (digits, name) = dir.split_once('_').ok_or("no `_` after the version in the directory's name")?;
            if digits.contains("--") || digits.starts_with('-') || digits.ends_with('-') {
                return Err("the version must be digits, optionally grouped with `-`".into());
            }
            Ok((role, version(&digits.replace('-', ""))?, name.to_owned()))
        }
        Layout::Refinery => {
            if base == "metadata.toml" {
                return Err("not a refinery migration".into());
            }
            let unordered = match base.as_bytes().first() {
                Some(b'V') => false,
                Some(b'U') => true,
                _ => {
                    return Err("a refinery migration is named V<version>__<name>.sql or U<version>__<name>.sql".into());
                }
            };
            let stem = base[1..].strip_suffix(".sql").ok_or("not a .sql file")?;
            let (digits, name) = stem.split_once("__").ok_or("no `__` after the version")?;
            Ok((Role::OneWay { unordered }, version(digits)?, name.to_owned()))
        }
    }
}

fn version(digits: &str) -> Result<i64, String> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("the version must be digits".into());
    }
    digits.parse().map_err(|_| "the version is too large".into())
}

/// The layout of a directory's files: diesel when a directory of it holds an `up.sql`, refinery
/// when a file is named `V<n>__..`/`U<n>__..`, sqlx when a top-level file is a one-way
/// `<n>_<desc>.sql`, golang-migrate (up and down files) otherwise.
pub(crate) fn detect(files: &[DirFile]) -> Layout {
    let base = |f: &DirFile| f.name.rsplit('/').next().unwrap_or_default().to_owned();
    let refinery = |f: &DirFile| {
        let b = base(f);
        (b.starts_with('V') || b.starts_with('U'))
            && b[1..].split_once("__").is_some_and(|(v, _)| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
    };
    if files.iter().any(|f| f.name.matches('/').count() == 1 && f.name.ends_with("/up.sql")) {
        Layout::Diesel
    } else if files.iter().any(refinery) {
        Layout::Refinery
    } else if files.iter().any(|f| {
        let lower = f.name.to_ascii_lowercase();
        !f.name.contains('/')
            && f.name.ends_with(".sql")
            && !lower.ends_with(".up.sql")
            && !lower.ends_with(".down.sql")
            && f.name.split_once('_').is_some_and(|(v, _)| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
    }) {
        Layout::Sqlx
    } else {
        Layout::GolangMigrate
    }
}

/// Checks a directory's files in `layout` (detected when `None`) and returns the layout and the
/// migrations in version order. A file the layout reads that fits none of its names is an error
/// naming it (with the layout that would read it, when another would), never a skipped file.
pub(crate) fn check(layout: Option<Layout>, files: &[DirFile]) -> Result<(Layout, Vec<Checked>), FileError> {
    let layout = layout.unwrap_or_else(|| detect(files));
    struct Parts<'f> {
        name: String,
        up: Option<&'f DirFile>,
        down: Option<&'f DirFile>,
        one_way: bool,
        unordered: bool,
        metadata: Option<&'f DirFile>,
    }
    let mut by_version: BTreeMap<i64, Parts<'_>> = BTreeMap::new();
    for file in files {
        let (role, version, name) = classify(layout, &file.name).map_err(|why| {
            // The layout that would read it, most specific first.
            let fits =
                [Layout::GolangMigrate, Layout::Sqlx, Layout::Diesel, Layout::Refinery].into_iter().find(|other| {
                    *other != layout
                        && matches!(classify(*other, &file.name), Ok((r, ..)) if !matches!(r, Role::Outside))
                });
            let reason = match fits {
                Some(other) => format!(
                    "is a {} migration, in a {} directory (whose files are named {}): one directory holds one \
                     layout",
                    other.name(),
                    layout.name(),
                    layout.names()
                ),
                None => format!(
                    "is not a migration file ({why}); {} migrations are named {}",
                    layout.name(),
                    layout.names()
                ),
            };
            FileError { file: file.name.clone(), reason }
        })?;
        if matches!(role, Role::Outside) {
            continue;
        }
        let parts = by_version.entry(version).or_insert_with(|| Parts {
            name: name.clone(),
            up: None,
            down: None,
            one_way: false,
            unordered: false,
            metadata: None,
        });
        let slot = match role {
            Role::Up => &mut parts.up,
            Role::Down => &mut parts.down,
            Role::OneWay { unordered } => {
                parts.one_way = true;
                parts.unordered = unordered;
                &mut parts.up
            }
            Role::Metadata => &mut parts.metadata,
            Role::Outside => unreachable!(),
        };
        if let Some(other) = slot {
            return Err(FileError {
                reason: format!("duplicate version {version}: {} has it too", other.name),
                file: file.name.clone(),
            });
        }
        *slot = Some(file);
        if matches!(role, Role::Up | Role::OneWay { .. }) {
            parts.name = name;
        }
    }
    let mut out = Vec::with_capacity(by_version.len());
    for (version, parts) in by_version {
        let Some(up) = parts.up else {
            let file = parts.down.or(parts.metadata).map(|f| f.name.clone()).unwrap_or_default();
            return Err(FileError {
                reason: "has no up migration beside it: add the up file of this version".into(),
                file,
            });
        };
        if parts.one_way && parts.down.is_some() {
            return Err(FileError {
                reason: format!("is a one-way migration, but version {version} has a down file too"),
                file: up.name.clone(),
            });
        }
        let in_transaction = match parts.metadata {
            Some(meta) => diesel_runs_in_transaction(meta)?,
            None => true,
        };
        out.push(Checked {
            version,
            name: parts.name,
            up: script(up, in_transaction)?,
            down: parts.down.map(|d| script(d, in_transaction)).transpose()?,
            unordered: parts.unordered,
        });
    }
    Ok((layout, out))
}

/// diesel's `metadata.toml`: `run_in_transaction = false` runs the migration outside one.
fn diesel_runs_in_transaction(meta: &DirFile) -> Result<bool, FileError> {
    for line in meta.text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "run_in_transaction"
        {
            return match value.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(FileError {
                    file: meta.name.clone(),
                    reason: format!("run_in_transaction must be true or false, not {other}"),
                }),
            };
        }
    }
    Ok(true)
}

/// Statements PostgreSQL refuses to run inside a transaction block: `CREATE`/`DROP`/`REINDEX`
/// .. `INDEX` .. `CONCURRENTLY`, `VACUUM`, `CREATE`/`DROP DATABASE`, `ALTER SYSTEM`.
fn cannot_run_in_transaction(s: &split::Statement<'_>) -> bool {
    let code: String = s.text.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join(" ");
    let words: Vec<String> = code.split_whitespace().take(8).map(str::to_ascii_uppercase).collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    match words.first().map(String::as_str) {
        Some("VACUUM") => true,
        Some("CREATE" | "DROP") if words.get(1).is_some_and(|w| w == "DATABASE") => true,
        Some("ALTER") => words.get(1).is_some_and(|w| w == "SYSTEM"),
        Some("CREATE" | "DROP" | "REINDEX") => has("INDEX") && has("CONCURRENTLY"),
        _ => false,
    }
}

/// A script, transactional unless its first line is a directive (taulu's, or sqlx's), diesel's
/// metadata says otherwise (`in_transaction` false), or it is one statement PostgreSQL cannot run
/// in a transaction (`CREATE INDEX CONCURRENTLY` alone in its file). A transactional one may not
/// end the runner's transaction: plain `BEGIN`s, and a `COMMIT` closing the file after one, are
/// all the transaction control it may hold.
fn script(file: &DirFile, in_transaction: bool) -> Result<CheckedScript, FileError> {
    let (name, sql) = (file.name.clone(), file.text.clone());
    let first_line = sql.lines().next().map(str::trim);
    let statements = split::split(&sql);
    let transactional = in_transaction
        && first_line != Some(NO_TRANSACTION_DIRECTIVE)
        && first_line != Some(SQLX_NO_TRANSACTION)
        && !(statements.len() == 1 && cannot_run_in_transaction(&statements[0]));
    if !transactional {
        return Ok(CheckedScript { file: name, sql, original: None, transactional });
    }
    // Inside the runner's transaction a plain `BEGIN` does nothing (PostgreSQL only warns), and a
    // `COMMIT` closing the file after one is the runner's own (golang-migrate sets often wrap a
    // file in them; sqlx sets sometimes open one midway). They are blanked out, keeping every line
    // where it is, so errors still point at the right line. Any other transaction control would
    // end the runner's transaction midway.
    let words = |s: &split::Statement<'_>| {
        s.text.trim_end_matches(';').split_whitespace().map(str::to_ascii_uppercase).collect::<Vec<_>>().join(" ")
    };
    let begins = ["BEGIN", "BEGIN TRANSACTION", "BEGIN WORK", "START TRANSACTION"];
    let commits = ["COMMIT", "COMMIT TRANSACTION", "COMMIT WORK", "END", "END TRANSACTION", "END WORK"];
    let mut blank: Vec<&split::Statement<'_>> =
        statements.iter().filter(|s| begins.contains(&words(s).as_str())).collect();
    if let Some(last) = statements.last().filter(|s| !blank.is_empty() && commits.contains(&words(s).as_str())) {
        blank.push(last);
    }
    let control = |s: &&split::Statement<'_>| {
        matches!(s.first_word.as_str(), "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT")
            && !blank.iter().any(|b| b.offset == s.offset)
    };
    if let Some(s) = statements.iter().find(control) {
        return Err(FileError {
            reason: format!(
                "line {}: `{}` is not allowed: each migration already runs in its own transaction. \
                 Remove it, or put `{NO_TRANSACTION_DIRECTIVE}` on the first line to manage transactions yourself",
                s.line, s.first_word
            ),
            file: name,
        });
    }
    if blank.is_empty() {
        return Ok(CheckedScript { file: name, sql, original: None, transactional });
    }
    let mut text = sql.clone().into_bytes();
    for s in blank {
        for b in &mut text[s.offset..s.offset + s.text.len()] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    let run = String::from_utf8(text).expect("only ASCII keywords were blanked");
    Ok(CheckedScript { file: name, sql: run, original: Some(sql), transactional })
}
