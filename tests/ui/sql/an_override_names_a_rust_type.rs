use taulu_app::schema::sql;

fn main() {
    // sqlx's `"name: Type"` override, with something that is not a type after the colon.
    let _ = sql!(r#"SELECT username AS "name: not a type" FROM users"#);
}
