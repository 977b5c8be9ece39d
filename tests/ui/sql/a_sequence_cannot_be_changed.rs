use taulu_app::schema::sql;

fn main() {
    // An identity column's sequence reads like a table (`SELECT last_value FROM ..`) but is not
    // written like one. PostgreSQL: `cannot change sequence "login_attempts_id_seq"`.
    let _ = sql!("UPDATE login_attempts_id_seq SET last_value = 1");
}
