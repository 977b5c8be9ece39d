//! Nothing here: this package exists for `benches/build.rs`, so its peers (diesel, sea-query,
//! criterion) are built only by `cargo bench -p taulu-peer-benches`, never by `cargo test`.
