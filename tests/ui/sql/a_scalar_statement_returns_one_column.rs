use taulu_app::schema::sql;

fn main() {
    let _ = sql!(scalar, "SELECT id, username FROM users");
}
