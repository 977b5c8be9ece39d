//! The retry policy: jittered exponential backoff and the classification of failures into
//! "retry", "ambiguous" and "give up". It decides; it does not connect or run SQL itself.
//!
//! | failure | read-only statement | write |
//! |---|---|---|
//! | cannot get or open a connection (refused, reset, timeout, 08001/08004/08006, 57P03 cannot_connect_now, 53300 too_many_connections) | retried | retried (nothing was sent) |
//! | the pooled connection was already closed before sending | retried | retried (nothing was sent) |
//! | connection lost, or 57P01/57P02 admin/crash shutdown, after sending | retried | **[`Error::Ambiguous`]**: it may have committed; never re-sent |
//! | constraint (23xxx), syntax/undefined (42xxx), data (22xxx), auth (28xxx), 57014 canceled, encode/decode | not retried | not retried |
//! | anything inside a transaction | not retried statement by statement | |

use std::time::Duration;

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

const CONNECT_STATES: &[&str] = &["08000", "08001", "08003", "08004", "08006", "57P03", "53300"];
const SHUTDOWN_STATES: &[&str] = &["57P01", "57P02", "57P03"];

/// Classifies a failure to obtain or open a connection.
pub fn classify_connect(e: &Error) -> Class {
    match e {
        Error::Connect { source, .. } => match source.code() {
            Some(code) if CONNECT_STATES.contains(&code.code()) => Class::Retry,
            Some(_) => Class::Fatal, // 28P01 wrong password, 3D000 no such database, ...
            None => Class::Retry,    // refused, reset, timed out, DNS: the server is not there (yet)
        },
        Error::PoolTimeout => Class::Retry,
        _ => Class::Fatal,
    }
}

/// True when a statement failed because the connection went away (or the server is shutting down)
/// rather than because of the statement.
pub fn is_connection_fault(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => SHUTDOWN_STATES.contains(&code.code()) || code.code().starts_with("08"),
        // No SQLSTATE: an I/O error or an unexpected end of the connection. Encoding and decoding
        // failures are not connection faults: they report no SQLSTATE either, but leave the
        // connection open.
        None => {
            let text = e.to_string();
            !(text.contains("serializing parameter") || text.contains("deserializing column"))
        }
    }
}

/// Classifies a failed statement that was sent on a live connection.
pub fn classify_statement(e: &tokio_postgres::Error, read_only: bool) -> Class {
    if !is_connection_fault(e) {
        Class::Fatal
    } else if read_only {
        Class::Retry
    } else {
        Class::Ambiguous
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
    fn huge_retry_numbers_do_not_overflow() {
        let p = RetryPolicy::default();
        assert!(p.delay(1000, Duration::from_secs(100)) <= p.cap);
    }
}
