//! The self-started local PostgreSQL: a throwaway cluster in a project-local directory, used by the
//! CLI and the tests when `DATABASE_URL` is unset. Process management only: it knows nothing of
//! migrations or queries.
//!
//! Layout of the cluster directory (default `target/taulu-pg`, override with `TAULU_PG_DIR`):
//!
//! | path       | what                                                        |
//! |------------|-------------------------------------------------------------|
//! | `data/`    | the cluster (`PGDATA`), owned by the `postgres` user as root |
//! | `sock/`    | the private Unix socket directory (under the temp dir if the path is too long) |
//! | `password` | the generated superuser password (mode 0600)                |
//! | `server.log` | the server's log                                          |
//! | `lock`     | serialises concurrent starts (several test binaries at once) |
//!
//! The server listens on 127.0.0.1 only, on a free port chosen at start, with password
//! (SCRAM) authentication for TCP. It is tuned for tests (`fsync = off`): never keep data there
//! that you want back.

use std::{
    fs,
    io::{Read as _, Write as _},
    net::TcpListener,
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::{
    client::DatabaseUrl,
    error::{Error, Result},
};

mod formation;
mod pgbouncer;

pub use formation::{LocalFormation, NodeState};
pub use pgbouncer::LocalPgBouncer;

/// Environment variable that overrides the cluster directory.
pub const TAULU_PG_DIR: &str = "TAULU_PG_DIR";
/// Environment variable that overrides where the PostgreSQL server binaries are searched.
pub const TAULU_PG_BINDIR: &str = "TAULU_PG_BINDIR";

const SUPERUSER: &str = "postgres";
const HOST: &str = "127.0.0.1";

/// A running local cluster.
///
/// ```no_run
/// let cluster = taulu::LocalCluster::ensure()?;       // starts it, or reuses a running one
/// let url = cluster.url("postgres");
/// println!("psql '{}'", url.to_url_with_password());
/// # Ok::<(), taulu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LocalCluster {
    dir: PathBuf,
    port: u16,
    password: String,
}

