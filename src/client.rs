//! Connection layer: parsing `DATABASE_URL` into a redacted, printable target, opening connections
//! (plain, TLS, Unix socket), and [`Db`], the bb8 pool with its per-connection statement cache and
//! the retry loop (the classification itself is in `retry.rs`). Runs SQL it is handed; never
//! builds any, never formats a password.

use std::{fmt, str::FromStr, sync::Arc};

use tokio_postgres::{Client, NoTls, config::Host};

use crate::error::{Error, Result};

/// The environment variable read by [`DatabaseUrl::from_env`].
pub const DATABASE_URL: &str = "DATABASE_URL";

/// A parsed connection string (URL `postgres://user:pass@host:port/db?...` or libpq key=value
/// form).
///
/// `Display` and `Debug` show `user@host:port/dbname` and never the password, so a `DatabaseUrl`
/// is safe to log.
///
/// ```
/// use taulu::DatabaseUrl;
/// let url: DatabaseUrl = "postgres://app:s3cret@db.internal:5433/shop".parse()?;
/// assert_eq!(url.to_string(), "app@db.internal:5433/shop");
/// assert!(!format!("{url:?}").contains("s3cret"));
/// # Ok::<(), taulu::Error>(())
/// ```
#[derive(Clone)]
pub struct DatabaseUrl {
    config: tokio_postgres::Config,
}

impl DatabaseUrl {
    /// Reads `DATABASE_URL`; `Ok(None)` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var(DATABASE_URL) {
            Ok(s) if !s.trim().is_empty() => s.parse().map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::InvalidUrl { reason: format!("{DATABASE_URL} is not valid UTF-8") })
            }
        }
    }

    /// The driver configuration.
    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The database name, if the URL names one.
    pub fn dbname(&self) -> Option<&str> {
        self.config.get_dbname()
    }

    /// The same server and credentials, another database.
    pub fn with_dbname(&self, dbname: &str) -> Self {
        let mut config = self.config.clone();
        config.dbname(dbname);
        DatabaseUrl { config }
    }

    /// Builds a URL from parts; used by the local cluster.
    pub(crate) fn from_parts(host: &str, port: u16, user: &str, password: &str, dbname: &str) -> Self {
        let mut config = tokio_postgres::Config::new();
        config.host(host).port(port).user(user).password(password).dbname(dbname).application_name("taulu");
        DatabaseUrl { config }
    }

    /// The connection string with the password, percent-encoded, for handing to other tools
    /// (`psql`, an application's environment). Do not log it.
    pub fn to_url_with_password(&self) -> String {
        let c = &self.config;
        let mut s = String::from("postgres://");
        if let Some(user) = c.get_user() {
            s.push_str(&percent_encode(user));
            if let Some(pw) = c.get_password() {
                s.push(':');
                s.push_str(&percent_encode(&String::from_utf8_lossy(pw)));
            }
            s.push('@');
        }
        s.push_str(&self.host_port());
        s.push('/');
        s.push_str(&percent_encode(c.get_dbname().unwrap_or("")));
        s
    }

    fn host_port(&self) -> String {
        let c = &self.config;
        let host = match c.get_hosts().first() {
            Some(Host::Tcp(h)) if h.contains(':') => format!("[{h}]"),
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}")
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromStr for DatabaseUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let config = tokio_postgres::Config::from_str(s).map_err(|e| {
            // The driver's parse errors may quote one character of the input ("but got `x`");
            // that character can be part of the password, so cut it.
            let text = std::error::Error::source(&e).map(|c| c.to_string()).unwrap_or_else(|| e.to_string());
            let reason = text.split(" but got").next().unwrap_or_default().to_owned();
            Error::InvalidUrl { reason }
        })?;
        if config.get_hosts().is_empty() {
            return Err(Error::InvalidUrl {
                reason: "no host given (expected postgres://user:password@host:port/dbname)".into(),
            });
        }
        Ok(DatabaseUrl { config })
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = self.config.get_user() {
            write!(f, "{user}@")?;
        }
        write!(f, "{}/{}", self.host_port(), self.config.get_dbname().unwrap_or(""))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The libpq environment variable naming a CA certificate (PEM) to verify the server with.
pub const PGSSLROOTCERT: &str = "PGSSLROOTCERT";

/// Opens one connection and drives it on a background task.
///
/// TLS follows the URL's `sslmode` like libpq: `disable` is plain TCP; `prefer` (the default) uses
/// TLS when the server offers it; `require` insists on it. Without `PGSSLROOTCERT` the server's
/// certificate is not verified (libpq's `require`); with it, the certificate must chain to that
/// CA and name the host (libpq's `verify-full`).
///
/// The task logs a connection that ends with an error at `warn` level. Errors name the target
/// without its password.
pub async fn connect(url: &DatabaseUrl) -> Result<Client> {
    tracing::debug!(target: "taulu::client", %url, "connecting");
    let fail = |source: tokio_postgres::Error| {
        tracing::debug!(target: "taulu::client", %url, error = %crate::error::describe_pg(&source), "connect failed");
        Error::Connect { target: url.to_string(), source: Arc::new(source) }
    };
    let target = url.to_string();
    let client = if url.config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        let (client, connection) = url.config.connect(NoTls).await.map_err(fail)?;
        tokio::spawn(drive(connection, target));
        client
    } else {
        let tls = tls::connector()?;
        let (client, connection) = url.config.connect(tls).await.map_err(fail)?;
        tokio::spawn(drive(connection, target));
        client
    };
    tracing::debug!(target: "taulu::client", %url, "connected");
    Ok(client)
}

