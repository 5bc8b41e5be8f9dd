//! LLM gateway: OpenAI-compatible providers tried in order, each behind its own quota
//! (governor), retry with backoff, circuit breaker and deadlines; streaming deltas.
//!
//! For each provider in order: skip it while its breaker is open; wait for its quota (or move
//! on when that would take past its deadline); send the request; retry 429, 5xx, timeouts and
//! connection failures with backoff and jitter, never before a `Retry-After`; on a failure
//! that retrying will not fix (400, 401, 403) or when attempts run out, fall back to the next
//! provider. Once streamed text has reached the listener, a failure is final
//! ([`LlmError::Truncated`]): a retry would show the listener the text twice.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::config::ProviderConfig;

mod breaker;
mod limiter;
mod provider;
mod retry;
mod stream;
mod transport;
mod wire;

pub use breaker::BreakerState;
pub use limiter::estimate_tokens;

use provider::Provider;
use retry::CallError;

/// A fully rendered prompt: what is sent, nothing else.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub system: String,
    pub user: String,
    pub max_tokens: u32,
    pub temperature: f32,
}

/// Live suggestions go before bulk FAQ work when both wait for the same quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Live,
    Bulk,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// A finished completion and how it was obtained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generation {
    pub text: String,
    pub provider: String,
    pub model: String,
    /// Requests sent in all, over all providers, for this generation.
    pub attempts: u32,
    pub usage: Option<Usage>,
    pub latency_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// No provider could take the request before its deadline (quota or open breakers).
    #[error("all providers are busy or unavailable; retry in {retry_after:?}")]
    Unavailable {
        retry_after: Duration,
        detail: String,
    },
    /// Every provider failed; `detail` says how each one failed.
    #[error("every provider failed: {detail}")]
    Failed { detail: String },
    /// The stream ended before the provider said it was complete.
    #[error("the provider's stream was cut off: {detail}")]
    Truncated { detail: String },
    /// The provider answered with nothing usable (empty or content-filtered).
    #[error("the provider returned an empty or filtered completion ({detail})")]
    Empty { detail: String },
}

/// The providers in configuration order. Without any, callers use extractive mode.
pub struct Gateway {
    providers: Vec<Arc<Provider>>,
}

/// One provider as [`Gateway::provider_status`] reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProviderStatus {
    pub name: String,
    pub model: String,
    pub breaker: BreakerState,
}

/// How one provider's turn in [`Gateway::generate`] ended, when it did not produce an answer.
enum Turn {
    /// Never sent or only rate-limited: quota, open breaker, 429s. Try again after this.
    Busy(Duration, String),
    /// Failed for real.
    Failed(String),
}

impl Gateway {
    /// Providers whose `api_key_env` is unset are skipped with a warning naming the variable
    /// (keyless local servers leave `api_key_env` empty).
    pub fn from_config(providers: &[ProviderConfig]) -> Self {
        Self::from_config_with_env(providers, |var| std::env::var(var).ok())
    }

    /// [`Gateway::from_config`] with the environment lookup given, for tests.
    pub fn from_config_with_env(
        providers: &[ProviderConfig],
        env: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let mut built = Vec::new();
        for cfg in providers {
            let key = if cfg.api_key_env.trim().is_empty() {
                None
            } else {
                match env(cfg.api_key_env.trim()).filter(|k| !k.trim().is_empty()) {
                    Some(k) => Some(k.trim().to_string()),
                    None => {
                        tracing::warn!(
                            "provider `{}` skipped: environment variable {} is not set \
                             (set it to the API key, or leave api_key_env empty for a keyless server)",
                            cfg.name,
                            cfg.api_key_env
                        );
                        continue;
                    }
                }
            };
            if built.iter().any(|p: &Arc<Provider>| p.name == cfg.name) {
                tracing::warn!(
                    "two providers are named `{}`: give each a unique name so logs and status tell them apart",
                    cfg.name
                );
            }
            match Provider::new(cfg, key) {
                Ok(p) => built.push(Arc::new(p)),
                Err(e) => tracing::warn!("provider `{}` skipped: {e}", cfg.name),
            }
        }
        Gateway { providers: built }
    }

