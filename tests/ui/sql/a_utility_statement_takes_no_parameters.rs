use taulu_app::schema::sql;

fn main() {
    // PostgreSQL takes parameters only in the statements it plans: not in utility statements.
    let _ = sql!("CREATE TEMP TABLE staging AS SELECT $1::int AS n", 1);
}
