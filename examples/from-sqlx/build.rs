fn main() {
    // Cargo sees added or removed migration files only through a build script.
    println!("cargo::rerun-if-changed=migrations");
}
