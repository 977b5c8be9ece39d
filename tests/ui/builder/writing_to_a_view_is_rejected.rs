// Views are read-only relations: selecting from one compiles, writing to one does not.
mod db {
    taulu::schema!("../../fixtures/schema/real_world");
}

use taulu::prelude::*;

fn main() {
    let _ = select_from::<db::AuditNotes>().all();
    let _ = update::<db::AuditNotes>();
    let _ = delete_from::<db::AuditNotes>();
    let _ = insert_into::<db::AuditNotes>();
}
