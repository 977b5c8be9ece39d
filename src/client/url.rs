//! Connection strings: parsing `DATABASE_URL` (URL or libpq `key=value` form) into a target that
//! prints without its password. Parses and formats; never connects.

use std::{fmt, str::FromStr, time::Duration};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use tokio_postgres::config::Host;

use crate::error::{Error, Result};

/// The environment variable read by [`DatabaseUrl::from_env`].
pub const DATABASE_URL: &str = "DATABASE_URL";

/// How long [`connect`](crate::connect) waits for a server when the URL sets no
/// `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What stays unencoded in a user name, password or database name of a URL we write: RFC 3986's
/// unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A parsed connection string (URL `postgres://user:pass@host:port/db?...` or libpq key=value
/// form).
///
/// `Display` and `Debug` show `user@host:port/dbname` and never the password, so a `DatabaseUrl`
/// is safe to log. Like libpq and browsers, the user information of a URL ends at the **last**
/// `@` before the host, so a password with an unencoded `@` is still a password:
///
/// ```
/// use taulu::DatabaseUrl;
/// let url: DatabaseUrl = "postgres://app:s3cret@db.internal:5433/shop".parse()?;
/// assert_eq!(url.to_string(), "app@db.internal:5433/shop");
/// assert!(!format!("{url:?}").contains("s3cret"));
///
/// let url: DatabaseUrl = "postgres://app:Hunter2@Secret@db.internal/shop".parse()?;
/// assert_eq!(url.to_string(), "app@db.internal:5432/shop");
/// # Ok::<(), taulu::Error>(())
/// ```
#[derive(Clone)]
pub struct DatabaseUrl {
    pub(super) config: tokio_postgres::Config,
}

impl DatabaseUrl {
    /// Reads `DATABASE_URL`; `Ok(None)` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var(DATABASE_URL) {
            Ok(s) if !s.trim().is_empty() => s.parse().map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(Error::Config { reason: format!("{DATABASE_URL} is not valid UTF-8") })
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

    /// The URL's `connect_timeout`, or [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(&self) -> Duration {
        self.config.get_connect_timeout().copied().unwrap_or(DEFAULT_CONNECT_TIMEOUT)
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
            s.extend(utf8_percent_encode(user, COMPONENT));
            if let Some(pw) = c.get_password() {
                s.push(':');
                s.extend(percent_encoding::percent_encode(pw, COMPONENT));
            }
            s.push('@');
        }
        s.push_str(&self.host_port());
        s.push('/');
        s.extend(utf8_percent_encode(c.get_dbname().unwrap_or(""), COMPONENT));
        s
    }

    /// `host:port`, or `a:1,b:2` for a multi-host URL (each host with its port, or the one
    /// port given for all).
    /// The first host and its port (`localhost:5432` when none is named): OpenTelemetry's
    /// `server.address` and `server.port` of the statements run through this URL.
    pub(crate) fn server(&self) -> (String, u16) {
        let c = &self.config;
        let port = c.get_ports().first().copied().unwrap_or(5432);
        match c.get_hosts().first() {
            Some(Host::Tcp(h)) => (h.clone(), port),
            #[cfg(unix)]
            Some(Host::Unix(p)) => (p.display().to_string(), port),
            None => ("localhost".to_owned(), port),
        }
    }

    fn host_port(&self) -> String {
        let c = &self.config;
        let ports = c.get_ports();
        let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        if c.get_hosts().is_empty() {
            return format!("localhost:{}", port(0));
        }
        let hosts = c.get_hosts().iter().enumerate().map(|(i, h)| {
            let host = match h {
                Host::Tcp(h) if h.contains(':') => format!("[{h}]"),
                Host::Tcp(h) => h.clone(),
                #[cfg(unix)]
                Host::Unix(p) => p.display().to_string(),
            };
            format!("{host}:{}", port(i))
        });
        hosts.collect::<Vec<_>>().join(",")
    }
}

/// The parameters a URL's query string may set (what the driver reads): a `?` followed by one of
/// these and `=` starts the query string; any other `?` belongs to the password.
const PARAMETERS: &[&str] = &[
    "user",
    "password",
    "dbname",
    "options",
    "application_name",
    "sslmode",
    "sslnegotiation",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "host",
    "hostaddr",
    "port",
    "connect_timeout",
    "tcp_user_timeout",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_retries",
    "target_session_attrs",
    "channel_binding",
    "load_balance_hosts",
    "replication",
];

