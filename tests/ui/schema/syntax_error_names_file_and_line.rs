mod db {
    taulu::schema!("../../fixtures/schema/syntax_error");
}

fn main() {}
