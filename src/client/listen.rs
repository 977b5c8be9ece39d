//! LISTEN/NOTIFY: a dedicated connection whose driver forwards the server's notifications, kept
//! alive across faults. The connection is not pooled (a LISTEN belongs to one session); when it
//! fails, the background task reconnects with the retry policy's backoff, issues LISTEN again, and
//! tells the subscriber that notifications may have been missed in between.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::sync::mpsc;

use super::{conn, url::DatabaseUrl};
use crate::{
    error::{Error, Result},
    local::quote_ident,
    retry::RetryPolicy,
};

/// A notification sent with `NOTIFY channel, 'payload'` (or [`Db::notify`](crate::Db::notify)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The channel it was sent on.
    pub channel: String,
    /// Its payload (empty when none was given).
    pub payload: String,
    /// The server process that sent it.
    pub process_id: i32,
}

/// What a [`Listener`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenEvent {
    /// A notification on one of the channels.
    Notification(Notification),
    /// The connection was lost and is listening again: notifications sent in between were
    /// missed. Re-read whatever state they describe.
    Reconnected,
}

/// A stream of [`ListenEvent`]s from [`Db::listen`](crate::Db::listen). Listening stops when it is
/// dropped.
#[derive(Debug)]
pub struct Listener {
    events: mpsc::Receiver<ListenEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    /// The next event; `None` never happens while the listener lives (it reconnects instead).
    pub async fn next(&mut self) -> Option<ListenEvent> {
        self.events.recv().await
    }
}

impl futures_util::Stream for Listener {
    type Item = ListenEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ListenEvent>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A listening connection: its client (kept so the session lives) and its notifications.
struct Session {
    _client: tokio_postgres::Client,
    notifications: mpsc::UnboundedReceiver<Notification>,
}

/// Opens a connection and issues LISTEN for every channel.
async fn session(url: &DatabaseUrl, timeout: Duration, channels: &[String]) -> Result<Session> {
    let (tx, notifications) = mpsc::unbounded_channel();
    let client = conn::open_listening(url, timeout, tx).await?;
    let sql: String = channels.iter().map(|c| format!("LISTEN {};", quote_ident(c))).collect();
    // Part of opening the session: a connection lost here is a connect failure, retried as one.
    client.batch_execute(&sql).await.map_err(conn::connect_failed(url))?;
    Ok(Session { _client: client, notifications })
}

/// Listens on `channels`: the first session is opened before this returns (so a NOTIFY sent after
/// it is received), retried within `connect_timeout` like a pool checkout.
pub(crate) async fn start(
    url: DatabaseUrl,
    policy: RetryPolicy,
    connect_timeout: Duration,
    channels: &[&str],
) -> Result<Listener> {
    let channels: Vec<String> = channels.iter().map(|c| (*c).to_owned()).collect();
    let deadline = std::time::Instant::now() + connect_timeout;
    let mut backoff = crate::retry::Backoff::until(policy, deadline);
    let first = loop {
        match session(&url, connect_timeout, &channels).await {
            Ok(s) => break s,
            Err(e) if e.is_transient() => {
                if !backoff.pause("listen", &e).await {
                    return Err(Error::Unavailable { attempts: backoff.attempt(), last: std::sync::Arc::new(e) });
                }
            }
            Err(e) => return Err(e),
        }
    };
    let (tx, events) = mpsc::channel(1024);
    let task = tokio::spawn(pump(url, policy, connect_timeout, channels, first, tx));
    Ok(Listener { events, task })
}

/// Forwards notifications; after a fault, reconnects (backing off up to the policy's cap, for as
/// long as the listener lives) and says so.
async fn pump(
    url: DatabaseUrl,
    policy: RetryPolicy,
    connect_timeout: Duration,
    channels: Vec<String>,
    mut session: Session,
    tx: mpsc::Sender<ListenEvent>,
) {
    loop {
        while let Some(n) = session.notifications.recv().await {
            if tx.send(ListenEvent::Notification(n)).await.is_err() {
                return;
            }
        }
        tracing::warn!(target: "taulu::listen", %url, "listening connection lost; reconnecting");
        let mut attempt = 1;
        let mut delay = Duration::ZERO;
        session = loop {
            if tx.is_closed() {
                return;
            }
            match self::session(&url, connect_timeout, &channels).await {
                Ok(s) => break s,
                Err(e) => {
                    delay = policy.delay(attempt, delay);
                    attempt += 1;
                    tracing::debug!(target: "taulu::listen", error = %e, delay_ms = delay.as_millis() as u64, "reconnect failed");
                    tokio::time::sleep(delay).await;
                }
            }
        };
        tracing::info!(target: "taulu::listen", %url, "listening again");
        if tx.send(ListenEvent::Reconnected).await.is_err() {
            return;
        }
    }
}
