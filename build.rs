//! Embeds `migrations/*.sql` into the library at build time.
//!
//! Each file becomes an `include_str!` of its absolute path, and the directory itself is a
//! `rerun-if-changed` input: editing, adding or removing a migration rebuilds the crate. File names
//! are validated at run time by `taulu::migrate::Migrations::embedded`, where the error can say what
//! is wrong; this script only collects.

use std::{env, fmt::Write as _, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = manifest.join("migrations");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed={}", dir.display());

    let mut files: Vec<(String, PathBuf)> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                // Any case: `Migrations` then rejects `.SQL`, instead of the file being skipped.
                name.to_ascii_lowercase().ends_with(".sql").then(|| (name, e.path()))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();

    let mut out = String::from("&[\n");
    for (name, path) in &files {
        writeln!(out, "    ({name:?}, include_str!({:?})),", path.display().to_string()).unwrap();
    }
    out.push_str("]\n");
    let dest = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_migrations.rs");
    fs::write(dest, out).expect("write embedded_migrations.rs");
}
