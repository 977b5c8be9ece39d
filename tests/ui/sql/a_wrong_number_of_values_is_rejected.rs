use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT id FROM users WHERE email = $1 AND username = $2", "ann@example.com");
}
