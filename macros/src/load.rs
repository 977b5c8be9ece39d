//! Finding and reading the migration files a `schema!` invocation names. File system only.

use std::path::{Path, PathBuf};

use crate::files::{self, Layout};

/// The migrations of `dir`, read and checked by the runner's rules (`files.rs`) in `layout`
/// (detected when `None`): the layout, the files, and the migrations in version order.
pub fn migrations(
    dir: &Path,
    layout: Option<Layout>,
) -> Result<(Layout, Vec<files::DirFile>, Vec<files::Checked>), String> {
    let shown = |e: files::FileError| format!("{}: {}", shown_path(dir, &e.file), e.reason);
    let files = files::read_dir(dir).map_err(shown)?;
    let (layout, checked) = files::check(layout, &files).map_err(shown)?;
    Ok((layout, files, checked))
}

/// The up scripts of `dir`'s migrations in version order, each named as errors show it
/// (`migrations/000001_x.up.sql`).
pub fn up_sources(dir: &Path, layout: Option<Layout>) -> Result<Vec<(String, String)>, String> {
    let (_, _, checked) = migrations(dir, layout)?;
    Ok(checked.into_iter().map(|m| (shown_path(dir, &m.up.file), m.up.sql)).collect())
}

/// `migrations/000001_x.up.sql`: the directory's last component and the file's path below it.
pub fn shown_path(dir: &Path, file: &str) -> String {
    match dir.file_name() {
        Some(d) => format!("{}/{file}", d.to_string_lossy()),
        None => file.to_owned(),
    }
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
        let err = up_sources(&dir, None).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("/000002_b.up.SQL: is not a migration file (the suffix must be lower-case"), "{err}");
    }
}
