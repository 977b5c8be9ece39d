mod db {
    taulu::schema!("no/such/dir");
}

fn main() {}