    pub fn is_configured(&self) -> bool {
        !self.providers.is_empty()
    }

    /// Names of the providers in use, in the order they are tried.
    pub fn provider_names(&self) -> Vec<String> {
        self.providers.iter().map(|p| p.name.clone()).collect()
    }

    /// The circuit breaker of provider `name` (None if there is no such provider in use).
    pub fn breaker_state(&self, name: &str) -> Option<BreakerState> {
        self.providers
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.breaker.state(Instant::now()))
    }

    /// Every provider in use, in order, with its breaker: for health and status pages.
    pub fn provider_status(&self) -> Vec<ProviderStatus> {
        let now = Instant::now();
        self.providers
            .iter()
            .map(|p| ProviderStatus {
                name: p.name.clone(),
                model: p.model.clone(),
                breaker: p.breaker.state(now),
            })
            .collect()
    }

    /// Generates a completion. With `deltas`, text is sent there as it arrives; the returned
    /// [`Generation`] holds the whole text. Dropping the future cancels the upstream request.
    ///
    /// Deadlines are per provider: each one tried gets its `timeout_secs` (quota wait, retries
    /// and backoff included); streamed answers must also show a first token (answer or
    /// reasoning) within `first_token_timeout_secs` of each request.
    pub async fn generate(
        &self,
        req: &ChatRequest,
        lane: Lane,
        deltas: Option<mpsc::Sender<String>>,
    ) -> Result<Generation, LlmError> {
        if self.providers.is_empty() {
            return Err(LlmError::Failed {
                detail: "no LLM provider is configured (add a [[providers]] section)".into(),
            });
        }
        let started = Instant::now();
        let estimate = estimate_tokens(&[&req.system, &req.user]);
        let mut attempts = 0u32;
        let mut turns = Vec::new();
        for p in &self.providers {
            let turn = self
                .provider_turn(p, req, lane, deltas.as_ref(), estimate, &mut attempts)
                .await;
            match turn {
                Ok(answer) => {
                    let g = Generation {
                        text: answer.text,
                        provider: p.name.clone(),
                        model: answer.model.unwrap_or_else(|| p.model.clone()),
                        attempts,
                        usage: answer.usage,
                        latency_ms: u64::try_from(started.elapsed().as_millis())
                            .unwrap_or(u64::MAX),
                    };
                    tracing::info!(
                        provider = %g.provider,
                        model = %g.model,
                        attempts = g.attempts,
                        latency_ms = g.latency_ms,
                        prompt_tokens = g.usage.map(|u| u.prompt_tokens),
                        completion_tokens = g.usage.map(|u| u.completion_tokens),
                        "generated"
                    );
                    return Ok(g);
                }
                Err(TurnEnd::Final(e)) => return Err(e),
                Err(TurnEnd::Next(t)) => {
                    match &t {
                        Turn::Busy(_, why) | Turn::Failed(why) => {
                            tracing::warn!(provider = %p.name, "falling back to the next provider: {why}")
                        }
                    }
                    turns.push((p.name.clone(), t));
                }
            }
        }
        let detail = turns
            .iter()
            .map(|(name, t)| match t {
                Turn::Busy(_, why) | Turn::Failed(why) => format!("{name}: {why}"),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let all_busy = turns.iter().all(|(_, t)| matches!(t, Turn::Busy(..)));
        if all_busy {
            let retry_after = turns
                .iter()
                .filter_map(|(_, t)| match t {
                    Turn::Busy(d, _) => Some(*d),
                    Turn::Failed(_) => None,
                })
                .min()
                .unwrap_or(Duration::from_secs(1))
                .max(Duration::from_secs(1));
            Err(LlmError::Unavailable {
                retry_after,
                detail,
            })
        } else {
            Err(LlmError::Failed { detail })
        }
    }

    /// Tries one provider: quota, attempts with backoff, breaker bookkeeping.
    async fn provider_turn(
        &self,
        p: &Provider,
        req: &ChatRequest,
        lane: Lane,
        deltas: Option<&mpsc::Sender<String>>,
        estimate: u32,
        attempts: &mut u32,
    ) -> Result<provider::Answer, TurnEnd> {
        let turn_start = Instant::now();
        let deadline = turn_start + p.timeout;
        let reserve = estimate.saturating_add(req.max_tokens);
        let mut last: Option<CallError> = None;
        for attempt in 1..=p.max_attempts {
            if let Err(wait) = p.breaker.allow(Instant::now()) {
                return Err(TurnEnd::Next(match last {
                    Some(e) => Turn::Failed(format!("{e}; then the circuit breaker opened")),
                    None => Turn::Busy(
                        wait,
                        format!(
                            "circuit breaker open for another {:.1}s",
                            wait.as_secs_f64()
                        ),
                    ),
                }));
            }
            let admission = match p.limiter.admit(lane, reserve, deadline).await {
                Ok(a) => a,
                Err(busy) => {
                    return Err(TurnEnd::Next(match last {
                        Some(e) if !e.is_rate_limited() => {
                            Turn::Failed(format!("{e}; then {}", busy.reason))
                        }
                        _ => Turn::Busy(busy.retry_after, busy.reason),
                    }))
                }
            };
            *attempts += 1;
            let mut forwarded = false;
            let result = match deltas {
                Some(tx) => p.stream(req, tx, deadline, &mut forwarded).await,
                None => p.complete(req, deadline).await,
            };
            match result {
                Ok(answer) => {
                    p.breaker.record_success();
                    let used = answer
                        .usage
                        .map(|u| u.prompt_tokens.saturating_add(u.completion_tokens));
                    if let Some(used) = used {
                        p.limiter.settle(admission.reserved_tokens, used);
                    }
                    return Ok(answer);
                }
                Err(e) => {
                    drop(admission);
                    if e.counts_for_breaker() && p.breaker.record_failure(Instant::now()) {
                        tracing::warn!(provider = %p.name, "circuit breaker opened after {e}");
                    }
                    tracing::warn!(provider = %p.name, attempt, "request failed: {e}");
                    if forwarded {
                        return Err(TurnEnd::Final(LlmError::Truncated {
                            detail: format!("{}: {e}", p.name),
                        }));
                    }
                    if let CallError::Empty(why) = &e {
                        return Err(TurnEnd::Final(LlmError::Empty {
                            detail: format!("{}: {why}", p.name),
                        }));
                    }
                    if let Some(ra) = e.retry_after() {
                        p.limiter.pause_until(Instant::now() + ra);
                    }
                    if !e.retryable() {
                        return Err(TurnEnd::Next(Turn::Failed(format!("{e} (not retried)"))));
                    }
                    if attempt == p.max_attempts {
                        let why = format!("{e} (after {attempt} attempts)");
                        return Err(TurnEnd::Next(if e.is_rate_limited() {
                            Turn::Busy(e.retry_after().unwrap_or(Duration::from_secs(1)), why)
                        } else {
                            Turn::Failed(why)
                        }));
                    }
                    let wait = retry::backoff(attempt, e.retry_after());
                    if Instant::now() + wait >= deadline {
                        let why = format!(
                            "{e}; a retry in {:.1}s would pass the deadline",
                            wait.as_secs_f64()
                        );
                        return Err(TurnEnd::Next(if e.is_rate_limited() {
                            Turn::Busy(wait, why)
                        } else {
                            Turn::Failed(why)
                        }));
                    }
                    tokio::time::sleep(wait).await;
                    last = Some(e);
                }
            }
        }
        // Unreachable in practice: the loop returns on its last attempt.
        Err(TurnEnd::Next(Turn::Failed(last.map_or_else(
            || "no attempt made".to_string(),
            |e| e.to_string(),
        ))))
    }
}

enum TurnEnd {
    /// Try the next provider.
    Next(Turn),
    /// Stop: the error would repeat elsewhere or text was already streamed.
    Final(LlmError),
}
