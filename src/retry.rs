//! The retry policy: jittered exponential backoff and the classification of failures into
//! "retry", "ambiguous" and "give up". It decides; it does not connect or run SQL itself.
//!
//! | failure | read-only statement | write |
//! |---|---|---|
//! | cannot open a connection: refused, reset, no answer, lost during the pool's setup statements, 08xxx, 57P01/57P03 (shutting down, starting up), 53300 | waited out, up to the connect timeout | same (nothing was sent) |
//! | the pool stays busy for the connect timeout | [`Error::PoolExhausted`], not retried | same |
//! | the connection was closed by the server before the statement reached it | retried | retried (nothing was sent) |
//! | the server answers the statement with 57P01 (terminated, fast shutdown) or 57P05 | retried | retried (it did not commit) |
//! | connection lost after sending (reset, end of stream), 57P02 crash shutdown | retried | **[`Error::Ambiguous`]**: it may have committed; never re-sent |
//! | constraint (23xxx), syntax/undefined (42xxx), data (22xxx), auth (28xxx), 57014 canceled, encode/decode | not retried | not retried |
//! | anything inside a transaction | not retried statement by statement | |
//!
//! Statements are retried `attempts` times (default 3); each attempt may wait up to the connect
//! timeout (default 5 s) for the server to come back, so a restart shorter than that reaches no
//! caller, while a server that stays down gives [`Error::Unavailable`] after it.

use std::time::{Duration, Instant};

use tokio_postgres::error::SqlState;

use crate::Error;

/// How to retry: attempts and backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts, the first included (1 disables retrying).
    pub attempts: u32,
    /// Delay before the first retry (before jitter).
    pub base: Duration,
    /// Upper bound of any delay.
    pub cap: Duration,
    /// How delays are randomised.
    pub jitter: Jitter,
}

/// Randomisation of backoff delays, so clients that failed together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, min(cap, base * 2^n)]` ("full jitter").
    Full,
    /// Uniform in `[base, min(cap, previous * 3)]` ("decorrelated jitter").
    Decorrelated,
}

impl Default for RetryPolicy {
    /// 3 attempts, 100 ms doubling to a 2 s cap, full jitter.
    fn default() -> Self {
        RetryPolicy { attempts: 3, base: Duration::from_millis(100), cap: Duration::from_secs(2), jitter: Jitter::Full }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy { attempts: 1, ..Self::default() }
    }

    /// The delay before retry number `retry` (1 for the first retry), given the previous delay.
    pub fn delay(&self, retry: u32, previous: Duration) -> Duration {
        use rand::RngExt as _;
        let mut rng = rand::rng();
        let exp = self.base.saturating_mul(1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX)).min(self.cap);
        let (low, high) = match self.jitter {
            Jitter::Full => (Duration::ZERO, exp),
            Jitter::Decorrelated => (self.base, previous.saturating_mul(3).max(self.base).min(self.cap)),
        };
        if high <= low {
            return low;
        }
        let nanos = rng.random_range(low.as_nanos() as u64..=high.as_nanos() as u64);
        Duration::from_nanos(nanos)
    }
}

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Safe to try again.
    Retry,
    /// A write may or may not have been applied: report [`Error::Ambiguous`].
    Ambiguous,
    /// Not transient (or not safe): return it as is.
    Fatal,
}

/// How a connection stood when a statement on it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Still open: the failure was the statement's own (or the connection died just now, which
    /// the driver has not recorded yet).
    Open,
    /// The server closed it with an error while none of our requests was in flight on it
    /// (`pg_terminate_backend` of an idle connection, a shutdown, an idle timeout): a request
    /// that failed on it was never written.
    ClosedIdle,
    /// It ended otherwise (reset, end of stream, an I/O error) and a request may have been
    /// written before.
    Closed,
}

