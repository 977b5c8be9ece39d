use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT 1 + 1 FROM users");
}
