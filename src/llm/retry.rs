//! How one request to one provider can fail, which failures are worth another try, and how
//! long to wait before it.

use std::time::Duration;

use rand::Rng;

/// One failed request to one provider.
#[derive(Debug, Clone)]
pub enum CallError {
    /// A non-2xx answer.
    Http {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    /// Could not connect, or the connection broke before an answer.
    Connection(String),
    /// A deadline passed: connect, first token or the whole request.
    Timeout(String),
    /// The answer was not the JSON we can read.
    Malformed(String),
    /// The provider reported an error inside a 200 answer or mid-stream.
    Provider(String),
    /// The stream stopped before the provider said it was complete.
    Cut(String),
    /// A complete answer with no usable text (empty or filtered).
    Empty(String),
    /// A mistake on our side (e.g. a request that could not be built); not retried.
    Local(String),
}

impl CallError {
    /// Worth sending the same request to the same provider again.
    pub fn retryable(&self) -> bool {
        match self {
            CallError::Http { status, .. } => {
                matches!(status, 408 | 409 | 425 | 429) || *status >= 500
            }
            CallError::Connection(_)
            | CallError::Timeout(_)
            | CallError::Malformed(_)
            | CallError::Provider(_)
            | CallError::Cut(_) => true,
            CallError::Empty(_) | CallError::Local(_) => false,
        }
    }

    /// Counts towards opening the provider's breaker: the provider looks unhealthy. A 429 is a
    /// healthy provider pacing us, and a 400 is our request's fault.
    pub fn counts_for_breaker(&self) -> bool {
        match self {
            CallError::Http { status, .. } => {
                *status >= 500 || matches!(status, 401 | 403 | 404 | 408)
            }
            CallError::Connection(_)
            | CallError::Timeout(_)
            | CallError::Malformed(_)
            | CallError::Provider(_)
            | CallError::Cut(_) => true,
            CallError::Empty(_) | CallError::Local(_) => false,
        }
    }

    /// The provider asked us to come back later (429 with or without `Retry-After`).
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, CallError::Http { status: 429, .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Http {
                status,
                retry_after,
                message,
            } => {
                write!(f, "HTTP {status}")?;
                if let Some(d) = retry_after {
                    write!(f, " (Retry-After {:.1}s)", d.as_secs_f64())?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            CallError::Connection(m) => write!(f, "connection failed: {m}"),
            CallError::Timeout(m) => write!(f, "timed out: {m}"),
            CallError::Malformed(m) => write!(f, "unreadable answer: {m}"),
            CallError::Provider(m) => write!(f, "provider error: {m}"),
            CallError::Cut(m) => write!(f, "stream cut off: {m}"),
            CallError::Empty(m) => write!(f, "empty answer: {m}"),
            CallError::Local(m) => write!(f, "request not sent: {m}"),
        }
    }
}

const BASE: Duration = Duration::from_millis(200);
const CAP: Duration = Duration::from_secs(5);

/// Wait before retry number `retry` (1 for the first retry): exponential from 200 ms, capped at
/// 5 s, with jitter over the upper half so that clients do not retry in step. A `Retry-After`
/// from the provider is a floor (plus up to 10% jitter).
pub fn backoff(retry: u32, retry_after: Option<Duration>) -> Duration {
    let exp = BASE
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(CAP);
    let mut rng = rand::thread_rng();
    let jittered = exp / 2 + exp.mul_f64(rng.gen_range(0.0..0.5));
    match retry_after {
        Some(ra) => ra.max(jittered) + ra.mul_f64(rng.gen_range(0.0..0.1)),
        None => jittered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> CallError {
        CallError::Http {
            status,
            retry_after: None,
            message: String::new(),
        }
    }

    #[test]
    fn client_errors_are_not_retried_server_errors_are() {
        for s in [400, 401, 403, 404, 422] {
            assert!(!http(s).retryable(), "{s}");
        }
        for s in [429, 500, 502, 503, 504] {
            assert!(http(s).retryable(), "{s}");
        }
        assert!(CallError::Timeout("x".into()).retryable());
        assert!(!CallError::Empty("x".into()).retryable());
    }

    #[test]
    fn rate_limits_and_bad_requests_do_not_trip_the_breaker() {
        assert!(!http(429).counts_for_breaker());
        assert!(!http(400).counts_for_breaker());
        assert!(http(500).counts_for_breaker());
        assert!(http(401).counts_for_breaker());
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        for retry in 1..20 {
            let d = backoff(retry, None);
            let exp = BASE.saturating_mul(1 << (retry - 1).min(16)).min(CAP);
            assert!(d >= exp / 2 && d <= exp, "retry {retry}: {d:?}");
        }
        let d = backoff(1, Some(Duration::from_secs(2)));
        assert!(
            d >= Duration::from_secs(2) && d <= Duration::from_millis(2200),
            "{d:?}"
        );
    }
}
