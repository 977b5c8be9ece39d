//! Pool and retry settings: [`DbConfig`], read from the environment with a `.env` file as
//! fallback (dotenvy parses it). Reads settings; never connects.

use std::{collections::HashMap, time::Duration};

use super::url::{DATABASE_URL, DatabaseUrl};
use crate::{
    error::{Error, Result},
    retry::RetryPolicy,
};

/// Pool and retry settings. [`DbConfig::from_env`] reads them from the environment (and `.env`).
///
/// `Debug` shows the URL without its password.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// The server.
    pub url: DatabaseUrl,
    /// Most connections the pool opens (`TAULU_POOL_MAX`, default 5).
    pub max_size: u32,
    /// Idle connections kept open (`TAULU_POOL_MIN_IDLE`, default 1).
    pub min_idle: u32,
    /// The longest a caller waits for a connection (`TAULU_POOL_CONNECT_TIMEOUT_MS`, default
    /// 5000): for a busy pool to free one ([`Error::PoolExhausted`] after that), and for a server
    /// that refuses connections, is starting up or shutting down to come back
    /// ([`Error::Unavailable`] after that). Also the limit of one connection attempt.
    pub connect_timeout: Duration,
    /// Idle connections are closed after this (`TAULU_POOL_IDLE_TIMEOUT_S`, default 600; 0: never).
    pub idle_timeout: Option<Duration>,
    /// Connections are replaced after this (`TAULU_POOL_MAX_LIFETIME_S`, default 1800; 0: never).
    pub max_lifetime: Option<Duration>,
    /// `SET statement_timeout` on every connection (`TAULU_STATEMENT_TIMEOUT_MS`, default none); a
    /// statement that runs longer fails with [`Error::StatementTimeout`].
    pub statement_timeout: Option<Duration>,
    /// Prepared statements cached per connection (`TAULU_STATEMENT_CACHE_SIZE`, default 256; 0
    /// disables the cache: every query is sent as an unnamed statement).
    pub statement_cache_size: usize,
    /// Retries of statements that failed on a lost connection (`TAULU_RETRY_ATTEMPTS`,
    /// `TAULU_RETRY_BASE_MS`, `TAULU_RETRY_CAP_MS`; defaults 3, 100, 2000). The backoff also paces
    /// the reconnect attempts within `connect_timeout`.
    pub retry: RetryPolicy,
    /// Connections shared by single statements (`TAULU_POOL_MULTIPLEX`, default 0: off). With
    /// `n > 0`, a single statement outside a transaction runs on one of `n` connections shared by
    /// many statements in flight at once (pipelined), instead of checking out a connection of its
    /// own; transactions, `get()`, streams and time-limited statements still check one out. At most
    /// `max_size - 1`, so one is always left for them. See [`guide::pool`](crate::guide::pool), "Multiplexing".
    pub multiplex: u32,
    /// Read replicas (`DATABASE_REPLICA_URLS`, comma-separated URLs; default none). Single
    /// statements that only read, outside a transaction, go to a healthy one; see
    /// [`Db`](crate::Db#read-replicas).
    pub replicas: Vec<DatabaseUrl>,
    /// A replica further behind the primary than this gets no reads until it catches up
    /// (`TAULU_REPLICA_MAX_LAG_MS`, default 2000).
    pub replica_max_lag: Duration,
    /// How often each replica's health and lag are measured (`TAULU_REPLICA_CHECK_MS`, default
    /// 500).
    pub replica_check_interval: Duration,
    /// How long a read of a [`Db::read_your_writes`](crate::Db::read_your_writes) session waits
    /// for a replica to replay its writes before it goes to the primary
    /// (`TAULU_REPLICA_WAIT_MS`, default 100).
    pub replica_wait: Duration,
}

impl DbConfig {
    /// Defaults for `url`.
    pub fn new(url: DatabaseUrl) -> Self {
        DbConfig {
            url,
            max_size: 5,
            min_idle: 1,
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            statement_timeout: None,
            statement_cache_size: 256,
            retry: RetryPolicy::default(),
            multiplex: 0,
            replicas: Vec::new(),
            replica_max_lag: Duration::from_secs(2),
            replica_check_interval: Duration::from_millis(500),
            replica_wait: Duration::from_millis(100),
        }
    }

