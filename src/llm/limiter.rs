//! A provider's quota: requests per minute and tokens per minute (governor), a concurrency cap
//! (semaphore), and a pause after a 429 with `Retry-After`.
//!
//! Waiters are admitted one at a time through a FIFO gate, so a request's cells are taken only
//! by the one at the head (governor cannot give cells back). Live requests go before bulk ones:
//! a bulk waiter steps aside while any live request is waiting for the gate, and bulk work may
//! hold at most `max_concurrency - 1` of the concurrent slots, so an agent never finds every
//! slot taken by a FAQ job. A request that would have to wait past its deadline is refused at
//! once with the wait it would need.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant};

use super::Lane;

/// The request cannot be admitted before its deadline.
#[derive(Debug, Clone)]
pub struct Busy {
    /// When trying again might succeed.
    pub retry_after: Duration,
    pub reason: String,
}

/// Held while the request runs: frees a concurrency slot when dropped.
#[derive(Debug)]
pub struct Admission {
    _permit: OwnedSemaphorePermit,
    _bulk_permit: Option<OwnedSemaphorePermit>,
    /// This request's token estimate, charged to the per-minute budget (give it to
    /// [`Limiter::settle`] with the tokens really used).
    pub reserved_tokens: u32,
}

pub struct Limiter {
    rpm: Option<DefaultDirectRateLimiter>,
    tpm: Option<(DefaultDirectRateLimiter, NonZeroU32)>,
    concurrency: Arc<Semaphore>,
    /// The share of `concurrency` bulk requests may hold (one slot kept for live ones).
    bulk_concurrency: Arc<Semaphore>,
    gate: tokio::sync::Mutex<()>,
    live_waiting: AtomicUsize,
    live_changed: Notify,
    paused_until: Mutex<Option<Instant>>,
    /// Tokens used beyond (positive) or below (negative) what was reserved, settled on the
    /// next reservation.
    token_debt: AtomicI64,
    clock: DefaultClock,
}

/// Unknown waits (a queue ahead of us) are reported as this.
const UNKNOWN_WAIT: Duration = Duration::from_secs(1);

impl Limiter {
    /// `rpm` or `tpm` 0 means no such limit; `max_concurrency` 0 means one at a time.
    pub fn new(rpm: u32, tpm: u32, max_concurrency: u32) -> Limiter {
        // A burst of at most one second's worth (and at most 10), refilled at `rpm - burst` a
        // minute: a full burst plus a minute's refill is then `rpm`, so no 60-second window
        // ever sees more than `rpm` requests (providers count sliding minutes; refilling at
        // `rpm` let one request too many into the first minute after idle, and a 429 followed).
        let rpm_limiter = NonZeroU32::new(rpm).and_then(|rpm| {
            let burst = (rpm.get() / 60).clamp(1, 10);
            let refill = rpm.get().saturating_sub(burst).max(1);
            let quota = Quota::with_period(Duration::from_secs(60) / refill)?
                .allow_burst(NonZeroU32::new(burst)?);
            Some(RateLimiter::direct(quota))
        });
        // Tokens: ten seconds' worth of burst, so a large prompt fits but a minute's budget
        // cannot be spent at once.
        let tpm_limiter = NonZeroU32::new(tpm).and_then(|tpm| {
            let burst = NonZeroU32::new((tpm.get() / 6).max(1))?;
            let quota = Quota::per_minute(tpm).allow_burst(burst);
            Some((RateLimiter::direct(quota), burst))
        });
        Limiter {
            rpm: rpm_limiter,
            tpm: tpm_limiter,
            concurrency: Arc::new(Semaphore::new(max_concurrency.max(1) as usize)),
            bulk_concurrency: Arc::new(Semaphore::new(
                max_concurrency.saturating_sub(1).max(1) as usize
            )),
            gate: tokio::sync::Mutex::new(()),
            live_waiting: AtomicUsize::new(0),
            live_changed: Notify::new(),
            paused_until: Mutex::new(None),
            token_debt: AtomicI64::new(0),
            clock: DefaultClock::default(),
        }
    }

