mod db {
    taulu::schema!("../../fixtures/schema/unknown_table");
}

fn main() {}