    /// Reads `DATABASE_URL` and the `TAULU_POOL_*` / `TAULU_RETRY_*` settings from the environment,
    /// falling back to a `.env` file in the working directory for variables the environment lacks.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&Env::load()?, None)
    }

    /// The pool and retry settings from the environment, as [`DbConfig::from_env`] reads them, for
    /// `url` (for instance [`taulu::local::url_or_local`](crate::local::url_or_local)'s).
    pub fn from_env_for(url: DatabaseUrl) -> Result<Self> {
        Self::from_vars(&Env::load()?, Some(url))
    }

    fn from_vars(env: &Env, url: Option<DatabaseUrl>) -> Result<Self> {
        let url = match url {
            Some(url) => url,
            None => env
                .get(DATABASE_URL)
                .ok_or_else(|| Error::Config {
                    reason: format!(
                        "{DATABASE_URL} is not set: set it (or write it in .env) to the database to use; for a \
                         local development server, `taulu db start`, then `export {DATABASE_URL}=$(taulu db url)`"
                    ),
                })?
                .parse()?,
        };
        let mut c = DbConfig::new(url);
        let num = |key: &str| -> Result<Option<u64>> {
            env.get(key)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| Error::Config { reason: format!("{key} must be a whole number, got {v:?}") })
                })
                .transpose()
        };
        let secs = |v: u64| (v > 0).then(|| Duration::from_secs(v));
        if let Some(v) = num("TAULU_POOL_MAX")? {
            c.max_size = v.clamp(1, 10_000) as u32;
        }
        if let Some(v) = num("TAULU_POOL_MULTIPLEX")? {
            c.multiplex = v as u32;
        }
        if let Some(v) = num("TAULU_POOL_MIN_IDLE")? {
            c.min_idle = v as u32;
        }
        if let Some(v) = num("TAULU_POOL_CONNECT_TIMEOUT_MS")? {
            c.connect_timeout = Duration::from_millis(v.max(1));
        }
        if let Some(v) = num("TAULU_POOL_IDLE_TIMEOUT_S")? {
            c.idle_timeout = secs(v);
        }
        if let Some(v) = num("TAULU_POOL_MAX_LIFETIME_S")? {
            c.max_lifetime = secs(v);
        }
        if let Some(v) = num("TAULU_STATEMENT_TIMEOUT_MS")? {
            c.statement_timeout = (v > 0).then(|| Duration::from_millis(v));
        }
        if let Some(v) = num("TAULU_STATEMENT_CACHE_SIZE")? {
            c.statement_cache_size = v as usize;
        }
        if let Some(urls) = env.get(DATABASE_REPLICA_URLS) {
            c.replicas = split_urls(&urls).into_iter().map(|u| u.parse()).collect::<Result<_>>()?;
        }
        if let Some(v) = num("TAULU_REPLICA_MAX_LAG_MS")? {
            c.replica_max_lag = Duration::from_millis(v);
        }
        if let Some(v) = num("TAULU_REPLICA_CHECK_MS")? {
            c.replica_check_interval = Duration::from_millis(v.max(10));
        }
        if let Some(v) = num("TAULU_REPLICA_WAIT_MS")? {
            c.replica_wait = Duration::from_millis(v);
        }
        if let Some(v) = num("TAULU_RETRY_ATTEMPTS")? {
            c.retry.attempts = v.max(1) as u32;
        }
        if let Some(v) = num("TAULU_RETRY_BASE_MS")? {
            c.retry.base = Duration::from_millis(v);
        }
        if let Some(v) = num("TAULU_RETRY_CAP_MS")? {
            c.retry.cap = Duration::from_millis(v);
        }
        Ok(c)
    }
}

/// The environment variable with the read replicas' URLs, comma-separated.
pub const DATABASE_REPLICA_URLS: &str = "DATABASE_REPLICA_URLS";

/// Splits a comma-separated list of URLs. A piece that does not start a URL (`postgres://`,
/// `postgresql://`) continues the one before: a multi-host URL (`postgres://u@a,b/db`) stays whole.
fn split_urls(list: &str) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for piece in list.split(',').filter(|p| !p.trim().is_empty()) {
        let starts = ["postgres://", "postgresql://"].iter().any(|s| piece.trim_start().starts_with(s));
        match urls.last_mut() {
            Some(last) if !starts => {
                last.push(',');
                last.push_str(piece);
            }
            _ => urls.push(piece.trim().to_owned()),
        }
    }
    urls.iter_mut().for_each(|u| *u = u.trim().to_owned());
    urls
}

