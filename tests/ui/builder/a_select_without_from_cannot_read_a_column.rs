use taulu::query::select_no_from;
use taulu_app::schema::users;

fn main() {
    // `select_no_from()` has no tables: only values and functions of them.
    let _ = select_no_from().columns((users::email,));
}
