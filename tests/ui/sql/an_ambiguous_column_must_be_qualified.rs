use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT id FROM users u JOIN sessions s ON s.user_id = u.id");
}