impl LocalCluster {
    /// The cluster directory: `$TAULU_PG_DIR`, else `taulu-pg` inside the Cargo `target`
    /// directory this executable was built in, else `./target/taulu-pg`.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os(TAULU_PG_DIR).filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(target) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
            return absolute(Path::new(&target)).join("taulu-pg");
        }
        let from_exe = std::env::current_exe().ok().and_then(|exe| {
            exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "target")).map(Path::to_path_buf)
        });
        match from_exe {
            Some(target) => target.join("taulu-pg"),
            None => absolute(Path::new("target")).join("taulu-pg"),
        }
    }

    /// Starts the cluster in [`LocalCluster::default_dir`], or reuses it if it is running.
    pub fn ensure() -> Result<Self> {
        Self::ensure_in(&Self::default_dir())
    }

    /// Starts the cluster in `dir` (creating it with `initdb` on first use), or reuses it if it is
    /// already running. Safe to call from several processes at once.
    pub fn ensure_in(dir: &Path) -> Result<Self> {
        let dir = usable_dir(&absolute(dir))?;
        let _lock = DirLock::acquire(&dir)?;
        let bindir = find_bindir()?;
        let runner = Runner::new()?;
        if !dir.join("data").join("PG_VERSION").exists() {
            init_cluster(&dir, &bindir, &runner)?;
        }
        let password = read_password(&dir)?;
        let port = match running_port(&dir, &bindir, &runner)? {
            Some(port) => {
                tracing::debug!(target: "taulu::local", dir = %dir.display(), port, "reusing running local PostgreSQL");
                port
            }
            None => start_cluster(&dir, &bindir, &runner)?,
        };
        Ok(LocalCluster { dir, port, password })
    }

    /// The cluster if it is running, without starting it.
    pub fn running_in(dir: &Path) -> Result<Option<Self>> {
        let dir = resolved_dir(&absolute(dir));
        if !dir.join("data").join("PG_VERSION").exists() {
            return Ok(None);
        }
        let bindir = find_bindir()?;
        let runner = Runner::new()?;
        match running_port(&dir, &bindir, &runner)? {
            Some(port) => Ok(Some(LocalCluster { password: read_password(&dir)?, dir, port })),
            None => Ok(None),
        }
    }

    /// Stops the cluster in `dir` if it runs. Returns whether it was running.
    pub fn stop_in(dir: &Path) -> Result<bool> {
        let dir = resolved_dir(&absolute(dir));
        if !dir.join("data").join("PG_VERSION").exists() {
            return Ok(false);
        }
        let _lock = DirLock::acquire(&dir)?;
        LocalPgBouncer::stop_all(&dir);
        let bindir = find_bindir()?;
        let runner = Runner::new()?;
        if running_port(&dir, &bindir, &runner)?.is_none() {
            return Ok(false);
        }
        let data = dir.join("data");
        let out = runner.run(&bindir.join("pg_ctl"), &["stop", "-D", path_str(&data)?, "-m", "fast", "-w"])?;
        if !out.status.success() {
            return Err(Error::local(format!("pg_ctl stop failed: {}", output_text(&out))));
        }
        tracing::info!(target: "taulu::local", dir = %dir.display(), "stopped local PostgreSQL");
        Ok(true)
    }

    /// Restarts the server (`pg_ctl restart -m fast`): every session is terminated, the port stays.
    /// For fault-injection tests.
    pub fn restart(&self) -> Result<()> {
        let _lock = DirLock::acquire(&self.dir)?;
        let bindir = find_bindir()?;
        let runner = Runner::new()?;
        let data = self.dir.join("data");
        let log = self.dir.join("server.log");
        let out = runner.run(
            &bindir.join("pg_ctl"),
            &["restart", "-D", path_str(&data)?, "-m", "fast", "-w", "-t", "60", "-l", path_str(&log)?],
        )?;
        if !out.status.success() {
            return Err(Error::local(format!("pg_ctl restart failed: {}", output_text(&out))));
        }
        tracing::info!(target: "taulu::local", dir = %self.dir.display(), "restarted local PostgreSQL");
        Ok(())
    }

    /// Stops the server (fast shutdown: sessions are terminated), keeps it down for `downtime`,
    /// and starts it again on the same port: a slow restart, for fault tests.
    pub fn restart_after(&self, downtime: std::time::Duration) -> Result<()> {
        let _lock = DirLock::acquire(&self.dir)?;
        let bindir = find_bindir()?;
        let runner = Runner::new()?;
        let data = self.dir.join("data");
        let log = self.dir.join("server.log");
        let out =
            runner.run(&bindir.join("pg_ctl"), &["stop", "-D", path_str(&data)?, "-m", "fast", "-w", "-t", "60"])?;
        if !out.status.success() {
            return Err(Error::local(format!("pg_ctl stop failed: {}", output_text(&out))));
        }
        std::thread::sleep(downtime);
        let port = format!("-p {}", self.port);
        let out = runner.run(
            &bindir.join("pg_ctl"),
            &["start", "-D", path_str(&data)?, "-l", path_str(&log)?, "-w", "-t", "60", "-o", &port],
        )?;
        if !out.status.success() {
            return Err(Error::local(format!("pg_ctl start failed: {}", output_text(&out))));
        }
        tracing::info!(target: "taulu::local", dir = %self.dir.display(), down_ms = downtime.as_millis() as u64, "restarted local PostgreSQL");
        Ok(())
    }

    /// A streaming standby of this cluster in `dir`: made on first use with `pg_basebackup -R`
    /// (a copy of every database, then WAL streamed from this cluster), started on a port of its
    /// own, or reused if it runs. It serves reads (`hot_standby`) and refuses writes until
    /// [`promote`](Self::promote)d. For replica and failover tests.
    ///
    /// ```no_run
    /// let primary = taulu::LocalCluster::ensure()?;
    /// let standby = primary.ensure_standby(&primary.dir().with_extension("standby"))?;
    /// println!("replica: {}", standby.url("postgres"));
    /// # Ok::<(), taulu::Error>(())
    /// ```
    pub fn ensure_standby(&self, dir: &Path) -> Result<LocalCluster> {
        let dir = usable_dir(&absolute(dir))?;
        let _lock = DirLock::acquire(&dir)?;
        let bindir = find_bindir()?;
        let runner = Runner::new()?;
        if !dir.join("data").join("PG_VERSION").exists() {
            self.base_backup(&dir, &bindir, &runner)?;
        }
        let password = read_password(&dir)?;
        let port = match running_port(&dir, &bindir, &runner)? {
            Some(port) => port,
            None => start_cluster(&dir, &bindir, &runner)?,
        };
        Ok(LocalCluster { dir, port, password })
    }

    fn base_backup(&self, dir: &Path, bindir: &Path, runner: &Runner) -> Result<()> {
        let data = dir.join("data");
        if data.exists() {
            fs::remove_dir_all(&data).map_err(|e| Error::io(format!("remove {}", data.display()), e))?;
        }
        let sock = socket_dir(dir);
        fs::create_dir_all(&sock).map_err(|e| Error::io(format!("create {}", sock.display()), e))?;
        let pwfile = dir.join("password");
        fs::write(&pwfile, &self.password).map_err(|e| Error::io(format!("write {}", pwfile.display()), e))?;
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(format!("chmod {}", pwfile.display()), e))?;
        if runner.as_root {
            chown_to_postgres(&pwfile)?;
            chown_to_postgres(&sock)?;
        }
        tracing::info!(target: "taulu::local", dir = %dir.display(), primary = self.port, "making a streaming standby");
        let port = self.port.to_string();
        let mut cmd = runner.command(
            &server_tool(bindir, "pg_basebackup"),
            &["-D", path_str(&data)?, "-R", "-X", "stream", "-c", "fast", "-h", HOST, "-p", &port, "-U", SUPERUSER],
        );
        // -R writes the connection (password included) into the standby's settings.
        cmd.env("PGPASSWORD", &self.password).stdin(std::process::Stdio::null());
        let out = cmd.output().map_err(|e| Error::io("run pg_basebackup", e))?;
        if !out.status.success() {
            let _ = fs::remove_dir_all(&data);
            return Err(Error::local(format!("pg_basebackup failed: {}", output_text(&out))));
        }
        // The copied settings name the primary's socket directory: the standby gets its own.
        let conf = data.join("postgresql.conf");
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(|e| Error::io(format!("open {}", conf.display()), e))?;
        f.write_all(
            format!("\n# taulu: standby\nunix_socket_directories = '{}'\n", sock_dir_setting(&sock)).as_bytes(),
        )
        .map_err(|e| Error::io(format!("write {}", conf.display()), e))?;
        Ok(())
    }

    /// Promotes this standby to a primary (`pg_ctl promote -w`): it stops following its primary
    /// and accepts writes.
    pub fn promote(&self) -> Result<()> {
        let _lock = DirLock::acquire(&self.dir)?;
        let bindir = find_bindir()?;
        let runner = Runner::new()?;
        let out = runner.run(&bindir.join("pg_ctl"), &["promote", "-D", path_str(&self.dir.join("data"))?, "-w"])?;
        if !out.status.success() {
            return Err(Error::local(format!("pg_ctl promote failed: {}", output_text(&out))));
        }
        tracing::info!(target: "taulu::local", dir = %self.dir.display(), "promoted local standby");
        Ok(())
    }

    /// Stops this server (fast shutdown) and removes its directory: for clusters a test made for
    /// itself.
    pub fn destroy(&self) -> Result<()> {
        Self::stop_in(&self.dir)?;
        fs::remove_dir_all(&self.dir).map_err(|e| Error::io(format!("remove {}", self.dir.display()), e))
    }

    /// A URL for `dbname` on this cluster, as the superuser.
    pub fn url(&self, dbname: &str) -> DatabaseUrl {
        DatabaseUrl::from_parts(HOST, self.port, SUPERUSER, &self.password, dbname)
    }

    /// Turns on TLS with a throwaway CA and a server certificate for `localhost` / `127.0.0.1`
    /// (made with the `openssl` command), and reloads the server. Returns the CA certificate's
    /// path, for `PGSSLROOTCERT`. For tests and trying out TLS locally.
    pub fn enable_tls(&self) -> Result<PathBuf> {
        let _lock = DirLock::acquire(&self.dir)?;
        let runner = Runner::new()?;
        let tls = self.dir.join("tls");
        let ca = tls.join("ca.crt");
        if !ca.exists() {
            let _ = fs::remove_dir_all(&tls);
            fs::create_dir_all(&tls).map_err(|e| Error::io(format!("create {}", tls.display()), e))?;
            if runner.as_root {
                chown_to_postgres(&tls)?;
            }
            let ext = tls.join("server.ext");
            fs::write(
                &ext,
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
            )
            .map_err(|e| Error::io(format!("write {}", ext.display()), e))?;
            let p = |name: &str| tls.join(name).display().to_string();
            let steps: [Vec<String>; 3] = [
                [
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "30",
                    "-subj",
                    "/CN=taulu test CA",
                    "-keyout",
                ]
                .iter()
                .map(|s| s.to_string())
                .chain([p("ca.key"), "-out".into(), p("ca.crt")])
                .collect(),
                ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain([p("server.key"), "-out".into(), p("server.csr")])
                    .collect(),
                ["x509", "-req", "-days", "30", "-CAcreateserial", "-in"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain([p("server.csr"), "-CA".into(), p("ca.crt"), "-CAkey".into(), p("ca.key")])
                    .chain(["-extfile".into(), p("server.ext"), "-out".into(), p("server.crt")])
                    .collect(),
            ];
            for args in &steps {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = runner.run(Path::new("openssl"), &args)?;
                if !out.status.success() {
                    return Err(Error::local(format!("openssl {} failed: {}", args[0], output_text(&out))));
                }
            }
        }
        let conf = self.dir.join("data").join("postgresql.auto.conf");
        let settings = format!(
            "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            tls.join("server.crt").display(),
            tls.join("server.key").display()
        );
        let current = fs::read_to_string(&conf).unwrap_or_default();
        if !current.contains("ssl = on") {
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&conf)
                .map_err(|e| Error::io(format!("open {}", conf.display()), e))?;
            f.write_all(settings.as_bytes()).map_err(|e| Error::io(format!("write {}", conf.display()), e))?;
        }
        let bindir = find_bindir()?;
        let out = runner.run(&bindir.join("pg_ctl"), &["reload", "-D", path_str(&self.dir.join("data"))?])?;
        if !out.status.success() {
            return Err(Error::local(format!("pg_ctl reload failed: {}", output_text(&out))));
        }
        Ok(ca)
    }

    /// A URL for `dbname` over the private Unix socket, when the socket path fits the OS limit.
    pub fn socket_url(&self, dbname: &str) -> Option<DatabaseUrl> {
        let sock = self.socket_dir()?;
        Some(DatabaseUrl::from_parts(path_str(&sock).ok()?, self.port, SUPERUSER, &self.password, dbname))
    }

    /// The private Unix socket directory (for `psql -h` / `pgbench -h`), if the server has one.
    pub fn socket_dir(&self) -> Option<PathBuf> {
        let sock = socket_dir(&self.dir);
        (!sock_dir_setting(&sock).is_empty()).then_some(sock)
    }

    /// The password of the superuser (`postgres`), for handing to tools such as `pgbench`.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The server for administrative work: `DATABASE_URL` if set, else the local cluster's `postgres`