    /// Waits for a request slot, `tokens` from the token budget and a concurrency slot, or
    /// refuses at once when that would take past `deadline`.
    pub async fn admit(
        &self,
        lane: Lane,
        tokens: u32,
        deadline: Instant,
    ) -> Result<Admission, Busy> {
        let _live = (lane == Lane::Live).then(|| LiveWaiter::new(self));
        let all_busy = |_| Busy {
            retry_after: UNKNOWN_WAIT,
            reason: "all concurrent slots stayed busy until the deadline".into(),
        };
        let closed = |_| Busy {
            retry_after: UNKNOWN_WAIT,
            reason: "the limiter is shutting down".into(),
        };
        let bulk_permit = match lane {
            Lane::Bulk => Some(
                timeout_at(deadline, self.bulk_concurrency.clone().acquire_owned())
                    .await
                    .map_err(all_busy)?
                    .map_err(closed)?,
            ),
            Lane::Live => None,
        };
        let reserved = loop {
            if lane == Lane::Bulk {
                self.wait_no_live(deadline).await?;
            }
            let gate = timeout_at(deadline, self.gate.lock())
                .await
                .map_err(|_| Busy {
                    retry_after: UNKNOWN_WAIT,
                    reason: "queued behind other requests until the deadline".into(),
                })?;
            if lane == Lane::Bulk && self.live_waiting.load(Ordering::SeqCst) > 0 {
                drop(gate);
                continue;
            }
            match self.take_cells(lane, tokens, deadline).await? {
                Some(reserved) => break reserved,
                None => continue, // a bulk request stepped aside for a live one
            }
        };
        let permit = timeout_at(deadline, self.concurrency.clone().acquire_owned())
            .await
            .map_err(all_busy)?
            .map_err(closed)?;
        Ok(Admission {
            _permit: permit,
            _bulk_permit: bulk_permit,
            reserved_tokens: reserved,
        })
    }

