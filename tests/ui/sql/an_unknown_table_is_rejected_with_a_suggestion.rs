use taulu_app::schema::sql;

fn main() {
    let _ = sql!("SELECT id FROM userz WHERE id = $1", uuid::Uuid::nil());
}
