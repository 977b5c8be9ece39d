use taulu::prelude::*;
use taulu::query::{derived, select_from_derived};
use taulu_app::schema::{LoginAttempts, login_attempts};

taulu::alias!(Counts);

fn main() {
    let counts = derived(Counts, select_from::<LoginAttempts>().columns((login_attempts::identifier, count_all())).group_by((login_attempts::identifier,)));
    let third = counts.col::<2>();
    let _ = select_from_derived(counts).columns((third,));
}
