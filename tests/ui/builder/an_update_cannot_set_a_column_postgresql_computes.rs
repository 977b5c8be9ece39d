use taulu::prelude::*;
use taulu_app::schema::{LoginAttempts, login_attempts};

mod docs {
    taulu::schema!("../../fixtures/schema/unmapped");
}

fn main() {
    // `login_attempts.id` is GENERATED ALWAYS AS IDENTITY: PostgreSQL refuses a new value (428C9).
    let _ = update::<LoginAttempts>().set(login_attempts::id, 7i64).where_(login_attempts::identifier.eq("ann"));
    // `documents.search` is a generated column: it follows its expression, in an upsert too.
    let _ = insert_into::<docs::Documents>()
        .values(docs::documents::Insert::new("t", "b"))
        .on_conflict((docs::documents::id,))
        .do_update_set(docs::documents::search, docs::documents::search);
}