async fn drive<F>(connection: F, target: String)
where
    F: std::future::Future<Output = std::result::Result<(), tokio_postgres::Error>>,
{
    if let Err(e) = connection.await {
        tracing::warn!(target: "taulu::client", url = %target, error = %e, "connection closed with an error");
    }
}

mod tls {
    //! rustls for tokio-postgres: verifying against `PGSSLROOTCERT` when set, else encrypting
    //! without verification, as libpq's `sslmode=require` does.

    use std::sync::{Arc, OnceLock};

    use rustls::{
        ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
        client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
        pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject},
    };
    use tokio_postgres_rustls::MakeRustlsConnect;

    use super::{Error, PGSSLROOTCERT, Result};

    static CONFIG: OnceLock<std::result::Result<Arc<ClientConfig>, String>> = OnceLock::new();

    pub(super) fn connector() -> Result<MakeRustlsConnect> {
        let config = CONFIG.get_or_init(build).clone().map_err(|reason| Error::InvalidUrl { reason })?;
        Ok(MakeRustlsConnect::new((*config).clone()))
    }

    fn build() -> std::result::Result<Arc<ClientConfig>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS setup: {e}"))?;
        let config = match std::env::var_os(PGSSLROOTCERT).filter(|v| !v.is_empty()) {
            Some(path) => {
                let shown = path.to_string_lossy().into_owned();
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(&path).map_err(|e| format!("{PGSSLROOTCERT}={shown}: {e}"))? {
                    let cert = cert.map_err(|e| format!("{PGSSLROOTCERT}={shown}: {e}"))?;
                    roots.add(cert).map_err(|e| format!("{PGSSLROOTCERT}={shown}: {e}"))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// libpq's `sslmode=require`: the channel is encrypted and the handshake signatures are
    /// checked, but the certificate is not verified against any CA.
    #[derive(Debug)]
    struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

    impl ServerCertVerifier for EncryptOnly {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_never_show_the_password() {
        let url: DatabaseUrl = "postgres://alice:hunter2%21@localhost:6543/app".parse().unwrap();
        assert_eq!(url.to_string(), "alice@localhost:6543/app");
        assert_eq!(format!("{url:?}"), "DatabaseUrl(alice@localhost:6543/app)");
        assert_eq!(url.to_url_with_password(), "postgres://alice:hunter2%21@localhost:6543/app");
    }

    #[test]
    fn dot_env_lines_parse_with_comments_exports_and_quotes() {
        let env = Env::parse(
            "# local settings\n\nDATABASE_URL=\"postgres://u:p@h/db\"\nexport TAULU_POOL_MAX = 9\nTAULU_X='a=b'\nnot a pair\n",
        );
        assert_eq!(env.0.get("DATABASE_URL").map(String::as_str), Some("postgres://u:p@h/db"));
        assert_eq!(env.0.get("TAULU_POOL_MAX").map(String::as_str), Some("9"));
        assert_eq!(env.0.get("TAULU_X").map(String::as_str), Some("a=b"));
        assert_eq!(env.0.len(), 3);
    }

    #[test]
    fn key_value_form_is_accepted_and_redacted() {
        let url: DatabaseUrl = "host=127.0.0.1 port=5000 user=bob password=pa55 dbname=x".parse().unwrap();
        assert_eq!(url.to_string(), "bob@127.0.0.1:5000/x");
    }

    #[test]
    fn parse_errors_do_not_echo_the_input() {
        for bad in [
            "postgres://u:pä$$w0rd@host:notaport/db",
            "postgres://u:Sekr3t@[::1/db",
            "host=h password='Sekr3t",
            "postgres://u:Sekr3t@h/db?sslmode=bogus",
        ] {
            let err = bad.parse::<DatabaseUrl>().unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(matches!(err, Error::InvalidUrl { .. }), "{bad}: {text}");
            for secret in ["Sekr3t", "pä$$w0rd", "ä", "$$"] {
                assert!(!text.contains(secret), "{bad} leaked {secret:?}: {text}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The pool.

use std::{
    collections::HashMap,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio_postgres::{Row, Statement};

use crate::{
    query::{Compiled, Executor, Param},
    retry::{self, Class, RetryPolicy},
};

/// Pool and retry settings. [`DbConfig::from_env`] reads them from the environment (and `.env`).
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// The server.
    pub url: DatabaseUrl,
    /// Most connections the pool opens (`TAULU_POOL_MAX`, default 5).
    pub max_size: u32,
    /// Idle connections kept open (`TAULU_POOL_MIN_IDLE`, default 1).
    pub min_idle: u32,
    /// How long to wait for a connection (`TAULU_POOL_CONNECT_TIMEOUT_MS`, default 5000).
    pub connect_timeout: Duration,
    /// Idle connections are closed after this (`TAULU_POOL_IDLE_TIMEOUT_S`, default 600; 0: never).
    pub idle_timeout: Option<Duration>,
    /// Connections are replaced after this (`TAULU_POOL_MAX_LIFETIME_S`, default 1800; 0: never).
    pub max_lifetime: Option<Duration>,
    /// `SET statement_timeout` on every connection (`TAULU_STATEMENT_TIMEOUT_MS`, default none).
    pub statement_timeout: Option<Duration>,
    /// Prepared statements cached per connection (`TAULU_STATEMENT_CACHE_SIZE`, default 256; 0
    /// disables the cache: every query is prepared on the fly).
    pub statement_cache_size: usize,
    /// Retries of transient faults (`TAULU_RETRY_ATTEMPTS`, `TAULU_RETRY_BASE_MS`,
    /// `TAULU_RETRY_CAP_MS`; defaults 3, 100, 2000).
    pub retry: RetryPolicy,
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
        }
    }

    /// Reads `DATABASE_URL` and the `TAULU_POOL_*` / `TAULU_RETRY_*` settings from the environment,
    /// falling back to a `.env` file in the working directory for variables the environment lacks.
    pub fn from_env() -> Result<Self> {
        let env = Env::load();
        let url =
            env.get(DATABASE_URL).ok_or_else(|| Error::InvalidUrl { reason: format!("{DATABASE_URL} is not set") })?;
        let mut c = DbConfig::new(url.parse()?);
        let num = |key: &str| -> Result<Option<u64>> {
            env.get(key)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .map_err(|_| Error::InvalidUrl { reason: format!("{key} must be a number, got {v:?}") })
                })
                .transpose()
        };
        let secs = |v: u64| (v > 0).then(|| Duration::from_secs(v));
        if let Some(v) = num("TAULU_POOL_MAX")? {
            c.max_size = v.clamp(1, 10_000) as u32;
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

/// The process environment, with a `.env` file as fallback (never overriding a set variable,
/// never modifying the process environment).
struct Env(HashMap<String, String>);

impl Env {
    fn load() -> Self {
        Env::parse(&std::fs::read_to_string(".env").unwrap_or_default())
    }

    /// `KEY=value` lines; `#` comments, blank lines, an `export ` prefix and one pair of quotes
    /// around the value are allowed.
    fn parse(text: &str) -> Self {
        let mut vars = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                vars.insert(k.trim().to_owned(), v.to_owned());
            }
        }
        Env(vars)
    }

    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty()).or_else(|| self.0.get(key).cloned())
    }
}

/// A pooled connection: the client, its prepared-statement cache, and a "broken" mark the retry
/// layer sets so a faulty connection is discarded instead of returned to the pool.
pub struct PgConn {
    // Boxed: bb8 moves the connection in and out of its queue and through every checkout
    // future; a tokio-postgres `Client` is ~200 bytes, its box is one pointer.
    client: Box<Client>,
    statements: Mutex<HashMap<String, Statement, SqlHash>>,
    cache_size: usize,
    broken: AtomicBool,
}

impl PgConn {
    async fn statement(&self, sql: &str) -> std::result::Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(sql) {
            return Ok(s.clone());
        }
        // Boxed, like every cold path here: it would otherwise swell each query's future.
        let stmt = Box::pin(self.client.prepare(sql)).await?;
        let mut cache = self.statements.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= self.cache_size {
            // Bounded: forget everything rather than track recency; statements re-prepare on use.
            cache.clear();
        }
        cache.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    async fn query(&self, q: &Compiled) -> std::result::Result<Vec<Row>, tokio_postgres::Error> {
        use futures_util::TryStreamExt as _;
        if self.cache_size == 0 {
            // Unnamed statements (for PgBouncer in transaction mode): Parse/Bind/Execute in one go.
            // Boxed: the cached path below is the hot one; these futures would double its size.
            return match q.typed_params() {
                Some(typed) => Box::pin(self.client.query_typed(q.sql.as_str(), &typed)).await,
                None => Box::pin(self.client.query(q.sql.as_str(), &q.param_refs())).await,
            };
        }
        let stmt = self.statement(&q.sql).await?;
        // query_raw takes the parameters as an iterator: no Vec of references per query.
        self.client.query_raw(&stmt, q.params.iter().map(Param::as_sql)).await?.try_collect().await
    }

    /// The first row (the rest are read and dropped): no `Vec` for the common one-row fetch.
    async fn query_first(&self, q: &Compiled) -> PgResult<Option<Row>> {
        use futures_util::TryStreamExt as _;
        if self.cache_size == 0 {
            return Ok(self.query(q).await?.into_iter().next());
        }
        let stmt = self.statement(&q.sql).await?;
        let rows = self.client.query_raw(&stmt, q.params.iter().map(Param::as_sql)).await?;
        let mut rows = std::pin::pin!(rows);
        let mut first = None;
        while let Some(row) = rows.try_next().await? {
            first.get_or_insert(row);
        }
        Ok(first)
    }

    async fn execute(&self, q: &Compiled) -> std::result::Result<u64, tokio_postgres::Error> {
        if self.cache_size == 0 {
            return match q.typed_params() {
                Some(typed) => Box::pin(self.client.execute_typed(q.sql.as_str(), &typed)).await,
                None => Box::pin(self.client.execute(q.sql.as_str(), &q.param_refs())).await,
            };
        }
        let stmt = self.statement(&q.sql).await?;
        self.client.execute_raw(&stmt, q.params.iter().map(Param::as_sql)).await
    }

    /// The underlying client (for what the builder does not cover).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The statement cache's hasher: the SQL text is hashed on every query, so it goes a word at a
/// time (the FxHash mix). SipHash's DoS resistance buys nothing here (the keys are the program's
/// own statements) and costs several times as much on a 100-byte statement.
#[derive(Clone, Copy, Default)]
struct SqlHash;

/// The hasher state.
struct SqlHasher(u64);

impl std::hash::BuildHasher for SqlHash {
    type Hasher = SqlHasher;
    fn build_hasher(&self) -> SqlHasher {
        SqlHasher(0)
    }
}

impl SqlHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for SqlHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let mut tail = [0u8; 8];
        let rest = chunks.remainder();
        tail[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 59));
    }
    fn write_u8(&mut self, b: u8) {
        self.mix(u64::from(b));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Opens connections for bb8.
pub struct Manager {
    url: DatabaseUrl,
    statement_timeout: Option<Duration>,
    cache_size: usize,
}

impl bb8::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = Error;

    async fn connect(&self) -> Result<PgConn> {
        let client = connect(&self.url).await?;
        if let Some(t) = self.statement_timeout {
            client.batch_execute(&format!("SET statement_timeout = {}", t.as_millis())).await?;
        }
        Ok(PgConn {
            client: Box::new(client),
            statements: Mutex::new(HashMap::with_hasher(SqlHash)),
            cache_size: self.cache_size,
            broken: AtomicBool::new(false),
        })
    }

    async fn is_valid(&self, conn: &mut PgConn) -> Result<()> {
        // Boxed: this future is part of every checkout's future (bb8 embeds it even with
        // `test_on_check_out(false)`), and every byte of it is copied on each checkout.
        Box::pin(conn.client.simple_query("")).await.map(|_| ()).map_err(Error::Db)
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        let broken = conn.broken.load(Ordering::Relaxed) || conn.client.is_closed();
        if broken {
            tracing::debug!(target: "taulu::pool", "discarding a broken connection");
        }
        broken
    }
}

/// Receives the connect errors bb8 meets (bb8 never hands them to a waiting `get`, which would
/// otherwise sit out the whole connection timeout): logs them and tells waiting callers.
#[derive(Debug, Clone)]
struct ErrorSink(tokio::sync::broadcast::Sender<Arc<Error>>);

impl bb8::ErrorSink<Error> for ErrorSink {
    fn sink(&self, e: Error) {
        tracing::debug!(target: "taulu::pool", error = %e, "connect failed");
        let _ = self.0.send(Arc::new(e));
    }
    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<Error>> {
        Box::new(self.clone())
    }
}

/// A pool of connections with retries: the executor applications use.
///
/// ```no_run
/// # async fn f() -> taulu::Result<()> {
/// use taulu::prelude::*;
/// use taulu::schema::{Users, users};
/// let db = taulu::db()?;                      // from DATABASE_URL (and .env), built once
/// let emails = select_from::<Users>().columns((users::email,)).fetch_all(db).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Db {
    pool: bb8::Pool<Manager>,
    retry: RetryPolicy,
    url: DatabaseUrl,
    connect_errors: tokio::sync::broadcast::Sender<Arc<Error>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.pool.state();
        write!(f, "Db({}, {} connections, {} idle)", self.url, state.connections, state.idle_connections)
    }
}

