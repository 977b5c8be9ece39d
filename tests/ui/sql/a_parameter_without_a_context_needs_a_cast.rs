use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT id FROM users WHERE $1 IS NULL", 1_i64);
}
