use taulu_app::schema::sql;

fn main() {
    // PostgreSQL: "operator is not unique: date + unknown". sql! never guesses.
    let _ = sql!("SELECT created_at::date + $1 AS later FROM users", 1);
}
