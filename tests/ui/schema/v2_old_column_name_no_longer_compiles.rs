// After the migration that renames `people.name`, code using the old name fails to compile.
mod db {
    taulu::schema!("../../fixtures/schema/v2");
}

fn main() {
    let _ = db::people::name;
}
