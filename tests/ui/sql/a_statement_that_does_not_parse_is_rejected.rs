use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELEC id FROM users");
}