/// The process environment, with a `.env` file as fallback (never overriding a set variable,
/// never modifying the process environment).
struct Env(HashMap<String, String>);

impl Env {
    fn load() -> Result<Self> {
        match dotenvy::from_path_iter(".env") {
            Ok(iter) => Self::from_pairs(iter),
            Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(Env(HashMap::new())),
            Err(e) => Err(dotenvy_error(e)),
        }
    }

    fn from_pairs(iter: impl IntoIterator<Item = dotenvy::Result<(String, String)>>) -> Result<Self> {
        iter.into_iter().collect::<dotenvy::Result<HashMap<_, _>>>().map(Env).map_err(dotenvy_error)
    }

    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty()).or_else(|| self.0.get(key).cloned())
    }
}

/// A `.env` error, without the offending line (it may hold a password).
fn dotenvy_error(e: dotenvy::Error) -> Error {
    let reason = match e {
        dotenvy::Error::LineParse(_, index) => format!(".env cannot be parsed at character {index}"),
        dotenvy::Error::Io(e) => format!(".env cannot be read: {e}"),
        other => format!(".env: {other}"),
    };
    Error::Config { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Env> {
        Env::from_pairs(dotenvy::from_read_iter(text.as_bytes()))
    }

    /// A missing DATABASE_URL says what to do, in `Display` and in `Debug` (what a `main`
    /// returning `taulu::Result` prints).
    #[test]
    fn a_missing_database_url_says_what_to_do() {
        let err = DbConfig::from_vars(&parse("TAULU_POOL_MAX=3\n").unwrap(), None).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("configuration: DATABASE_URL is not set"), "{shown}");
        assert!(shown.contains("taulu db start") && shown.contains("$(taulu db url)"), "{shown}");
        assert_eq!(format!("{err:?}"), shown);
    }

    #[test]
    fn dot_env_lines_parse_with_comments_exports_and_quotes() {
        let env = parse(
            "# local settings\n\nDATABASE_URL=\"postgres://u:p@h/db\"\nexport TAULU_POOL_MAX=9 # nine\nTAULU_X='a=b'\n",
        )
        .unwrap();
        assert_eq!(env.0.get("DATABASE_URL").map(String::as_str), Some("postgres://u:p@h/db"));
        assert_eq!(env.0.get("TAULU_POOL_MAX").map(String::as_str), Some("9"), "a trailing comment is not the value");
        assert_eq!(env.0.get("TAULU_X").map(String::as_str), Some("a=b"));
        assert_eq!(env.0.len(), 3);
    }

    #[test]
    fn a_malformed_dot_env_is_a_configuration_error_that_does_not_quote_the_line() {
        let err = parse("DATABASE_URL=postgres://u:Sekr3t@h/db\nnot a pair Sekr3t\n").err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(!err.to_string().contains("Sekr3t"), "{err}");
    }

    #[test]
    fn replica_urls_split_on_commas_keeping_multi_host_urls_whole() {
        assert_eq!(
            split_urls("postgres://u@r1/db, postgresql://u@r2:5433,r3:5434/db ,"),
            vec!["postgres://u@r1/db".to_owned(), "postgresql://u@r2:5433,r3:5434/db".to_owned()]
        );
        assert_eq!(split_urls(""), Vec::<String>::new());
        let env = parse(
            "DATABASE_URL=postgres://u:p@h/db\nDATABASE_REPLICA_URLS=postgres://u:Sekr3t@r1/db,postgres://u:p@r2/db\n",
        )
        .unwrap();
        if std::env::var_os(DATABASE_REPLICA_URLS).is_none() {
            let c = DbConfig::from_vars(&env, None).unwrap();
            assert_eq!(c.replicas.iter().map(|u| u.to_string()).collect::<Vec<_>>(), ["u@r1:5432/db", "u@r2:5432/db"]);
            assert!(!format!("{c:?}").contains("Sekr3t"));
        }
    }

    #[test]
    fn settings_that_are_not_numbers_are_configuration_errors() {
        let env = parse("DATABASE_URL=postgres://u@h/db\nTAULU_POOL_MAX=five\n").unwrap();
        if std::env::var_os("TAULU_POOL_MAX").is_none() {
            let err = DbConfig::from_vars(&env, None).unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{err}");
            assert_eq!(err.to_string(), "configuration: TAULU_POOL_MAX must be a whole number, got \"five\"");
        }
    }
}
