//! The "typed sketch" of the query benches (`render_probe`, and `build` in `benches/peers`): what a
//! builder whose query lives in its type would do per call, with no node tree. It is not taulu's
//! code; it is the yardstick for that restructuring (docs/decisions.md, Speed).

use std::{any::TypeId, cell::RefCell, collections::HashMap};

use taulu::query::Param;

/// The text of the query type `Q` (rendered by `render` the first time this thread meets `Q`)
/// and the values in bind order.
pub fn typed_sketch<Q: 'static>(render: fn() -> String, values: impl FnOnce(&mut Vec<Param>)) -> (String, Vec<Param>) {
    thread_local! {
        static TEXTS: RefCell<HashMap<TypeId, Box<str>>> = RefCell::new(HashMap::new());
    }
    let sql = TEXTS.with(|t| {
        String::from(&**t.borrow_mut().entry(TypeId::of::<Q>()).or_insert_with(|| render().into_boxed_str()))
    });
    let mut params = Vec::with_capacity(3);
    values(&mut params);
    (sql, params)
}
