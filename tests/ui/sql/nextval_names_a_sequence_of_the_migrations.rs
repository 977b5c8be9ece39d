use taulu_app::schema::sql;

fn main() {
    // PREPARE reads the name as a relation: `relation "login_attempt_id_seq" does not exist`.
    let _ = sql!("SELECT nextval('login_attempt_id_seq')");
    // A table's name passes PREPARE and fails every run: `"users" is not a sequence`.
    let _ = sql!("SELECT nextval('users')");
}
