//! Compile-time guarantees, pinned with trybuild: each `tests/ui/<area>/<rule>.rs` either compiles
//! (a `pass` case) or fails with the `.stderr` beside it. The messages follow rustc's wording, so
//! the `.stderr` files are tied to the toolchain they were written with (rustc 1.95); regenerate
//! them with `TRYBUILD=overwrite cargo test --test compiletest` after a toolchain upgrade, and read
//! the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/schema/v1_has_people_name.rs");
    t.pass("tests/ui/schema/v2_renamed_name_to_full_name.rs");
    t.compile_fail("tests/ui/schema/v2_old_column_name_no_longer_compiles.rs");
    t.compile_fail("tests/ui/schema/syntax_error_names_file_and_line.rs");
    t.compile_fail("tests/ui/schema/alter_of_unknown_table_names_file_and_line.rs");
    t.compile_fail("tests/ui/schema/unknown_sql_type_names_table_column_and_type.rs");
    t.compile_fail("tests/ui/schema/missing_migrations_directory.rs");
    t.compile_fail("tests/ui/schema/a_directory_mixing_layouts_fails_the_build_naming_the_file.rs");
    t.compile_fail("tests/ui/schema/a_view_the_typer_cannot_type_fails_the_build_with_the_reason.rs");
    t.compile_fail("tests/ui/schema/taulu_test_needs_an_async_fn_with_one_argument.rs");
    t.compile_fail("tests/ui/builder/*.rs");
    t.compile_fail("tests/ui/sql/*.rs");
}
