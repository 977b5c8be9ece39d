use taulu::prelude::*;
use taulu_app::schema::{Users, orgs};

fn main() {
    let _ = update::<Users>().set(orgs::name, "Acme");
}
