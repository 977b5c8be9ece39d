use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT lowr(email) AS e FROM users");
}
