//! Procedural macros for taulu. Thin entry points only: read files, call the logic, turn errors
//! into `compile_error!`. The schema macro (`schema!`) lands with the schema issue; until then this
//! crate is an intentionally empty shell so the workspace layout is final.
