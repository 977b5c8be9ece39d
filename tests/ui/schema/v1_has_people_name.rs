// Migrations v1: `people.name` exists and is a NOT NULL text column.
mod db {
    taulu::schema!("../../fixtures/schema/v1");
}

fn main() {
    let name: <db::people::name as taulu::Column>::Rust = String::from("Ann");
    let insert = db::people::Insert::new(name);
    let _: String = insert.name;
}
