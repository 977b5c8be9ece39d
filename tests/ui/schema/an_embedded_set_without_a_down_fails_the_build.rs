// `migrations!` checks the set with the runner's rules at build time: an up without its down
// is a compile error naming the file, not a runtime surprise.
static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("../../fixtures/migrations_without_down");

fn main() {
    let _ = MIGRATIONS.len();
}
