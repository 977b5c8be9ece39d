//! A pg_auto_failover formation on this machine, for tests of automatic failover: a monitor and
//! two data nodes with synchronous replication, each run by its own `pg_autoctl` as the
//! `postgres` OS user (Debian's `postgresql-15-auto-failover`). The monitor detects a dead
//! primary, promotes the standby, and brings the old primary back as a standby.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{HOST, Runner, SUPERUSER, chown_to_postgres, find_bindir, find_program, free_port, output_text, path_str};
use crate::{
    client::DatabaseUrl,
    error::{Error, Result},
};

/// A node's state as the monitor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    /// Which node (0 or 1, in [`LocalFormation::node_url`]'s numbering).
    pub node: usize,
    /// The state the node last reported (`primary`, `secondary`, `wait_primary`, `demoted`,
    /// `catchingup`, ..).
    pub reported: String,
    /// The state the monitor assigned it.
    pub assigned: String,
}

/// A running pg_auto_failover formation: a monitor and two data nodes on 127.0.0.1, trust
/// authentication, the superuser `postgres`. Dropping it stops every process and removes its
/// directory.
///
/// ```no_run
/// let formation = taulu::local::LocalFormation::start()?;
/// let url = formation.url("postgres"); // both nodes; the client takes the one that accepts writes
/// let killed = formation.kill_primary()?; // the monitor promotes the other node
/// # let _ = (url, killed);
/// # Ok::<(), taulu::Error>(())
/// ```
#[derive(Debug)]
pub struct LocalFormation {
    dir: PathBuf,
    monitor_port: u16,
    ports: [u16; 2],
    /// Each node's `pg_autoctl` (by name: `monitor`, `node_0`, `node_1`), in a process group of
    /// its own.
    keepers: Mutex<Vec<(String, Child)>>,
}

impl LocalFormation {
    /// Creates and starts a formation in a fresh directory under the system's temporary
    /// directory, and returns once one node is primary and the other a secondary. `pg_autoctl` is
    /// found on `PATH` or in `/usr/bin`.
    pub fn start() -> Result<Self> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("taulu-formation-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        let runner = Runner::new()?;
        if runner.as_root {
            chown_to_postgres(&dir)?;
        }
        let formation = LocalFormation {
            monitor_port: free_port()?,
            ports: [free_port()?, free_port()?],
            dir,
            keepers: Mutex::new(Vec::new()),
        };
        // The real server directory (pg_autoctl runs pg_controldata and friends next to pg_ctl).
        let pg_ctl = find_bindir()?.join("pg_ctl");
        let pg_ctl = fs::canonicalize(&pg_ctl).map_err(|e| Error::io(format!("resolve {}", pg_ctl.display()), e))?;
        let pg_ctl = path_str(&pg_ctl)?.to_owned();
        let monitor = formation.dir.join("monitor");
        let port = formation.monitor_port.to_string();
        formation.keep(
            "monitor",
            &["create", "monitor", "--pgdata", path_str(&monitor)?, "--pgport", &port, "--pgctl", &pg_ctl],
        )?;
        // Asked before `create` has made its files, `show state` makes the configuration
        // directory itself and `create` then fails: wait for the monitor to listen first.
        formation.wait_for("the monitor to listen", Duration::from_secs(60), |f| {
            Ok(std::net::TcpStream::connect((HOST, f.monitor_port)).is_ok())
        })?;
        formation.wait_for("the monitor to answer", Duration::from_secs(60), |f| Ok(f.state().is_ok()))?;
        let monitor_url = format!("postgres://autoctl_node@{HOST}:{port}/pg_auto_failover?sslmode=disable");
        for (i, port) in formation.ports.iter().enumerate() {
            let data = formation.node_dir(i);
            let port = port.to_string();
            let name = format!("node_{i}");
            formation.keep(
                &name,
                &[
                    "create",
                    "postgres",
                    "--pgdata",
                    path_str(&data)?,
                    "--pgport",
                    &port,
                    "--pgctl",
                    &pg_ctl,
                    "--name",
                    &name,
                    "--monitor",
                    &monitor_url,
                ],
            )?;
            // The first node becomes the primary before the second registers: a fixed role for
            // each at the start.
            if i == 0 {
                formation.wait_for("node_0 to be primary", Duration::from_secs(60), |f| {
                    Ok(f.state()?.iter().any(|s| s.node == 0 && s.reported == "single"))
                })?;
            }
        }
        formation.wait_for("a primary and a secondary", Duration::from_secs(120), |f| f.settled())?;
        Ok(formation)
    }

