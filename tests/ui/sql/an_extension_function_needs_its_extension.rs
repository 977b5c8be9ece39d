use taulu_app::schema::sql;

fn main() {
    // pgcrypto's crypt() is typed once the migrations run CREATE EXTENSION pgcrypto; these do not.
    let _ = sql!("SELECT crypt($1, gen_salt('bf')) AS hash", "secret");
}
