// Migrations v2 = v1 plus `RENAME COLUMN name TO full_name` and a nullable `age`: the same code now
// sees the new column, its type and nullability.
mod db {
    taulu::schema!("../../fixtures/schema/v2");
}

fn main() {
    let insert = db::people::Insert::new(String::from("Ann")).with_age(42);
    let _: String = insert.full_name;
    let _: Option<i32> = insert.age;
    let _ = db::people::full_name;
}
