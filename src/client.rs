//! Connection layer: parsing `DATABASE_URL` into a redacted, printable target and opening
//! connections. Knows nothing of migrations or queries; never formats a password.
//!
//! The pooled, retrying `Db` lands on top of this module (see DESIGN.md, "Execution").

use std::{fmt, str::FromStr};

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

/// Opens one connection (no TLS) and drives it on a background task.
///
/// The task logs a connection that ends with an error at `warn` level. Errors name the target
/// without its password.
pub async fn connect(url: &DatabaseUrl) -> Result<Client> {
    tracing::debug!(target: "taulu::client", %url, "connecting");
    let (client, connection) = url.config.connect(NoTls).await.map_err(|source| {
        tracing::debug!(target: "taulu::client", %url, error = %crate::error::describe_pg(&source), "connect failed");
        Error::Connect { target: url.to_string(), source }
    })?;
    let target = url.to_string();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(target: "taulu::client", url = %target, error = %e, "connection closed with an error");
        }
    });
    tracing::debug!(target: "taulu::client", %url, "connected");
    Ok(client)
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
