use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT u.id, u.emial FROM users u WHERE u.username = $1", "ann");
}
