use taulu_app::schema::sql;

async fn f(db: &taulu::Db) -> taulu::Result<()> {
    let row = sql!("SELECT display_name FROM users LIMIT 1").fetch_one(db).await?;
    // display_name is nullable: the field is Option<String>.
    let name: String = row.display_name;
    let _ = name;
    Ok(())
}

fn main() {
    let _ = f;
}
