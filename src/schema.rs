//! The application's schema: typed tables, columns, rows, inserts and enums generated at build time
//! from `migrations/` by [`schema!`](macro@crate::schema). Nothing here is written by hand.
//!
//! ```
//! use taulu::{Column, Table, schema::{Users, users, Role}};
//! assert_eq!(Users::NAME, "users");
//! assert_eq!(<users::email as Column>::SQL_TYPE, "text");
//! assert_eq!(Role::Owner.to_string(), "owner");
//! let new_user = users::Insert::new("ann", "ann@example.com", "hash")
//!     .with_display_name("Ann");
//! assert_eq!(new_user.system_role, None); // defaulted: 'user'
//! ```

crate::schema!("migrations");
