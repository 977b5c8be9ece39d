use taulu_app::schema::sql;

#[derive(taulu::FromRow)]
struct Account {
    id: uuid::Uuid,
    username: String,
}

fn main() {
    // The columns in another order than the struct's fields.
    let _ = sql!(as Account, "SELECT username, id FROM users");
}
