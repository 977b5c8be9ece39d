use taulu_app::schema::sql;

fn main() {
    // $1 is compared with a uuid column: a string is not a uuid.
    let _ = sql!("SELECT email FROM users WHERE id = $1", "not a uuid");
}
