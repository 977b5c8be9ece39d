use taulu::prelude::*;
use taulu::query::derived;
use taulu_app::schema::{Users, users};

taulu::alias!(Named, Shout);

fn main() {
    // The alias is a string here, so no type says which column `Shout` is.
    let named = derived(Named, select_from::<Users>().columns((users::id, upper(users::username).as_("Shout"))));
    let _shout = named.column(Shout);
}
