use taulu_app::schema::sql;

fn main() {
    // CALL runs a procedure the migrations create; the reference app's create none.
    let _ = sql!("CALL archive_sessions($1)", 30_i64);
}