/// database (the cluster started on first use).
pub async fn server_url() -> Result<DatabaseUrl> {
    match DatabaseUrl::from_env()? {
        Some(url) => Ok(url),
        None => Ok(blocking(LocalCluster::ensure).await?.url("postgres")),
    }
}

/// An application's database: `DATABASE_URL` if set, else database `dbname` of the local cluster
/// (the cluster started and the database created on first use). What `cargo run` of a service
/// needs on a fresh machine.
pub async fn url_or_local(dbname: &str) -> Result<DatabaseUrl> {
    match DatabaseUrl::from_env()? {
        Some(url) => Ok(url),
        None => {
            let cluster = blocking(LocalCluster::ensure).await?;
            ensure_database(&cluster.url("postgres"), dbname).await?;
            Ok(cluster.url(dbname))
        }
    }
}

/// Runs blocking cluster work (initdb, pg_ctl) off the async runtime.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::Error::LocalPostgres { message: format!("background task failed: {e}") })?
}

/// Creates `name` on the server if it does not exist (idempotent under concurrency).
pub async fn ensure_database(server: &DatabaseUrl, name: &str) -> Result<()> {
    let admin = crate::client::connect(&server.with_dbname("postgres")).await?;
    let exists = admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if !exists {
        let sql = format!("CREATE DATABASE {}", quote_ident(name));
        if let Err(e) = admin.batch_execute(&sql).await {
            // Another process created it between our check and our CREATE: PostgreSQL says
            // 42P04 when that one had committed, or 23505 (on pg_database's name index) when both
            // were in flight at once. Either way the database is there now, or we say why not.
            use tokio_postgres::error::SqlState;
            let raced =
                e.code() == Some(&SqlState::DUPLICATE_DATABASE) || e.code() == Some(&SqlState::UNIQUE_VIOLATION);
            if !raced || admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_none() {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Quotes an identifier for PostgreSQL (`"` doubled).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Where a cluster for `dir` lives when `dir` itself cannot be used by the `postgres` user (a
/// parent directory it may not enter, as happens for checkouts under `/root`).
fn fallback_dir(dir: &Path) -> PathBuf {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("taulu-pg-{tag}"))
}

/// The directory actually holding the cluster for `dir`: `dir`, or its fallback if that is the
/// one in use.
fn resolved_dir(dir: &Path) -> PathBuf {
    let fallback = fallback_dir(dir);
    if !dir.join("data").exists() && fallback.join("data").exists() { fallback } else { dir.to_path_buf() }
}

/// Creates the cluster directory and makes sure the server's OS user can use it, falling back to
/// a directory under the system temp dir when it cannot.
fn usable_dir(dir: &Path) -> Result<PathBuf> {
    let runner = Runner::new()?;
    let resolved = resolved_dir(dir);
    for candidate in [resolved.clone(), fallback_dir(dir)] {
        fs::create_dir_all(&candidate).map_err(|e| Error::io(format!("create {}", candidate.display()), e))?;
        if runner.as_root {
            chown_to_postgres(&candidate)?;
            let ok =
                runner.run(Path::new("test"), &["-w", path_str(&candidate)?, "-a", "-x", path_str(&candidate)?])?;
            if !ok.status.success() {
                tracing::debug!(target: "taulu::local", dir = %candidate.display(), "the postgres user cannot use this directory; trying the fallback");
                continue;
            }
        }
        return Ok(candidate);
    }
    Err(Error::local(format!(
        "the `postgres` OS user can use neither {} nor {}; set {TAULU_PG_DIR} to a directory it can write",
        dir.display(),
        fallback_dir(dir).display()
    )))
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| Error::local(format!("path is not valid UTF-8: {}", p.display())))
}

/// Exclusive lock on `dir/lock` for the lifetime of the value (released on drop, or when the
/// process dies).
struct DirLock(fs::File);

impl DirLock {
    fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        file.lock().map_err(|e| Error::io(format!("lock {}", path.display()), e))?;
        Ok(DirLock(file))
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Runs server commands, as the `postgres` OS user when we are root (the server refuses root).
struct Runner {
    as_root: bool,
}

impl Runner {
    fn new() -> Result<Self> {
        let uid = fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
        Ok(Runner { as_root: uid == 0 })
    }

    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", SUPERUSER, "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(args);
        // The server must not inherit our locale quirks or a client's PG* settings.
        cmd.env_remove("PGDATA").env_remove("PGPORT").env_remove("PGHOST").env("LC_ALL", "C");
        cmd
    }

    fn run(&self, program: &Path, args: &[&str]) -> Result<Output> {
        let mut cmd = self.command(program, args);
        tracing::debug!(target: "taulu::local", ?cmd, "running");
        cmd.stdin(std::process::Stdio::null()).output().map_err(|e| Error::io(format!("run {}", program.display()), e))
    }
}

fn output_text(out: &Output) -> String {
    let mut s = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str(stdout.trim());
    }
    s
}

fn chown_to_postgres(path: &Path) -> Result<()> {
    let out =
        Command::new("chown").arg(format!("{SUPERUSER}:")).arg(path).output().map_err(|e| Error::io("run chown", e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::local(format!(
            "running as root, the server must run as the `{SUPERUSER}` OS user, but `chown {SUPERUSER}: {}` failed: {} \
             (create the user, or run as a normal user)",
            path.display(),
            output_text(&out)
        )))
    }
}

/// Finds the directory with `initdb`, `pg_ctl` and `postgres`: `$TAULU_PG_BINDIR`, else the
/// first `PATH` entry that has them, else `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(TAULU_PG_BINDIR).filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if has_server(&dir) {
            Ok(dir)
        } else {
            Err(Error::local(format!("{TAULU_PG_BINDIR}={} has no initdb/pg_ctl/postgres", dir.display())))
        };
    }
    search_bindir(std::env::var_os("PATH"), "pg_config", Path::new("/usr/lib/postgresql"))
}

