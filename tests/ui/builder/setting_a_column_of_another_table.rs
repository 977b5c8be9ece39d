use taulu::prelude::*;
use taulu::schema::{Users, orgs};

fn main() {
    let _ = update::<Users>().set(orgs::name, "Acme");
}
