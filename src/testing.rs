//! Test support (cargo feature `testing`): a fresh, isolated database per test, cloned from a
//! migrated template, on the server named by `DATABASE_URL` or on the self-started local cluster.
//! For tests only; nothing in the library's runtime path uses it.
//!
//! With the attribute, each test gets its own database with the migrations applied:
//!
//! ```no_run
//! use taulu::testing::TestDb;
//!
//! #[taulu::test] // migrations = "migrations" (the default), or a `taulu::migrations!` static
//! async fn starts_empty(db: TestDb) {
//!     let n: i64 = db.client().query_one("SELECT count(*) FROM users", &[]).await.unwrap().get(0);
//!     assert_eq!(n, 0);
//! }
//! ```
//!
//! or by hand, in any async test:
//!
//! ```no_run
//! # async fn t() -> taulu::Result<()> {
//! static MIGRATIONS: taulu::migrate::Embedded = taulu::migrations!("migrations");
//!
//! let db = taulu::testing::TestDb::new(&MIGRATIONS).await?;
//! let pool = db.pool(); // a `taulu::Db` on this database, for code that takes one
//! # let _ = pool;
//! # Ok(()) }
//! ```
//!
//! The first `TestDb` of a migration set creates the template `taulu_tpl_<fingerprint>` (under a
//! server-side advisory lock, so parallel test processes build it once); every `TestDb` is then a
//! `CREATE DATABASE .. TEMPLATE ..`, which takes milliseconds. Each test database is dropped when
//! its `TestDb` is dropped.

use std::collections::HashSet;

use tokio_postgres::Client;

use crate::{
    client::{DatabaseUrl, Db, DbConfig, connect},
    error::Result,
    local::quote_ident,
    migrate::{Migrations, Migrator},
};

static SERVER: tokio::sync::OnceCell<DatabaseUrl> = tokio::sync::OnceCell::const_new();
static TEMPLATES: tokio::sync::Mutex<Option<HashSet<String>>> = tokio::sync::Mutex::const_new(None);

/// The server tests run on: `DATABASE_URL` if set (its role needs `CREATEDB`), else the local
/// cluster, started on first use. The URL names a database to connect to for administration.
pub async fn server() -> Result<DatabaseUrl> {
    SERVER.get_or_try_init(crate::local::server_url).await.cloned()
}

/// A database of its own for one test, dropped (with `FORCE`) when this value is dropped.
pub struct TestDb {
    name: String,
    server: DatabaseUrl,
    url: DatabaseUrl,
    client: Client,
}

impl TestDb {
    /// A fresh database with `migrations` applied (a [`taulu::migrations!`](crate::migrations!)
    /// static, or any [`Migrations`]).
    pub async fn new(migrations: &Migrations) -> Result<Self> {
        let server = server().await?;
        let template = ensure_template(&server, migrations).await?;
        Self::create(server, Some(&template)).await
    }

    /// A fresh database with `migrations` applied on `server` (a URL naming a database to connect
    /// to for administration), instead of [`server()`]: for tests that run a server of their own
    /// (a primary with a standby, a cluster they restart).
    pub async fn on(server: &DatabaseUrl, migrations: &Migrations) -> Result<Self> {
        let template = ensure_template(server, migrations).await?;
        Self::create(server.clone(), Some(&template)).await
    }

    /// A fresh, empty database (for testing migrations themselves).
    pub async fn empty() -> Result<Self> {
        Self::create(server().await?, None).await
    }

    async fn create(server: DatabaseUrl, template: Option<&str>) -> Result<Self> {
        let name = format!("taulu_test_{}", random_hex());
        let admin = connect(&server).await?;
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&name), quote_ident(t)),
            None => format!("CREATE DATABASE {}", quote_ident(&name)),
        };
        admin.batch_execute(&sql).await?;
        let url = server.with_dbname(&name);
        let client = connect(&url).await?;
        Ok(TestDb { name, server, url, client })
    }

    /// A connection to this database, opened when the `TestDb` was made.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The URL of this database (with the server's credentials).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A pool on this database with the default settings ([`Db`] connects lazily).
    pub fn pool(&self) -> Db {
        Db::new(DbConfig::new(self.url.clone()))
    }

    /// Opens another connection to this database.
    pub async fn connect(&self) -> Result<Client> {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // No async drop: drop the database from a helper thread with its own small runtime, and
        // wait for it, so test databases do not pile up. Errors are ignored: the cluster is
        // throwaway and a leftover database harms nothing.
        //
        // The wait is bounded: a connection a pool was still opening on the test's runtime (which
        // this blocks) sits in authentication on the server, where it takes no part in the
        // barrier DROP DATABASE waits for, until `authentication_timeout` (60 s). Past the bound
        // the drop finishes in the background, once the runtime has closed that connection.
        let server = self.server.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&self.name));
        let (done, dropped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dropped = (|| {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let admin = connect(&server).await.ok()?;
                    admin.batch_execute(&sql).await.ok()
                })
            })();
            let _ = done.send(dropped);
        });
        let _ = dropped.recv_timeout(std::time::Duration::from_secs(2));
    }
}

