//! Finding and reading the migration files a `schema!` invocation names. File system only.

use std::path::{Path, PathBuf};

/// The `*.up.sql` files of `dir`, in version order: `(file name, absolute path, contents)`.
pub fn up_files(dir: &Path) -> Result<Vec<(String, PathBuf, String)>, String> {
    let mut files = Vec::new();
    for (name, path, sql) in sql_files(dir)? {
        if !name.ends_with(".sql") {
            // The runner rejects it too; skipping it here would type a schema the database lacks.
            return Err(format!(
                "{name}: malformed migration file name; the suffix must be lower-case .up.sql or .down.sql"
            ));
        }
        let Some(stem) = name.strip_suffix(".up.sql") else { continue };
        let version: u64 = stem
            .split_once('_')
            .and_then(|(v, _)| v.parse().ok())
            .ok_or_else(|| format!("{name}: malformed migration file name; expected NNNNNN_description.up.sql"))?;
        files.push((version, name, path, sql));
    }
    files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok(files.into_iter().map(|(_, name, path, sql)| (name, path, sql)).collect())
}

/// Every file of `dir` whose name ends in `.sql` in any case (the rules then reject a wrong case),
/// sorted by name: `(file name, absolute path, contents)`.
pub fn sql_files(dir: &Path) -> Result<Vec<(String, PathBuf, String)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read migrations directory {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !name.to_ascii_lowercase().ends_with(".sql") || !path.is_file() {
            continue;
        }
        let sql = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        files.push((name, path, sql));
    }
    files.sort();
    Ok(files)
}

/// Resolves the macro's path: absolute as is; relative against the crate root
/// (`CARGO_MANIFEST_DIR`), or, when it does not exist there, against the directory of the file
/// that invokes the macro (how test crates built elsewhere, e.g. by trybuild, find fixtures).
pub fn resolve(path: &str, invoking_file: Option<PathBuf>) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let from_root = root.join(p);
    if from_root.is_dir() {
        return Ok(from_root);
    }
    match invoking_file.and_then(|f| f.parent().map(|d| d.join(p))) {
        Some(from_file) if from_file.is_dir() => Ok(from_file),
        _ => Err(format!(
            "migrations directory {path:?} not found: a relative path is looked up in the crate root \
             (CARGO_MANIFEST_DIR), then next to the file invoking the macro"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upper_case_suffix_is_an_error_not_a_skipped_file() {
        let dir = std::env::temp_dir().join(format!("taulu-macros-upper-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("000001_a.up.sql"), "CREATE TABLE a (x int);").unwrap();
        std::fs::write(dir.join("000002_b.up.SQL"), "CREATE TABLE b (x int);").unwrap();
        let err = up_files(&dir).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.starts_with("000002_b.up.SQL: malformed migration file name"), "{err}");
    }
}
