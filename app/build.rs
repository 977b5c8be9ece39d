//! Cargo sees an added or removed migration file only through a build script (edits are seen via
//! `include_str!`): rebuild the schema and the embedded set when `../migrations` changes.
fn main() {
    println!("cargo::rerun-if-changed=../migrations");
}
