use taulu::prelude::*;
use taulu_app::schema::{Members, members};

taulu::alias!(Peer);

fn main() {
    let _ = select_from::<Members>().columns((members::user_id.of::<Peer>(),));
}
