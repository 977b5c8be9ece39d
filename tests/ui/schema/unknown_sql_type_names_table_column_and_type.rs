mod db {
    taulu::schema!("../../fixtures/schema/unknown_type");
}

fn main() {}