    /// Starts `pg_autoctl <args> --run` for one node as a child process, its output in
    /// `<name>.log`.
    fn keep(&self, name: &str, args: &[&str]) -> Result<()> {
        let mut all = args.to_vec();
        all.extend(["--hostname", HOST, "--auth", "trust", "--no-ssl", "--run"]);
        self.spawn(name, &all)
    }

    /// Starts `pg_autoctl <args>` for one node as a child process in a process group of its own
    /// (so the node can be killed whole), its output appended to `<name>.log`.
    fn spawn(&self, name: &str, args: &[&str]) -> Result<()> {
        use std::os::unix::process::CommandExt as _;
        let runner = Runner::new()?;
        let log_path = self.dir.join(format!("{name}.log"));
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("open {}", log_path.display()), e))?;
        let err = log.try_clone().map_err(|e| Error::io("clone a log file", e))?;
        let child = self
            .autoctl(&runner, args)?
            .current_dir(&self.dir)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::io("run pg_autoctl", e))?;
        self.keepers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((name.to_owned(), child));
        Ok(())
    }

    /// `pg_autoctl <args>` as the `postgres` OS user, its configuration and state files inside
    /// the formation's directory (not in the user's home, where they would outlive it).
    fn autoctl(&self, runner: &Runner, args: &[&str]) -> Result<std::process::Command> {
        let mut cmd = runner.command(&pg_autoctl()?, args);
        cmd.env("XDG_CONFIG_HOME", self.dir.join("config")).env("XDG_DATA_HOME", self.dir.join("state"));
        Ok(cmd)
    }

    fn run(&self, args: &[&str]) -> Result<std::process::Output> {
        let runner = Runner::new()?;
        self.autoctl(&runner, args)?.stdin(Stdio::null()).output().map_err(|e| Error::io("run pg_autoctl", e))
    }

    fn node_dir(&self, node: usize) -> PathBuf {
        self.dir.join(format!("node{node}"))
    }

    /// Every data node's state, from the monitor (`pg_autoctl show state --json`).
    pub fn state(&self) -> Result<Vec<NodeState>> {
        let monitor = self.dir.join("monitor");
        let out = self.run(&["show", "state", "--pgdata", path_str(&monitor)?, "--json"])?;
        if !out.status.success() {
            return Err(Error::local(format!("pg_autoctl show state failed: {}", output_text(&out))));
        }
        let nodes: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
            .map_err(|e| Error::local(format!("pg_autoctl show state: {e}: {}", output_text(&out))))?;
        Ok(nodes
            .iter()
            .filter_map(|n| {
                let port = n.get("nodeport")?.as_u64()?;
                Some(NodeState {
                    node: self.ports.iter().position(|p| u64::from(*p) == port)?,
                    reported: n.get("current_group_state")?.as_str()?.to_owned(),
                    assigned: n.get("assigned_group_state")?.as_str()?.to_owned(),
                })
            })
            .collect())
    }

    /// Whether one node is primary and the other secondary, both as assigned.
    pub fn settled(&self) -> Result<bool> {
        let state = self.state()?;
        let is = |role: &str| state.iter().filter(|s| s.reported == role && s.assigned == role).count() == 1;
        Ok(state.len() == 2 && is("primary") && is("secondary"))
    }

    /// The node that is primary now, if one is: assigned the role by the monitor and reporting it
    /// (a dead primary's last report stays "primary" until it comes back).
    pub fn primary(&self) -> Result<Option<usize>> {
        let is_primary =
            |s: &NodeState| matches!(s.assigned.as_str(), "primary" | "wait_primary") && s.reported == s.assigned;
        Ok(self.state()?.iter().find(|s| is_primary(s)).map(|s| s.node))
    }

    /// Polls `done` every 100 ms until it says so, or fails after `limit` naming `what`.
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Self) -> Result<bool>) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if done(self).unwrap_or(false) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let logs: String = ["monitor", "node_0", "node_1"]
                    .iter()
                    .map(|n| {
                        let log = fs::read_to_string(self.dir.join(format!("{n}.log"))).unwrap_or_default();
                        let tail: Vec<&str> = log.lines().rev().take(15).collect();
                        format!("--- {n}.log (last lines, newest first)\n{}\n", tail.join("\n"))
                    })
                    .collect();
                return Err(Error::local(format!(
                    "pg_auto_failover: no {what} within {} s (state: {:?})\n{logs}",
                    limit.as_secs(),
                    self.state()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A URL listing both nodes with `target_session_attrs=read-write`: a connection goes to
    /// whichever accepts writes, as a service behind this formation would configure it.
    pub fn url(&self, dbname: &str) -> DatabaseUrl {
        format!(
            "postgres://{SUPERUSER}@{HOST}:{},{HOST}:{}/{dbname}?target_session_attrs=read-write",
            self.ports[0], self.ports[1]
        )
        .parse()
        .expect("a valid URL")
    }

    /// A URL for one node (0 or 1), whatever its role.
    pub fn node_url(&self, node: usize, dbname: &str) -> DatabaseUrl {
        format!("postgres://{SUPERUSER}@{HOST}:{}/{dbname}", self.ports[node]).parse().expect("a valid URL")
    }

    /// Kills the primary's node with `SIGKILL`, as when its machine dies: the postmaster (a crash:
    /// no shutdown, no checkpoint) and its `pg_autoctl` (which would otherwise restart it in
    /// place). Returns which node it was; the monitor then promotes the other one. The node
    /// stays down until [`revive`](Self::revive).
    pub fn kill_primary(&self) -> Result<usize> {
        let node = self.primary()?.ok_or_else(|| Error::local("the formation has no primary"))?;
        let pid_file = self.node_dir(node).join("postmaster.pid");
        let text = fs::read_to_string(&pid_file).map_err(|e| Error::io(format!("read {}", pid_file.display()), e))?;
        let postmaster = text.lines().next().unwrap_or_default().trim().to_owned();
        let name = format!("node_{node}");
        let mut keepers = self.keepers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut targets = vec![postmaster];
        for (_, child) in keepers.iter().filter(|(n, _)| *n == name) {
            targets.push(format!("-{}", child.id()));
        }
        for target in &targets {
            // As ourselves, not as `postgres`: the group's leader is `runuser` when we are root.
            let out = std::process::Command::new("kill")
                .args(["-KILL", "--", target])
                .output()
                .map_err(|e| Error::io("run kill", e))?;
            // The postmaster may be gone already; the node's `pg_autoctl` group must go.
            if !out.status.success() && target.starts_with('-') {
                return Err(Error::local(format!("kill -KILL -- {target} failed: {}", output_text(&out))));
            }
        }
        for (_, child) in keepers.iter_mut().filter(|(n, _)| *n == name) {
            let _ = child.wait();
        }
        keepers.retain(|(n, _)| *n != name);
        Ok(node)
    }

    /// Starts a killed node's `pg_autoctl` again (`pg_autoctl run`): it rejoins the formation as
    /// a standby of the node promoted meanwhile.
    pub fn revive(&self, node: usize) -> Result<()> {
        let data = self.node_dir(node);
        self.spawn(&format!("node_{node}"), &["run", "--pgdata", path_str(&data)?])
    }

    /// A planned switchover (`pg_autoctl perform switchover`): the primary is demoted and the
    /// standby promoted. Returns once it is done.
    pub fn switchover(&self) -> Result<()> {
        let monitor = self.dir.join("monitor");
        let out = self.run(&["perform", "switchover", "--pgdata", path_str(&monitor)?])?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::local(format!("pg_autoctl perform switchover failed: {}", output_text(&out))))
        }
    }

    /// Its directory: the monitor's and the nodes' data, and each `pg_autoctl`'s log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for LocalFormation {
    fn drop(&mut self) {
        for name in ["node0", "node1", "monitor"] {
            if let Ok(data) = path_str(&self.dir.join(name)) {
                let _ = self.run(&["stop", "--pgdata", data, "--immediate"]);
            }
        }
        let mut keepers = self.keepers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (_, child) in keepers.iter_mut() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `pg_autoctl`: on `PATH`, else `/usr/bin/pg_autoctl` (Debian's package).
fn pg_autoctl() -> Result<PathBuf> {
    find_program("pg_autoctl", &["/usr/bin/pg_autoctl"]).ok_or_else(|| {
        Error::local(
            "pg_autoctl was not found: install pg_auto_failover (Debian: `apt-get install postgresql-15-auto-failover`)",
        )
    })
}
