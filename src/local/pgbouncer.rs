//! A PgBouncer in front of a local cluster, for tests and for trying PgBouncer mode locally:
//! Debian's `pgbouncer` binary, started as the cluster's OS user in transaction pooling mode, with
//! its files in `<cluster dir>/pgbouncer/`.

use std::{
    fs,
    net::TcpStream,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use super::{
    DirLock, HOST, LocalCluster, Runner, SUPERUSER, chown_to_postgres, find_program, free_port, output_text, path_str,
};
use crate::{
    client::DatabaseUrl,
    error::{Error, Result},
};

/// A running PgBouncer in transaction pooling mode in front of a [`LocalCluster`]: every
/// database of the cluster, the cluster's superuser and password, and at most `pool_size`
/// server connections per database however many clients connect.
///
/// A [`Db`](crate::Db) through it needs the statement cache off
/// (`statement_cache_size = 0`): see [`guide::scaling_out`](crate::guide::scaling_out).
///
/// ```no_run
/// let cluster = taulu::LocalCluster::ensure()?;
/// let bouncer = taulu::local::LocalPgBouncer::ensure(&cluster, 2)?;
/// let url = bouncer.url("postgres"); // clients connect here
/// # Ok::<(), taulu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LocalPgBouncer {
    dir: PathBuf,
    port: u16,
    password: String,
}

impl LocalPgBouncer {
    /// Starts a PgBouncer for `cluster` with `pool_size` server connections per database and
    /// user, or reuses the one running with that pool size. `pgbouncer` is found on `PATH`, in
    /// `/usr/sbin` or `/usr/bin`.
    pub fn ensure(cluster: &LocalCluster, pool_size: u32) -> Result<Self> {
        let dir = cluster.dir().join(format!("pgbouncer-{pool_size}"));
        fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        let runner = Runner::new()?;
        if runner.as_root {
            chown_to_postgres(&dir)?;
        }
        let _lock = DirLock::acquire(&dir)?;
        if let Some(port) = running_port(&dir, cluster.port()) {
            return Ok(LocalPgBouncer { dir, port, password: cluster.password().to_owned() });
        }
        let binary = find_pgbouncer()?;
        let port = free_port()?;
        let userlist = dir.join("userlist.txt");
        fs::write(&userlist, format!("\"{SUPERUSER}\" \"{}\"\n", cluster.password()))
            .map_err(|e| Error::io(format!("write {}", userlist.display()), e))?;
        let ini = dir.join("pgbouncer.ini");
        let config = format!(
            "; taulu: PgBouncer for the local cluster on port {cluster_port}\n\
             [databases]\n\
             * = host={HOST} port={cluster_port}\n\
             [pgbouncer]\n\
             listen_addr = {HOST}\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = scram-sha-256\n\
             auth_file = {userlist}\n\
             pool_mode = transaction\n\
             default_pool_size = {pool_size}\n\
             max_client_conn = 1000\n\
             server_login_retry = 1\n\
             pidfile = {pid}\n\
             logfile = {log}\n\
             admin_users = {SUPERUSER}\n",
            cluster_port = cluster.port(),
            userlist = userlist.display(),
            pid = dir.join("pgbouncer.pid").display(),
            log = dir.join("pgbouncer.log").display(),
        );
        fs::write(&ini, config).map_err(|e| Error::io(format!("write {}", ini.display()), e))?;
        if runner.as_root {
            for f in [&userlist, &ini] {
                chown_to_postgres(f)?;
            }
        }
        let bouncer = LocalPgBouncer { dir, port, password: cluster.password().to_owned() };
        bouncer.start(&runner, &binary, cluster.port())?;
        Ok(bouncer)
    }

