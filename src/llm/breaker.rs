//! A circuit breaker per provider: after `threshold` consecutive failures the provider is
//! skipped for `cooldown`; then one probe request is let through, and its outcome closes the
//! breaker or opens it again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use serde::Serialize;

/// What a caller sees of a breaker, for status pages and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Requests flow.
    Closed,
    /// Requests are refused until the cool-down ends.
    Open,
    /// The cool-down is over: the next request is a probe (or one is in flight).
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_since: Instant },
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl Breaker {
    /// `threshold` 0 disables the breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold,
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// May a request go now? `Err(wait)` says how long until it might.
    pub fn allow(&self, now: Instant) -> Result<(), Duration> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if now < until => Err(until - now),
            State::Open { .. } => {
                *state = State::HalfOpen { probe_since: now };
                Ok(())
            }
            // One probe at a time; a probe that never reported back (its caller was dropped)
            // is given up after one cool-down.
            State::HalfOpen { probe_since } if now < probe_since + self.cooldown => {
                Err(probe_since + self.cooldown - now)
            }
            State::HalfOpen { .. } => {
                *state = State::HalfOpen { probe_since: now };
                Ok(())
            }
        }
    }

    pub fn record_success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// Returns true when this failure opened the breaker.
    pub fn record_failure(&self, now: Instant) -> bool {
        if self.threshold == 0 {
            return false;
        }
        let mut state = self.lock();
        let was_open = matches!(*state, State::Open { .. });
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.threshold => State::Closed {
                failures: failures + 1,
            },
            State::Open { until } => State::Open { until },
            _ => State::Open {
                until: now + self.cooldown,
            },
        };
        !was_open && matches!(*state, State::Open { .. })
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if now < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let b = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        b.record_failure(t0);
        b.record_failure(t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
        assert!(b.allow(t0).is_ok());
        b.record_failure(t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        let wait = b.allow(t0 + Duration::from_secs(4)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(6));
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
        assert!(b.allow(t1).is_ok(), "the probe goes");
        assert!(b.allow(t1).is_err(), "only one probe at a time");
        b.record_failure(t1);
        assert_eq!(b.state(t1), BreakerState::Open);
        let t2 = t1 + Duration::from_secs(10);
        assert!(b.allow(t2).is_ok());
        b.record_success();
        assert_eq!(b.state(t2), BreakerState::Closed);
        assert!(b.allow(t2).is_ok() && b.allow(t2).is_ok());
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = Breaker::new(2, Duration::from_secs(1));
        let t = Instant::now();
        b.record_failure(t);
        b.record_success();
        b.record_failure(t);
        assert_eq!(b.state(t), BreakerState::Closed);
    }

    #[test]
    fn a_lost_probe_is_replaced_after_a_cooldown() {
        let b = Breaker::new(1, Duration::from_secs(5));
        let t = Instant::now();
        b.record_failure(t);
        let t1 = t + Duration::from_secs(5);
        assert!(b.allow(t1).is_ok());
        assert!(b.allow(t1 + Duration::from_secs(4)).is_err());
        assert!(b.allow(t1 + Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn threshold_zero_never_opens() {
        let b = Breaker::new(0, Duration::from_secs(5));
        let t = Instant::now();
        for _ in 0..100 {
            b.record_failure(t);
        }
        assert!(b.allow(t).is_ok());
    }
}