    /// Called by the head of the queue (holding the gate). `Ok(None)` when a bulk request
    /// gave way to a live one before taking anything.
    async fn take_cells(
        &self,
        lane: Lane,
        tokens: u32,
        deadline: Instant,
    ) -> Result<Option<u32>, Busy> {
        // The pause after a 429 and the request rate: nothing is taken until both allow.
        loop {
            let wait = self.pause_left().or_else(|| self.rpm_wait());
            let Some(wait) = wait else { break };
            self.sleep_or_refuse(wait, deadline, "request rate")?;
            if lane == Lane::Bulk {
                let yielded = tokio::select! {
                    _ = tokio::time::sleep(wait) => false,
                    _ = self.live_arrived() => true,
                };
                if yielded {
                    return Ok(None);
                }
            } else {
                tokio::time::sleep(wait).await;
            }
        }
        // Tokens: this request's estimate plus what earlier requests used beyond theirs (or
        // minus what they did not use). What cannot be charged now (beyond the burst, or a
        // credit larger than the estimate) stays in the balance for later requests, so over
        // time the limiter is charged what was really used.
        let Some((tpm, burst)) = &self.tpm else {
            return Ok(Some(tokens));
        };
        let debt = self.token_debt.swap(0, Ordering::SeqCst);
        let want = i64::from(tokens) + debt;
        let charge = want.clamp(0, i64::from(burst.get()));
        let carry = want - charge;
        let Some(n) = u32::try_from(charge).ok().and_then(NonZeroU32::new) else {
            self.token_debt.fetch_add(carry, Ordering::SeqCst);
            return Ok(Some(tokens));
        };
        loop {
            match tpm.check_n(n) {
                Ok(Ok(())) => {
                    self.token_debt.fetch_add(carry, Ordering::SeqCst);
                    return Ok(Some(tokens));
                }
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(self.clock.now());
                    if let Err(busy) = self.sleep_or_refuse(wait, deadline, "token rate") {
                        // Nothing taken: the balance stays for the next request.
                        self.token_debt.fetch_add(debt, Ordering::SeqCst);
                        return Err(busy);
                    }
                    tokio::time::sleep(wait).await;
                }
                // Cannot happen: the charge is clamped to the burst.
                Err(_) => {
                    self.token_debt.fetch_add(carry, Ordering::SeqCst);
                    return Ok(Some(tokens));
                }
            }
        }
    }

    fn sleep_or_refuse(&self, wait: Duration, deadline: Instant, what: &str) -> Result<(), Busy> {
        if Instant::now() + wait > deadline {
            Err(Busy {
                retry_after: wait,
                reason: format!(
                    "{what} quota would need a wait of {:.1}s, past the deadline",
                    wait.as_secs_f64()
                ),
            })
        } else {
            Ok(())
        }
    }

    fn pause_left(&self) -> Option<Duration> {
        let until = (*self.paused_until.lock().unwrap_or_else(|p| p.into_inner()))?;
        let now = Instant::now();
        (until > now).then(|| until - now)
    }

    /// Takes a request cell when one is free; otherwise says how long until one is.
    fn rpm_wait(&self) -> Option<Duration> {
        let rpm = self.rpm.as_ref()?;
        match rpm.check() {
            Ok(()) => None,
            Err(not_until) => Some(
                not_until
                    .wait_time_from(self.clock.now())
                    .max(Duration::from_millis(1)),
            ),
        }
    }

    async fn wait_no_live(&self, deadline: Instant) -> Result<(), Busy> {
        loop {
            let changed = self.live_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.live_waiting.load(Ordering::SeqCst) == 0 {
                return Ok(());
            }
            timeout_at(deadline, changed).await.map_err(|_| Busy {
                retry_after: UNKNOWN_WAIT,
                reason: "live requests kept the quota busy until the deadline".into(),
            })?;
        }
    }

    async fn live_arrived(&self) {
        loop {
            let changed = self.live_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.live_waiting.load(Ordering::SeqCst) > 0 {
                return;
            }
            changed.await;
        }
    }

    /// No request goes out before `until` (a 429 asked us to wait).
    pub fn pause_until(&self, until: Instant) {
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }

    /// Accounts for the tokens a request really used against what it reserved.
    pub fn settle(&self, reserved: u32, used: u32) {
        if self.tpm.is_some() {
            self.token_debt
                .fetch_add(i64::from(used) - i64::from(reserved), Ordering::SeqCst);
        }
    }
}

/// Marks a live request as waiting while it exists.
struct LiveWaiter<'a>(&'a Limiter);

impl<'a> LiveWaiter<'a> {
    fn new(limiter: &'a Limiter) -> Self {
        limiter.live_waiting.fetch_add(1, Ordering::SeqCst);
        limiter.live_changed.notify_waiters();
        LiveWaiter(limiter)
    }
}

impl Drop for LiveWaiter<'_> {
    fn drop(&mut self) {
        self.0.live_waiting.fetch_sub(1, Ordering::SeqCst);
        self.0.live_changed.notify_waiters();
    }
}

