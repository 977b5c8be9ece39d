use taulu::prelude::*;
use taulu::query::recursive;
use taulu_app::schema::{Members, members};

taulu::alias!(Reach);

fn main() {
    // The base reads (uuid, i32); the step reads (uuid,): UNION ALL needs one row type.
    let _ = recursive(
        Reach,
        select_from::<Members>().columns((members::org_id, val(0i32))),
        |reach| select_from::<Members>().inner_join_cte(reach, reach.col::<0>().eq(members::org_id)).columns((members::org_id,)),
    );
}
