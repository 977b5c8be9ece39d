mod db {
    taulu::schema!("../../fixtures/schema/untyped_view");
}

fn main() {}