/// Program `name` on `PATH`, else the first of `elsewhere` that exists (where Debian installs
/// it, for a `PATH` without `/usr/sbin`).
fn find_program(name: &str, elsewhere: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path.into_iter().chain(elsewhere.iter().map(PathBuf::from)).find(|p| p.is_file())
}

/// A server-side tool (`pg_basebackup`) next to the server binaries in `bindir`, or where those
/// binaries really live (`bindir` may hold only links to them), or on `PATH`.
fn server_tool(bindir: &Path, name: &str) -> PathBuf {
    let real = fs::canonicalize(bindir.join("initdb")).ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let on_path = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    [bindir.to_path_buf()]
        .into_iter()
        .chain(real)
        .chain(on_path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| bindir.join(name))
}

fn has_server(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file())
}

fn search_bindir(path: Option<std::ffi::OsString>, pg_config: &str, versions_root: &Path) -> Result<PathBuf> {
    if let Some(path) = path
        && let Some(dir) = std::env::split_paths(&path).find(|d| has_server(d))
    {
        return Ok(dir);
    }
    if let Ok(out) = Command::new(pg_config).arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(versions_root)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or(Error::PostgresNotInstalled)
}

fn read_password(dir: &Path) -> Result<String> {
    let path = dir.join("password");
    let mut s = String::new();
    fs::File::open(&path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    Ok(s.trim().to_owned())
}

fn init_cluster(dir: &Path, bindir: &Path, runner: &Runner) -> Result<()> {
    let data = dir.join("data");
    if data.exists() {
        // A half-made cluster from an interrupted initdb: start over.
        fs::remove_dir_all(&data).map_err(|e| Error::io(format!("remove {}", data.display()), e))?;
    }
    let sock = socket_dir(dir);
    fs::create_dir_all(&sock).map_err(|e| Error::io(format!("create {}", sock.display()), e))?;

    let password = random_password();
    let pwfile = dir.join("password");
    {
        let mut f = fs::File::create(&pwfile).map_err(|e| Error::io(format!("create {}", pwfile.display()), e))?;
        f.write_all(password.as_bytes()).map_err(|e| Error::io(format!("write {}", pwfile.display()), e))?;
    }
    fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("chmod {}", pwfile.display()), e))?;
    if runner.as_root {
        chown_to_postgres(&pwfile)?;
        chown_to_postgres(&sock)?;
    }

    tracing::info!(target: "taulu::local", dir = %dir.display(), bindir = %bindir.display(), "creating local PostgreSQL cluster");
    let out = runner.run(
        &bindir.join("initdb"),
        &[
            "-D",
            path_str(&data)?,
            "-U",
            SUPERUSER,
            "--pwfile",
            path_str(&pwfile)?,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
    )?;
    if !out.status.success() {
        let _ = fs::remove_dir_all(&data);
        return Err(Error::local(format!("initdb failed: {}", output_text(&out))));
    }

    // Throwaway tuning: durability is not wanted here, speed is.
    let settings = format!(
        "\n# taulu: throwaway local cluster for development and tests\n\
         listen_addresses = '{HOST}'\n\
         unix_socket_directories = '{}'\n\
         unix_socket_permissions = 0700\n\
         max_connections = 200\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n\
         log_min_messages = warning\n",
        sock_dir_setting(&sock)
    );
    let conf = data.join("postgresql.conf");
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .map_err(|e| Error::io(format!("open {}", conf.display()), e))?;
    f.write_all(settings.as_bytes()).map_err(|e| Error::io(format!("write {}", conf.display()), e))?;
    Ok(())
}