/// SQLSTATEs with which the server says it cannot serve this connection now: connection
/// exceptions (08xxx), shutting down or terminated (57P01, 57P02), starting up (57P03), idle
/// session timeout (57P05), too many connections (53300).
pub(crate) fn is_unavailable_state(code: &SqlState) -> bool {
    code.code().starts_with("08")
        || [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::IDLE_SESSION_TIMEOUT,
            SqlState::TOO_MANY_CONNECTIONS,
        ]
        .contains(code)
}

/// SQLSTATEs that, as the answer to a single autocommit statement, mean the server abandoned it
/// before committing: termination (57P01) and the idle-session timeout (57P05) are processed only
/// at interrupt checks, never inside COMMIT, and a statement that committed has its answer sent
/// before the connection is closed; 57P03 refuses it outright. A crash shutdown (57P02) is not
/// among them: it can strike right after the commit record is written.
fn is_abandoned_state(code: &SqlState) -> bool {
    [SqlState::ADMIN_SHUTDOWN, SqlState::CANNOT_CONNECT_NOW, SqlState::IDLE_SESSION_TIMEOUT].contains(code)
}

/// 26000 (`invalid_sql_statement_name`): a statement the connection prepared by name is gone
/// from the server session, which happens when something between us and PostgreSQL (PgBouncer in
/// transaction mode) moved us to another session. The session is not the one we think it is:
/// the connection is discarded, and, as the statement may have run, only a read is re-run.
fn is_lost_statement(code: &SqlState) -> bool {
    *code == SqlState::INVALID_SQL_STATEMENT_NAME
}

/// True when the driver's error came from the network (refused, reset, unreachable, timed out):
/// its cause is an I/O error. Configuration, authentication and TLS errors have other causes.
fn is_network(e: &tokio_postgres::Error) -> bool {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Classifies a failure to obtain or open a connection: retried (within the connect timeout) when
/// the server is not there yet or not accepting connections; returned at once for a wrong
/// password, a missing database, a bad configuration (a missing password) or a TLS failure.
pub fn classify_connect(e: &Error) -> Class {
    match e {
        Error::Connect { source, .. } => match source.code() {
            Some(code) if is_unavailable_state(code) => Class::Retry,
            Some(_) => Class::Fatal, // 28P01 wrong password, 3D000 no such database, ...
            None if source.is_closed() || is_network(source) => Class::Retry,
            None => Class::Fatal, // password missing, TLS refused, authentication method, ...
        },
        Error::ConnectTimeout { .. } => Class::Retry,
        _ => Class::Fatal,
    }
}

/// True when a statement failed because of its connection (the connection is no longer usable)
/// rather than because of the statement.
pub fn is_connection_fault(e: &tokio_postgres::Error, link: Link) -> bool {
    match e.code() {
        Some(code) => is_unavailable_state(code) || is_lost_statement(code),
        None => link != Link::Open || e.is_closed(),
    }
}

/// Classifies a failed single statement (autocommit, outside a transaction).
pub fn classify_statement(e: &tokio_postgres::Error, link: Link, read_only: bool) -> Class {
    let maybe_applied = if read_only { Class::Retry } else { Class::Ambiguous };
    match e.code() {
        Some(code) if is_abandoned_state(code) => Class::Retry,
        Some(code) if is_unavailable_state(code) || is_lost_statement(code) => maybe_applied,
        Some(_) => Class::Fatal,
        None => match link {
            Link::ClosedIdle => Class::Retry,
            Link::Closed => maybe_applied,
            Link::Open if e.is_closed() => maybe_applied,
            // Encoding or decoding a value, a parameter count: the connection is fine.
            Link::Open => Class::Fatal,
        },
    }
}

/// Paces retries: the policy's jittered exponential delays, within a budget of attempts (for
/// statements) or of time (for waiting on a server to come back).
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    deadline: Option<Instant>,
    attempt: u32,
    delay: Duration,
}

impl Backoff {
    /// At most `policy.attempts` attempts.
    pub fn attempts(policy: RetryPolicy) -> Self {
        Backoff { policy, deadline: None, attempt: 1, delay: Duration::ZERO }
    }