/// True when `s` reads as a list of hosts: `host[:port]` or `[v6][:port]`, comma-separated, names
/// made of letters, digits, `.`, `-`, `_` and percent-escapes (a Unix socket directory).
fn is_host_list(s: &str) -> bool {
    let port_ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    s.split(',').all(|item| match item.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, rest)) => {
                !addr.is_empty()
                    && addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.' || b == b'%')
                    && (rest.is_empty() || rest.strip_prefix(':').is_some_and(port_ok))
            }
            None => false,
        },
        None => {
            let (name, port) = item.split_once(':').unwrap_or((item, ""));
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-%".contains(&b)) && port_ok(port)
        }
    })
}

/// A URL's user information rewritten percent-encoded, so that whatever its password holds (`@`,
/// `/`, `?`, `#`, `%`, `:`) the driver reads it as the password and nothing of it as the host, the
/// database or a parameter (which would show up in every message). `None` when the URL has no user
/// information, or is not a URL.
///
/// The user information ends at the **last** `@` before the host. The host list comes after it,
/// then `/dbname`, then the query string, which may hold an `@` of its own
/// (`?application_name=me@host`): the query string starts at the first `?` that is followed by a
/// parameter the driver knows and `=`, and from which the rest reads as a URL (a host list after
/// the last `@` before it, or before its first `/` when there is no `@`); failing that, the URL has
/// no query string. A user name cannot hold `/`, `?` or `#` (a password can); a database name
/// holding an `@` must encode it (`%40`).
fn encode_user_info(s: &str) -> Option<String> {
    let scheme_end = ["postgres://", "postgresql://"].iter().find_map(|p| s.strip_prefix(p).map(|_| p.len()))?;
    let rest = &s[scheme_end..];
    let query_starts = rest.match_indices('?').map(|(i, _)| i).filter(|&i| {
        let after = &rest[i + 1..];
        after.split_once('=').is_some_and(|(key, _)| PARAMETERS.contains(&key))
    });
    for end in query_starts.chain([rest.len()]) {
        let head = &rest[..end];
        let Some(at) = head.rfind('@') else {
            let hosts = &head[..head.find('/').unwrap_or(head.len())];
            if is_host_list(hosts) {
                return None;
            }
            continue;
        };
        let (info, after) = (&head[..at], &head[at + 1..]);
        let user = &info[..info.find(':').unwrap_or(info.len())];
        if user.contains(['/', '?', '#']) || !is_host_list(&after[..after.find('/').unwrap_or(after.len())]) {
            continue;
        }
        let (user, password) = match info.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (info, None),
        };
        let encode = |part: &str| -> String {
            let raw = percent_decode_str(part).collect::<Vec<u8>>();
            percent_encoding::percent_encode(&raw, COMPONENT).to_string()
        };
        let mut out = String::with_capacity(s.len() + 16);
        out.push_str(&s[..scheme_end]);
        out.push_str(&encode(user));
        if let Some(p) = password {
            out.push(':');
            out.push_str(&encode(p));
        }
        out.push_str(&rest[at..]);
        return Some(out);
    }
    None
}