/// Unix socket paths are limited to ~107 bytes; when ours would be too long, listen on TCP only.
fn sock_dir_setting(sock: &Path) -> String {
    let path = sock.display().to_string();
    if path.len() + ".s.PGSQL.65535".len() < 100 { path.replace('\'', "''") } else { String::new() }
}

/// The private socket directory of the cluster in `dir`: `dir/sock`, or a short directory under
/// the system temp dir when that path would exceed the socket path limit.
fn socket_dir(dir: &Path) -> PathBuf {
    let sock = dir.join("sock");
    if sock_dir_setting(&sock).is_empty() {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
        let tag: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        std::env::temp_dir().join(format!("taulu-sock-{tag}"))
    } else {
        sock
    }
}

fn random_password() -> String {
    use rand::RngExt as _;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..32).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// The port of the running server, or `None` when it is not running.
fn running_port(dir: &Path, bindir: &Path, runner: &Runner) -> Result<Option<u16>> {
    let data = dir.join("data");
    let status = runner.run(&bindir.join("pg_ctl"), &["status", "-D", path_str(&data)?])?;
    if !status.status.success() {
        return Ok(None);
    }
    // postmaster.pid: pid, data dir, start time, port, socket dir, listen address, ...
    let pid_file = data.join("postmaster.pid");
    let text = fs::read_to_string(&pid_file).map_err(|e| Error::io(format!("read {}", pid_file.display()), e))?;
    let port = text
        .lines()
        .nth(3)
        .and_then(|l| l.trim().parse::<u16>().ok())
        .ok_or_else(|| Error::local(format!("cannot read the port from {}", pid_file.display())))?;
    Ok(Some(port))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((HOST, 0)).map_err(|e| Error::io("find a free port", e))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| Error::io("find a free port", e))
}