    /// Attempts until `deadline`, however many.
    pub fn until(policy: RetryPolicy, deadline: Instant) -> Self {
        Backoff { policy, deadline: Some(deadline), attempt: 1, delay: Duration::ZERO }
    }

    /// The attempt under way (1 for the first).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next attempt, or `None` when the budget is spent.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let mut delay = self.policy.delay(self.attempt, self.delay);
        match self.deadline {
            None if self.attempt >= self.policy.attempts => return None,
            None => {}
            Some(deadline) => {
                let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
                delay = delay.min(left);
            }
        }
        self.delay = delay;
        self.attempt += 1;
        Some(delay)
    }
}

impl Backoff {
    /// The one retry step every loop shares, after an attempt that failed in a retryable way:
    /// sleeps the next delay and returns true, or, when the budget is spent, returns false. Both
    /// are logged as `taulu::retry` events (`retrying` at info, `giving up` at warn).
    pub async fn pause(&mut self, class: &'static str, err: &Error) -> bool {
        self.pause_or(class, err, std::future::pending()).await
    }

    /// [`Backoff::pause`], ended early when `wake` completes (the reason to wait is gone).
    pub async fn pause_or(&mut self, class: &'static str, err: &Error, wake: impl Future<Output = ()>) -> bool {
        let n = self.attempt;
        let Some(delay) = self.next_delay() else {
            tracing::warn!(target: "taulu::retry", attempt = n, error = %err, class, "giving up");
            return false;
        };
        tracing::info!(target: "taulu::retry", attempt = n, delay_ms = delay.as_millis() as u64, error = %err, class, "retrying");
        // Boxed: a cold path that would otherwise swell every caller's future.
        let sleep = Box::pin(tokio::time::sleep(delay));
        tokio::select! {
            () = sleep => {}
            () = wake => tracing::debug!(target: "taulu::retry", class, "retrying early"),
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_within_the_doubling_cap() {
        let p = RetryPolicy::default();
        for retry in 1..=10 {
            let ceiling = (p.base * 2u32.pow(retry - 1)).min(p.cap);
            for _ in 0..200 {
                let d = p.delay(retry, Duration::ZERO);
                assert!(d <= ceiling, "retry {retry}: {d:?} > {ceiling:?}");
            }
        }
        // The delays really are random, not a constant.
        let samples: std::collections::BTreeSet<Duration> = (0..50).map(|_| p.delay(3, Duration::ZERO)).collect();
        assert!(samples.len() > 10);
    }

    #[test]
    fn decorrelated_jitter_grows_from_the_previous_delay_within_bounds() {
        let p = RetryPolicy { jitter: Jitter::Decorrelated, ..RetryPolicy::default() };
        let mut prev = p.base;
        for retry in 1..=20 {
            let d = p.delay(retry, prev);
            assert!(d >= p.base && d <= p.cap && d <= (prev * 3).max(p.base), "{d:?} after {prev:?}");
            prev = d;
        }
    }

    #[test]
    fn an_attempt_budget_allows_that_many_attempts() {
        let mut b = Backoff::attempts(RetryPolicy::default());
        let mut attempts = 1;
        while b.next_delay().is_some() {
            attempts += 1;
        }
        assert_eq!(attempts, 3);
        assert_eq!(b.attempt(), 3);
    }

    #[test]
    fn a_time_budget_never_sleeps_past_its_deadline() {
        let deadline = Instant::now() + Duration::from_millis(300);
        let mut b = Backoff::until(RetryPolicy::default(), deadline);
        let mut slept = Duration::ZERO;
        while let Some(d) = b.next_delay() {
            slept += d;
            std::thread::sleep(d);
        }
        assert!(Instant::now() >= deadline);
        assert!(slept <= Duration::from_millis(300), "{slept:?}");
        assert!(b.attempt() > 3, "attempts are not what bounds it: {}", b.attempt());
    }

    #[test]
    fn huge_retry_numbers_do_not_overflow() {
        let p = RetryPolicy::default();
        assert!(p.delay(1000, Duration::from_secs(100)) <= p.cap);
    }
}
