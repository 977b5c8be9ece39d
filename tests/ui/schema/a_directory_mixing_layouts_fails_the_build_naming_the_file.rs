// One rule set reads the migrations for `migrations!` and `schema!` alike: a directory holding
// golang-migrate pairs and a refinery file is a compile error naming the file, never a set or a
// model that leaves one out.
static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("../../fixtures/migrations_mixing_layouts");

taulu::schema!("../../fixtures/migrations_mixing_layouts");

fn main() {
    let _ = MIGRATIONS.len();
}
