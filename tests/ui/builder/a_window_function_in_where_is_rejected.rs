use taulu::prelude::*;
use taulu_app::schema::{Members, members};

fn main() {
    let _ = select_from::<Members>()
        .columns((members::user_id,))
        .where_(row_number().over(partition_by((members::org_id,))).eq(1));
}
