//! The connection layer, one job per module: [`url`] parses connection strings that never print
//! their password, [`tls`] sets up rustls, [`config`] reads the pool settings, [`conn`] opens and
//! drives one connection with its statement cache, and [`pool`] is [`Db`], the bb8 pool whose
//! statements and transactions are retried through the one retry step of `retry.rs`
//! (`Backoff::pause`). It runs SQL it is handed; it never builds any.

mod config;
mod conn;
mod copy;
mod listen;
mod pool;
mod tls;
mod url;

pub use config::{DATABASE_REPLICA_URLS, DbConfig};
pub(crate) use conn::open;
pub use conn::{Manager, PgConn, connect};
pub use listen::{ListenEvent, Listener, Notification};
pub use pool::{
    Db, IsolationLevel, OnPrimary, PoolStatus, PooledConn, ReplicaHealth, ReplicaStatus, Session, Timed, Tx, db,
};
pub use tls::PGSSLROOTCERT;
pub use url::{DATABASE_URL, DEFAULT_CONNECT_TIMEOUT, DatabaseUrl};
