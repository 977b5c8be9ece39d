use taulu::prelude::*;
use taulu::query::{derived, select_from_derived};
use taulu_app::schema::{Sessions, sessions};

taulu::alias!(Gone);

fn main() {
    let gone = derived(Gone, delete_from::<Sessions>().returning((sessions::id,)));
    let _ = select_from_derived(gone);
}