fn start_cluster(dir: &Path, bindir: &Path, runner: &Runner) -> Result<u16> {
    let data = dir.join("data");
    let log = dir.join("server.log");
    if runner.as_root && !log.exists() {
        fs::File::create(&log).map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        chown_to_postgres(&log)?;
    }
    let mut last = String::new();
    // The port is free when we look and could be taken before the server binds it: try again.
    for _ in 0..5 {
        let port = free_port()?;
        tracing::info!(target: "taulu::local", dir = %dir.display(), port, "starting local PostgreSQL");
        let out = runner.run(
            &bindir.join("pg_ctl"),
            &["start", "-D", path_str(&data)?, "-l", path_str(&log)?, "-w", "-t", "60", "-o", &format!("-p {port}")],
        )?;
        if out.status.success() {
            return Ok(port);
        }
        let log_tail = fs::read_to_string(&log)
            .map(|t| t.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        last = format!("{}\n{log_tail}", output_text(&out));
        if !log_tail.contains("could not bind") && !log_tail.contains("Address already in use") {
            break;
        }
    }
    Err(Error::local(format!("pg_ctl start failed in {}: {last}", dir.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("taulu-local-{tag}-{}", random_password()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fake_server(bin: &Path) {
        fs::create_dir_all(bin).unwrap();
        for b in ["initdb", "pg_ctl", "postgres"] {
            fs::write(bin.join(b), "").unwrap();
        }
    }

    #[test]
    fn a_missing_installation_is_a_clear_error() {
        let root = scratch("none");
        let err = search_bindir(None, "/nonexistent/pg_config", &root).unwrap_err();
        assert!(matches!(err, Error::PostgresNotInstalled));
        assert!(err.to_string().contains("apt-get install postgresql"), "{err}");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn the_newest_versioned_install_is_found_and_path_wins_over_it() {
        let root = scratch("versions");
        fake_server(&root.join("9/bin"));
        fake_server(&root.join("16/bin"));
        fs::create_dir_all(root.join("17/bin")).unwrap(); // client only: no server binaries
        assert_eq!(search_bindir(None, "/nonexistent/pg_config", &root).unwrap(), root.join("16/bin"));

        let on_path = root.join("custom");
        fake_server(&on_path);
        let path = std::env::join_paths([root.join("empty"), on_path.clone()]).unwrap();
        assert_eq!(search_bindir(Some(path), "/nonexistent/pg_config", &root).unwrap(), on_path);
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn long_socket_paths_move_to_the_temp_dir() {
        assert_eq!(sock_dir_setting(Path::new("/tmp/x/sock")), "/tmp/x/sock");
        assert_eq!(sock_dir_setting(&Path::new("/tmp").join("d".repeat(120))), "");
        let deep = Path::new("/tmp").join("d".repeat(120));
        let short = socket_dir(&deep);
        assert!(short.starts_with(std::env::temp_dir()) && !sock_dir_setting(&short).is_empty(), "{short:?}");
        assert_eq!(socket_dir(Path::new("/tmp/x")), Path::new("/tmp/x/sock"));
    }
}