/// What `#[taulu::test]` expands to: a current-thread runtime (as `#[tokio::test]` makes), a
/// fresh database, the test.
#[doc(hidden)]
pub fn __run<F: std::future::Future>(migrations: &Migrations, test: impl FnOnce(TestDb) -> F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("#[taulu::test]: cannot start a tokio runtime: {e}"));
    runtime.block_on(async {
        let db = TestDb::new(migrations).await.unwrap_or_else(|e| panic!("#[taulu::test]: no test database: {e}"));
        test(db).await
    })
}

/// Creates (once per server and migration set) a template database with `migrations` applied.
async fn ensure_template(server: &DatabaseUrl, migrations: &Migrations) -> Result<String> {
    let name = format!("taulu_tpl_{}", migrations.fingerprint());
    // Per server: a test may run servers of its own next to the shared one.
    let key = format!("{server}/{name}");
    let mut ready = TEMPLATES.lock().await;
    if ready.get_or_insert_with(HashSet::new).contains(&key) {
        return Ok(name);
    }
    let admin = connect(server).await?;
    let lock: i64 = 0x7461_756c_755f_7470; // "taulu_tp"
    admin.execute("SELECT pg_advisory_lock($1)", &[&lock]).await?;
    let built = build_template(&admin, server, &name, migrations).await;
    admin.execute("SELECT pg_advisory_unlock($1)", &[&lock]).await?;
    built?;
    ready.get_or_insert_with(HashSet::new).insert(key);
    Ok(name)
}