/// Prompt tokens, estimated before the call: one token per CJK (non-ASCII) character, which
/// is the conservative end of Chinese tokenizers' 1–1.5 characters per token, and one per four
/// ASCII characters, plus a little per message.
pub fn estimate_tokens(texts: &[&str]) -> u32 {
    let mut total: u64 = 0;
    for t in texts {
        let (mut ascii, mut other) = (0u64, 0u64);
        for c in t.chars() {
            if c.is_ascii() {
                ascii += 1;
            } else {
                other += 1;
            }
        }
        total += other + ascii.div_ceil(4) + 4;
    }
    u32::try_from(total).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn bulk_work_never_takes_the_last_concurrent_slot() {
        let l = Limiter::new(0, 0, 3);
        let soon = || Instant::now() + Duration::from_millis(100);
        let _b1 = l.admit(Lane::Bulk, 1, far()).await.unwrap();
        let _b2 = l.admit(Lane::Bulk, 1, far()).await.unwrap();
        let third = l.admit(Lane::Bulk, 1, soon()).await.unwrap_err();
        assert!(third.reason.contains("concurrent"), "{}", third.reason);
        // The slot bulk work cannot have is the agent's.
        let live = l.admit(Lane::Live, 1, soon()).await.unwrap();
        assert!(
            l.admit(Lane::Live, 1, soon()).await.is_err(),
            "the cap still holds"
        );
        drop(live);
        // With one slot in all, bulk work may use it (nothing to reserve).
        let one = Limiter::new(0, 0, 1);
        assert!(one.admit(Lane::Bulk, 1, far()).await.is_ok());
    }

    #[test]
    fn token_estimate_counts_chinese_characters() {
        assert_eq!(estimate_tokens(&["您好"]), 2 + 4);
        assert_eq!(estimate_tokens(&["abcdefgh"]), 2 + 4);
        assert_eq!(estimate_tokens(&["退货运费谁出", "ok"]), 6 + 4 + 1 + 4);
    }

    #[tokio::test]
    async fn requests_past_the_deadline_are_refused_with_the_wait() {
        // 60 rpm: one per second, burst 1.
        let l = Limiter::new(60, 0, 4);
        let _a = l.admit(Lane::Live, 10, far()).await.unwrap();
        let started = Instant::now();
        let busy = l
            .admit(Lane::Live, 10, Instant::now() + Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(100),
            "refused at once"
        );
        assert!(busy.retry_after > Duration::from_millis(500), "{busy:?}");
    }

    #[tokio::test]
    async fn the_pause_after_a_429_holds_requests() {
        let l = Limiter::new(0, 0, 4);
        l.pause_until(Instant::now() + Duration::from_secs(5));
        let busy = l
            .admit(Lane::Bulk, 1, Instant::now() + Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(busy.retry_after > Duration::from_secs(3));
    }

    #[tokio::test]
    async fn concurrency_is_capped() {
        let l = Limiter::new(0, 0, 1);
        let a = l.admit(Lane::Live, 1, far()).await.unwrap();
        assert!(l
            .admit(Lane::Live, 1, Instant::now() + Duration::from_millis(50))
            .await
            .is_err());
        drop(a);
        assert!(l.admit(Lane::Live, 1, far()).await.is_ok());
    }

    #[tokio::test]
    async fn token_budget_limits_and_usage_is_settled() {
        // 600 tokens a minute: burst 100 tokens, 10 tokens a second.
        let l = Limiter::new(0, 600, 4);
        let soon = || Instant::now() + Duration::from_millis(100);
        let a = l.admit(Lane::Live, 80, far()).await.unwrap();
        assert_eq!(a.reserved_tokens, 80);
        // Used only 20 of 80: the next request is charged 70 - 60 = 10, so it fits at once
        // (without settlement it would need 50 more tokens, 5 s).
        l.settle(a.reserved_tokens, 20);
        let b = l.admit(Lane::Live, 70, soon()).await.unwrap();
        assert_eq!(b.reserved_tokens, 70);
        l.settle(b.reserved_tokens, 70);
        // 90 charged of 100: 50 more do not fit before the deadline.
        let busy = l.admit(Lane::Live, 50, soon()).await.unwrap_err();
        assert!(busy.reason.contains("token"), "{busy:?}");
        // Using more than reserved is charged to the next request.
        l.settle(10, 60);
        let busy = l.admit(Lane::Live, 1, soon()).await.unwrap_err();
        assert!(busy.retry_after > Duration::from_secs(3), "{busy:?}");
    }

    #[tokio::test]
    async fn a_request_larger_than_the_burst_is_admitted_and_the_rest_carried() {
        let l = Limiter::new(0, 600, 4);
        let a = l
            .admit(Lane::Live, 250, Instant::now() + Duration::from_millis(100))
            .await
            .unwrap();
        assert_eq!(a.reserved_tokens, 250);
        // 150 tokens carried over: the next request waits for them.
        let busy = l
            .admit(Lane::Live, 1, Instant::now() + Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(busy.retry_after > Duration::from_secs(9), "{busy:?}");
    }
}