impl FromStr for DatabaseUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let rewritten = encode_user_info(s);
        let config = tokio_postgres::Config::from_str(rewritten.as_deref().unwrap_or(s)).map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_host_url_shows_every_host() {
        let url: DatabaseUrl =
            "postgres://app:pw@10.0.0.1:5432,10.0.0.2:5433/shop?target_session_attrs=read-write".parse().unwrap();
        assert_eq!(url.to_string(), "app@10.0.0.1:5432,10.0.0.2:5433/shop");
        assert!(url.to_url_with_password().contains("@10.0.0.1:5432,10.0.0.2:5433/"));
    }

    #[test]
    fn display_and_debug_never_show_the_password() {
        let url: DatabaseUrl = "postgres://alice:hunter2%21@localhost:6543/app".parse().unwrap();
        assert_eq!(url.to_string(), "alice@localhost:6543/app");
        assert_eq!(format!("{url:?}"), "DatabaseUrl(alice@localhost:6543/app)");
        assert_eq!(url.to_url_with_password(), "postgres://alice:hunter2%21@localhost:6543/app");
    }

    #[test]
    fn an_unencoded_at_sign_belongs_to_the_password() {
        for (input, password) in [
            ("postgres://app:Hunter2@Secret@db.example:5432/db", "Hunter2@Secret"),
            ("postgresql://app:a@b@c@db.example/db?sslmode=disable", "a@b@c"),
            ("postgres://app:p%40ss@Secret@db.example/db", "p@ss@Secret"),
        ] {
            let url: DatabaseUrl = input.parse().unwrap();
            let shown = format!("{url} {url:?}");
            assert!(shown.starts_with("app@db.example:5432/db"), "{shown}");
            for secret in ["Hunter2", "Secret", "a@b", "p@ss"] {
                assert!(!shown.contains(secret), "{input} shows {secret}: {shown}");
            }
            assert_eq!(url.config().get_password(), Some(password.as_bytes()), "{input}");
            assert_eq!(url.config().get_hosts(), [Host::Tcp("db.example".into())]);
        }
        // No user information, or an `@` only in the query string: nothing to rewrite.
        assert_eq!(encode_user_info("postgres://h/db?application_name=a@b"), None);
        assert_eq!(encode_user_info("postgres://h:5432/db?application_name=a@b"), None);
        assert_eq!(encode_user_info("host=h user=u@x"), None);
        // Plain user information is rewritten to itself.
        assert_eq!(encode_user_info("postgres://u:p@h/db").as_deref(), Some("postgres://u:p@h/db"));
    }

    /// Passwords holding what ends a URL's parts elsewhere (`/`, `?`, `#`, `%`, `@`, `:`), some
    /// shaped like a host, a database or a query string, in URLs with and without a port, a
    /// database and parameters (themselves holding an `@`): each is read as the password, and
    /// nothing of it is printed.
    #[test]
    fn user_information_ends_at_the_last_at_sign_before_the_host_whatever_the_password_holds() {
        let passwords = [
            "a1/b2@c3c3",
            "p?x@y",
            "p#x@y",
            "50%off@x",
            "p%zz/q",
            "p@/q",
            "/?#@",
            "@@",
            "/",
            "?",
            "#",
            "%",
            "a:b/c@d",
            "x?sslmode=disable@y",
            "x?application_name=a@b",
            "p@h/db",
            "p@127.0.0.1/db?x",
            "p/:5432",
        ];
        let tails = [
            ("", 5432, "", None),
            ("/db", 5432, "db", None),
            (":5433/db?sslmode=disable", 5433, "db", None),
            (":5433/db?application_name=me@home", 5433, "db", Some("me@home")),
        ];
        let mut shapes = 0;
        for password in passwords {
            for (tail, port, db, app) in tails {
                let input = format!("postgres://app:{password}@127.0.0.1{tail}");
                let url: DatabaseUrl = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
                let c = url.config();
                assert_eq!(c.get_user(), Some("app"), "{input}");
                assert_eq!(c.get_password(), Some(password.as_bytes()), "{input}");
                assert_eq!(c.get_hosts(), [Host::Tcp("127.0.0.1".into())], "{input}");
                assert_eq!(c.get_ports(), [port], "{input}");
                assert_eq!(c.get_dbname().unwrap_or(""), db, "{input}");
                assert_eq!(c.get_application_name(), app, "{input}");
                let expected = format!("app@127.0.0.1:{port}/{db}");
                assert_eq!(url.to_string(), expected, "{input}");
                assert_eq!(format!("{url:?}"), format!("DatabaseUrl({expected})"), "{input}");
                // Handed on with its password, it reads back the same.
                let again: DatabaseUrl = url.to_url_with_password().parse().unwrap();
                assert_eq!(again.config().get_password(), Some(password.as_bytes()), "{input}");
                shapes += 1;
            }
        }
        assert_eq!(shapes, 72);
    }

    #[test]
    fn key_value_form_is_accepted_and_redacted() {
        let url: DatabaseUrl = "host=127.0.0.1 port=5000 user=bob password=pa55 dbname=x".parse().unwrap();
        assert_eq!(url.to_string(), "bob@127.0.0.1:5000/x");
    }

    #[test]
    fn the_connect_timeout_comes_from_the_url_or_defaults_to_ten_seconds() {
        let url: DatabaseUrl = "postgres://u@h/db".parse().unwrap();
        assert_eq!(url.connect_timeout(), DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(DEFAULT_CONNECT_TIMEOUT, Duration::from_secs(10));
        let url: DatabaseUrl = "postgres://u@h/db?connect_timeout=3".parse().unwrap();
        assert_eq!(url.connect_timeout(), Duration::from_secs(3));
    }

    #[test]
    fn parse_errors_do_not_echo_the_input() {
        for bad in [
            "postgres://u:pä$$w0rd@host:notaport/db",
            "postgres://u:Sekr3t@[::1/db",
            "host=h password='Sekr3t",
            "postgres://u:Sekr3t@h/db?sslmode=bogus",
            "postgres://u:Sekr3t@x@host:notaport/db",
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