async fn build_template(admin: &Client, server: &DatabaseUrl, name: &str, migrations: &Migrations) -> Result<()> {
    let state: Option<bool> =
        admin.query_opt("SELECT datistemplate FROM pg_database WHERE datname = $1", &[&name]).await?.map(|r| r.get(0));
    match state {
        Some(true) => return Ok(()),
        // Left half-built by a process that died: start over.
        Some(false) => admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", quote_ident(name))).await?,
        None => {}
    }
    admin.batch_execute(&format!("CREATE DATABASE {}", quote_ident(name))).await?;
    {
        let client = connect(&server.with_dbname(name)).await?;
        Migrator::new(migrations).up(&client, None).await?;
    }
    // CREATE DATABASE .. TEMPLATE refuses a template with open sessions: wait until the backend
    // of the connection just closed has exited (bounded; it exits within milliseconds).
    for _ in 0..500 {
        let open: i64 =
            admin.query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", &[&name]).await?.get(0);
        if open == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    admin.batch_execute(&format!("ALTER DATABASE {} WITH IS_TEMPLATE true", quote_ident(name))).await?;
    Ok(())
}

fn random_hex() -> String {
    use rand::RngExt as _;
    format!("{:016x}", rand::rng().random::<u64>())
}

/// A TCP proxy in front of a server, for fault-injection tests: forwards connections, or refuses
/// them (accept and close at once), can reset every connection it carries, can reset new
/// connections as soon as the server has accepted them (a bouncer or server stopping just after a
/// client got in), and can freeze (accept connections and hold every byte, in both directions, as
/// a server that stopped would). Loopback only.
pub struct FaultProxy {
    port: u16,
    refuse: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut_when_ready: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    generation: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    frozen: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `target` (`host:port`) on a free loopback port.
    pub async fn start(target: std::net::SocketAddr) -> std::io::Result<Self> {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let refuse = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let generation = std::sync::Arc::new(tokio::sync::watch::channel(0u64).0);
        let frozen = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
        let cut_when_ready = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (r, g, f, c) = (refuse.clone(), generation.clone(), frozen.clone(), cut_when_ready.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let cut = c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
                let (mut reset, up, down) = (g.subscribe(), f.subscribe(), f.subscribe());
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                    let ready = tokio::sync::Notify::new();
                    let cut = {
                        let ((mut from_client, mut to_client), (mut from_server, mut to_server)) =
                            (inbound.split(), outbound.split());
                        let both = async {
                            tokio::join!(
                                pump(&mut from_client, &mut to_server, up, None),
                                pump(&mut from_server, &mut to_client, down, cut.then_some(&ready))
                            )
                        };
                        tokio::select! {
                            _ = both => false,
                            _ = reset.changed() => true,
                            () = ready.notified(), if cut => true,
                        }
                    };
                    if cut {
                        // Abortive close (RST) on both sides, like a crashed network path.
                        let _ = inbound.set_zero_linger();
                        let _ = outbound.set_zero_linger();
                    }
                });
            }
        });
        Ok(FaultProxy { port, refuse, cut_when_ready, generation, frozen, task })
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Refuse (true) or forward (false) new connections.
    pub fn set_refusing(&self, refuse: bool) {
        self.refuse.store(refuse, std::sync::atomic::Ordering::SeqCst);
    }

    /// Resets each of the next `n` connections as soon as the server has said it is ready for
    /// queries (its first ReadyForQuery is passed on, then the connection is reset): the client
    /// got in, and lost the connection before its first statement.
    pub fn cut_when_ready(&self, n: usize) {
        self.cut_when_ready.store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many of the connections [`cut_when_ready`](Self::cut_when_ready) asked for are still to
    /// come.
    pub fn cuts_left(&self) -> usize {
        self.cut_when_ready.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Resets every connection currently proxied.
    pub fn reset_all(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Freeze (true): connections stay open and new ones are accepted, but nothing is passed on
    /// in either direction until thawed (false), like a server that is stopped (`SIGSTOP`) or a
    /// network path that drops every packet.
    pub fn set_frozen(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }
}

/// Copies `from` to `to` while not frozen (bytes read as it freezes are held until it thaws);
/// ends at end of stream, passing it on. With `ready`, the server's side of a connection: once
/// the first ReadyForQuery (`Z`, length 5, idle) has been passed on, `ready` is notified and the
/// copying stops.
async fn pump(
    from: &mut (impl tokio::io::AsyncRead + Unpin),
    to: &mut (impl tokio::io::AsyncWrite + Unpin),
    mut frozen: tokio::sync::watch::Receiver<bool>,
    ready: Option<&tokio::sync::Notify>,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    const READY_FOR_QUERY: &[u8] = b"Z\0\0\0\x05I";
    let mut buf = vec![0u8; 16 * 1024];
    // The end of what was passed on, so a message split between reads is still seen.
    let mut seen: Vec<u8> = Vec::new();
    loop {
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return;
                }
                Ok(n) => n,
            },
            _ = frozen.changed() => continue,
        };
        if frozen.wait_for(|f| !*f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        if let Some(ready) = ready {
            seen.extend_from_slice(&buf[..n]);
            if seen.windows(READY_FOR_QUERY.len()).any(|w| w == READY_FOR_QUERY) {
                let _ = to.flush().await;
                ready.notify_one();
                return std::future::pending().await;
            }
            seen.drain(..seen.len().saturating_sub(READY_FOR_QUERY.len() - 1));
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Captures every `tracing` event emitted on the current thread, at TRACE, and every span's close, as text: for tests that
/// check what is (and is not) logged. Runs `f` with the capture installed and returns its output
/// and the log.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let ((), log) = taulu::testing::capture_logs(async || tracing::info!("hello")).await;
/// assert!(log.contains("hello"));
/// # });
/// ```
pub async fn capture_logs<T>(f: impl AsyncFnOnce() -> T) -> (T, String) {
    let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        // A span's close line shows its fields, those recorded at its end too (a statement's
        // `error.type`).
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || LogSink(sink.clone()))
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let out = f().await;
    drop(guard);
    let text = String::from_utf8_lossy(&buf.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned();
    (out, text)
}

struct LogSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Confirms what `sql!` inferred: PREPAREs each statement on `client` (nothing runs) and compares
/// PostgreSQL's parameter types, column names and column types with the macro's. Every
/// difference is reported, each with its statement and where it was written. (PostgreSQL does not
/// report nullability; that stays the macro's word.)
///
/// ```no_run
/// # async fn f() -> taulu::Result<()> {
/// # use taulu_app::MIGRATIONS;
/// let db = taulu::testing::TestDb::new(&MIGRATIONS).await?;
/// let statements = taulu::sql_statements!("../migrations", "src");
/// if let Err(differences) = taulu::testing::check_sql(db.client(), statements).await {
///     panic!("{differences}");
/// }
/// # Ok(()) }
/// ```
pub async fn check_sql(client: &Client, statements: &[crate::query::SqlShape]) -> std::result::Result<(), String> {
    let mut report = String::new();
    for s in statements {
        let mut diffs = Vec::new();
        match client.prepare(s.sql).await {
            Err(e) => diffs.push(format!("PostgreSQL refuses it: {}", crate::Error::Db(e))),
            Ok(stmt) => {
                let params: Vec<&str> = stmt.params().iter().map(|t| t.name()).collect();
                if params != s.params {
                    diffs.push(format!("parameters: sql! inferred {:?}, PostgreSQL says {params:?}", s.params));
                }
                let columns: Vec<(&str, &str)> = stmt.columns().iter().map(|c| (c.name(), c.type_().name())).collect();
                let inferred: Vec<(&str, &str)> = s.columns.iter().map(|&(n, t, _)| (n, t)).collect();
                if columns != inferred {
                    diffs.push(format!("columns: sql! inferred {inferred:?}, PostgreSQL says {columns:?}"));
                }
            }
        }
        if !diffs.is_empty() {
            report.push_str(&format!("{}: {}\n  {}\n", s.origin, s.sql, diffs.join("\n  ")));
        }
    }
    if report.is_empty() { Ok(()) } else { Err(report) }
}
