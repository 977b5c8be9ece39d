use taulu_app::schema::sql;

fn main() {
    // A pooled connection left inside a transaction would leak it to the next caller.
    let _ = sql!("BEGIN");
}