    /// Starts the daemon from its `pgbouncer.ini`, and waits until it listens.
    fn start(&self, runner: &Runner, binary: &Path, cluster_port: u16) -> Result<()> {
        let (dir, port) = (&self.dir, self.port);
        let _ = fs::remove_file(dir.join("pgbouncer.pid"));
        tracing::info!(target: "taulu::local", dir = %dir.display(), port, "starting PgBouncer");
        let out = runner.run(binary, &["-d", path_str(&dir.join("pgbouncer.ini"))?])?;
        if !out.status.success() {
            return Err(Error::local(format!("pgbouncer failed to start: {}", output_text(&out))));
        }
        // `-d` returns once it forked; wait for the listener, and for the pid file (the daemon
        // writes it after the socket is bound: a caller waiting on our lock must find it).
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((HOST, port)).is_err() || running_port(dir, cluster_port) != Some(port) {
            if Instant::now() > deadline {
                let log = fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
                return Err(Error::local(format!("pgbouncer did not listen on {HOST}:{port} within 10 s: {log}")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Restarts it as a deploy of the bouncer does: the running daemon is stopped at once
    /// (`SIGTERM`: every client and server connection closed, whatever was in flight), and after
    /// `down` a new one starts on the same port with the same settings. Returns once it listens
    /// again.
    pub fn restart(&self, cluster: &LocalCluster, down: Duration) -> Result<()> {
        let runner = Runner::new()?;
        let _lock = DirLock::acquire(&self.dir)?;
        if let Some(pid) = read_pid(&self.dir) {
            runner.run(Path::new("kill"), &["-TERM", &pid.to_string()])?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while alive(pid) {
                if Instant::now() > deadline {
                    return Err(Error::local(format!("pgbouncer (pid {pid}) did not stop within 10 s")));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        std::thread::sleep(down);
        self.start(&runner, &find_pgbouncer()?, cluster.port())
    }

    /// Reloads its configuration (`SIGHUP`), as `RELOAD` on its console does: connections stay.
    pub fn reload(&self) -> Result<()> {
        let pid = read_pid(&self.dir).ok_or_else(|| Error::local("pgbouncer is not running"))?;
        Runner::new()?.run(Path::new("kill"), &["-HUP", &pid.to_string()]).map(drop)
    }

    /// A URL for `dbname` through this PgBouncer, as the cluster's superuser.
    pub fn url(&self, dbname: &str) -> DatabaseUrl {
        DatabaseUrl::from_parts(HOST, self.port, SUPERUSER, &self.password, dbname)
    }

    /// Its directory: `pgbouncer.ini`, `pgbouncer.log`, `pgbouncer.pid`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The port PgBouncer listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops every PgBouncer started for the cluster in `cluster_dir` (they end with it).
    pub(super) fn stop_all(cluster_dir: &Path) {
        let Ok(entries) = fs::read_dir(cluster_dir) else { return };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("pgbouncer-")
                && let Some(pid) = read_pid(&entry.path())
            {
                let _ = Runner::new().and_then(|r| r.run(Path::new("kill"), &["-TERM", &pid.to_string()]));
            }
        }
    }
}

/// Whether process `pid` still runs. An exited daemon stays a zombie (state `Z`) until the init
/// process reaps it, which here took 1-2 s: waiting for its `/proc` entry to go stretched a 2 s
/// restart of PgBouncer to 4 s.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) state ..`: the state follows the last `)` (the name may hold one).
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()) != Some('Z'),
        Err(_) => false,
    }
}

fn read_pid(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join("pgbouncer.pid")).ok()?.trim().parse().ok()
}

/// The port of the PgBouncer running in `dir` for the cluster on `cluster_port`, if one runs.
fn running_port(dir: &Path, cluster_port: u16) -> Option<u16> {
    let pid = read_pid(dir)?;
    if !alive(pid) {
        return None;
    }
    let ini = fs::read_to_string(dir.join("pgbouncer.ini")).ok()?;
    // A cluster restarted on another port needs a new PgBouncer.
    if !ini.starts_with(&format!("; taulu: PgBouncer for the local cluster on port {cluster_port}\n")) {
        let _ = Runner::new().and_then(|r| r.run(Path::new("kill"), &["-TERM", &pid.to_string()]));
        return None;
    }
    let port = ini.lines().find_map(|l| l.strip_prefix("listen_port = "))?.trim().parse().ok()?;
    TcpStream::connect((HOST, port)).is_ok().then_some(port)
}

fn find_pgbouncer() -> Result<PathBuf> {
    find_program("pgbouncer", &["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"])
        .ok_or_else(|| Error::local("pgbouncer is not installed (Debian/Ubuntu: apt-get install pgbouncer)"))
}