static GLOBAL: OnceLock<Db> = OnceLock::new();

/// The process-wide [`Db`], built on first use from [`DbConfig::from_env`]. Must be first called
/// inside a tokio runtime (the pool keeps its minimum of idle connections in the background).
pub fn db() -> Result<&'static Db> {
    if let Some(db) = GLOBAL.get() {
        return Ok(db);
    }
    let built = Db::new(DbConfig::from_env()?);
    Ok(GLOBAL.get_or_init(|| built))
}

impl Db {
    /// A pool for `config`. Connections open lazily (the minimum idle ones in the background), so
    /// this never fails because the server is down; see [`Db::connect`] to check it is up.
    pub fn new(config: DbConfig) -> Self {
        let (connect_errors, _) = tokio::sync::broadcast::channel(16);
        let manager = Manager {
            url: config.url.clone(),
            statement_timeout: config.statement_timeout,
            cache_size: config.statement_cache_size,
        };
        let pool = bb8::Pool::builder()
            .max_size(config.max_size)
            .min_idle(Some(config.min_idle.min(config.max_size)))
            .connection_timeout(config.connect_timeout)
            .idle_timeout(config.idle_timeout)
            .max_lifetime(config.max_lifetime)
            // A validation round trip on every checkout costs ~40% of throughput; a closed
            // connection is caught by `has_broken`, a dead one by the retry layer.
            .test_on_check_out(false)
            // Surface connect errors (so they can be classified) instead of retrying them silently
            // until the timeout.
            .retry_connection(false)
            // The connection a task just returned is the one it gets next: its driver task stays
            // warm on the same worker, instead of every query hopping to another connection.
            .queue_strategy(bb8::QueueStrategy::Lifo)
            .error_sink(Box::new(ErrorSink(connect_errors.clone())))
            .build_unchecked(manager);
        tracing::debug!(target: "taulu::pool", url = %config.url, max = config.max_size, min_idle = config.min_idle, "pool created");
        Db { pool, retry: config.retry, url: config.url, connect_errors }
    }

    /// A pool for `config`, after checking that one connection can be opened.
    pub async fn connect(config: DbConfig) -> Result<Self> {
        let db = Db::new(config);
        drop(db.get().await?);
        Ok(db)
    }

    /// The server this pool connects to (without the password).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// (open connections, idle connections).
    pub fn state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections)
    }

    /// A connection from the pool, retrying transient connect failures.
    pub async fn get(&self) -> Result<bb8::PooledConnection<'_, Manager>> {
        let mut delay = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let mut get = std::pin::pin!(self.pool.get());
            // Fast path: an idle connection is there at once (no channel subscription needed).
            let first = std::future::poll_fn(|cx| std::task::Poll::Ready(get.as_mut().poll(cx))).await;
            let got = match first {
                std::task::Poll::Ready(got) => Ok(got),
                std::task::Poll::Pending => {
                    let started = std::time::Instant::now();
                    let got = Box::pin(self.wait_for(get.as_mut())).await;
                    let waited_us = started.elapsed().as_micros() as u64;
                    tracing::debug!(target: "taulu::pool", waited_us, ok = got.is_ok(), "checkout waited");
                    got
                }
            };
            let outcome = got.and_then(|got| {
                got.map_err(|e| match e {
                    bb8::RunError::User(e) => Arc::new(e),
                    bb8::RunError::TimedOut => Arc::new(Error::PoolTimeout),
                })
            });
            let err = match outcome {
                Ok(conn) if conn.client.is_closed() => {
                    conn.broken.store(true, Ordering::Relaxed);
                    // A connection that died while idle: nothing was sent; do not count it.
                    continue;
                }
                Ok(conn) => {
                    tracing::trace!(target: "taulu::pool", "checkout");
                    return Ok(conn);
                }
                Err(e) => e,
            };
            if retry::classify_connect(&err) != Class::Retry {
                // Not transient (a wrong password, a missing database): report it as it is.
                return Err(match Arc::try_unwrap(err) {
                    Ok(e) => e,
                    Err(shared) => match &*shared {
                        Error::Connect { target, source } => {
                            Error::Connect { target: target.clone(), source: source.clone() }
                        }
                        _ => Error::Unavailable { attempts: attempt, last: shared },
                    },
                });
            }
            if attempt >= self.retry.attempts {
                tracing::warn!(target: "taulu::retry", attempt, error = %err, class = "connect", "giving up");
                return Err(Error::Unavailable { attempts: attempt, last: err });
            }
            delay = self.retry.delay(attempt, delay);
            tracing::info!(target: "taulu::retry", attempt, delay_ms = delay.as_millis() as u64, error = %err, class = "connect", "retrying");
            Box::pin(tokio::time::sleep(delay)).await;
            attempt += 1;
        }
    }

    /// Waits for a checkout that did not complete at once, or for a connect attempt to fail.
    async fn wait_for<F: Future>(&self, get: std::pin::Pin<&mut F>) -> std::result::Result<F::Output, Arc<Error>> {
        let mut failures = self.connect_errors.subscribe();
        tokio::select! {
            got = get => Ok(got),
            // A connect attempt made for us (or for anyone) failed: the server is not reachable
            // right now; do not wait out the whole timeout.
            Ok(e) = failures.recv() => Err(e),
        }
    }

    /// Runs a statement on a pooled connection, retrying what the classification allows.
    async fn run<F: Fetch>(&self, q: &Compiled) -> Result<F::Out> {
        let mut delay = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let conn = self.get().await?;
            tracing::trace!(target: "taulu::query", attempt, read_only = q.read_only, "statement attempt");
            let err = match F::fetch(&conn, q).await {
                Ok(v) => {
                    tracing::trace!(target: "taulu::pool", "release");
                    return Ok(v);
                }
                Err(e) => e,
            };
            if !retry::is_connection_fault(&err) {
                return Err(Error::Db(err));
            }
            conn.broken.store(true, Ordering::Relaxed);
            drop(conn);
            match retry::classify_statement(&err, q.read_only) {
                Class::Fatal => return Err(Error::Db(err)),
                Class::Ambiguous => {
                    tracing::warn!(target: "taulu::retry", error = %err, "write outcome unknown: not retried");
                    return Err(Error::Ambiguous { source: err });
                }
                Class::Retry if attempt >= self.retry.attempts => {
                    tracing::warn!(target: "taulu::retry", attempt, error = %err, class = "statement", "giving up");
                    return Err(Error::Unavailable { attempts: attempt, last: Arc::new(Error::Db(err)) });
                }
                Class::Retry => {
                    delay = self.retry.delay(attempt, delay);
                    tracing::info!(target: "taulu::retry", attempt, delay_ms = delay.as_millis() as u64, error = %err, class = "statement", "retrying");
                    Box::pin(tokio::time::sleep(delay)).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// What one run of a statement on a connection returns: every row, the first row, or the count
/// of affected rows. [`Db::run`] is generic over it, so each kind gets its own retry loop with
/// no boxing and no runtime dispatch.
trait Fetch {
    type Out: Send;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<Self::Out>> + Send;
}

type PgResult<T> = std::result::Result<T, tokio_postgres::Error>;

struct AllRows;
struct FirstRow;
struct Count;

impl Fetch for AllRows {
    type Out = Vec<Row>;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<Vec<Row>>> + Send {
        conn.query(q)
    }
}

impl Fetch for FirstRow {
    type Out = Option<Row>;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<Option<Row>>> + Send {
        conn.query_first(q)
    }
}

impl Fetch for Count {
    type Out = u64;
    fn fetch(conn: &PgConn, q: &Compiled) -> impl Future<Output = PgResult<u64>> + Send {
        conn.execute(q)
    }
}

impl Executor for Db {
    fn query_rows(&self, q: &Compiled) -> impl Future<Output = Result<Vec<Row>>> + Send {
        self.run::<AllRows>(q)
    }

    fn query_first(&self, q: &Compiled) -> impl Future<Output = Result<Option<Row>>> + Send {
        self.run::<FirstRow>(q)
    }

    fn execute(&self, q: &Compiled) -> impl Future<Output = Result<u64>> + Send {
        self.run::<Count>(q)
    }
}

impl Executor for bb8::PooledConnection<'_, Manager> {
    async fn query_rows(&self, q: &Compiled) -> Result<Vec<Row>> {
        Ok(self.query(q).await?)
    }

    async fn query_first(&self, q: &Compiled) -> Result<Option<Row>> {
        Ok(PgConn::query_first(self, q).await?)
    }

    async fn execute(&self, q: &Compiled) -> Result<u64> {
        Ok(PgConn::execute(self, q).await?)
    }
}

pub use tokio_postgres::IsolationLevel;

const RETRY_TX_STATES: &[&str] = &["40001", "40P01"];

impl Db {
    /// Runs `f` in a transaction on one pooled connection: COMMIT on `Ok`, ROLLBACK on `Err` or
    /// panic; [`transaction`](crate::transaction) called on the `tx` nests as a savepoint. Nothing
    /// inside is retried statement by statement; see [`Db::transaction_with_retry`].
    pub async fn transaction<T, F>(&self, f: F) -> Result<T>
    where
        F: for<'t, 'c> AsyncFnOnce(&'t mut tokio_postgres::Transaction<'c>) -> Result<T>,
    {
        let mut conn = self.get().await?;
        let result = crate::query::transaction(&mut *conn.client, f).await;
        if conn.client.is_closed() {
            conn.broken.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Runs `f` in a transaction at `isolation`, re-running the whole closure when PostgreSQL
    /// aborts it with a serialization failure (40001) or a deadlock (40P01), or when the
    /// connection fails before COMMIT was sent (nothing was committed). A connection failure
    /// during COMMIT is [`Error::Ambiguous`]: it is never re-run. `f` may run several times, so
    /// it must not have side effects outside the transaction.
    pub async fn transaction_with_retry<T, F>(&self, isolation: IsolationLevel, mut f: F) -> Result<T>
    where
        F: for<'t, 'c> AsyncFnMut(&'t mut tokio_postgres::Transaction<'c>) -> Result<T>,
    {
        let mut delay = Duration::ZERO;
        let mut attempt = 1;
        loop {
            let mut conn = self.get().await?;
            let outcome = async {
                let mut tx = conn
                    .client
                    .build_transaction()
                    .isolation_level(isolation)
                    .start()
                    .await
                    .map_err(|e| (Error::Db(e), false))?;
                let value = match f(&mut tx).await {
                    Ok(v) => v,
                    Err(e) => {
                        let _ = tx.rollback().await;
                        return Err((e, false));
                    }
                };
                tx.commit().await.map_err(|e| (Error::Db(e), true))?;
                Ok(value)
            };
            let (err, at_commit) = match outcome.await {
                Ok(v) => return Ok(v),
                Err(pair) => pair,
            };
            let fault = match &err {
                Error::Db(e) => retry::is_connection_fault(e),
                _ => false,
            };
            if fault {
                conn.broken.store(true, Ordering::Relaxed);
            }
            drop(conn);
            let retryable = match &err {
                Error::Db(e) if fault && at_commit => {
                    tracing::warn!(target: "taulu::retry", error = %e, "connection lost during COMMIT: outcome unknown");
                    return Err(match err {
                        Error::Db(source) => Error::Ambiguous { source },
                        other => other,
                    });
                }
                Error::Db(e) => fault || e.code().is_some_and(|c| RETRY_TX_STATES.contains(&c.code())),
                Error::Unavailable { .. } | Error::PoolTimeout => true,
                _ => false,
            };
            if !retryable {
                return Err(err);
            }
            if attempt >= self.retry.attempts {
                tracing::warn!(target: "taulu::retry", attempt, error = %err, class = "transaction", "giving up");
                return Err(err);
            }
            delay = self.retry.delay(attempt, delay);
            tracing::info!(target: "taulu::retry", attempt, delay_ms = delay.as_millis() as u64, error = %err, class = "transaction", "retrying");
            Box::pin(tokio::time::sleep(delay)).await;
            attempt += 1;
        }
    }
}
