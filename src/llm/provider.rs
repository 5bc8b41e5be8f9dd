//! One configured provider: its client, quota, breaker and limits, and a single request to it.

use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio::time::{timeout_at, Instant};

use crate::config::ProviderConfig;

use super::breaker::Breaker;
use super::limiter::Limiter;
use super::retry::CallError;
use super::stream;
use super::transport::{HttpStatusError, Transport};
use super::wire::{self, WireResponse};
use super::{ChatRequest, Usage};

pub struct Provider {
    pub name: String,
    pub model: String,
    extra: Map<String, Value>,
    client: async_openai::Client<OpenAIConfig>,
    pub limiter: Limiter,
    pub breaker: Breaker,
    pub max_attempts: u32,
    pub timeout: Duration,
    pub first_token_timeout: Duration,
}

/// A successful answer from one request.
#[derive(Debug)]
pub struct Answer {
    pub text: String,
    pub usage: Option<Usage>,
    pub model: Option<String>,
}

impl Provider {
    /// Builds the provider; `api_key` is `None` for keyless servers. The error names what is
    /// wrong in the configuration.
    pub fn new(cfg: &ProviderConfig, api_key: Option<String>) -> Result<Provider, String> {
        let base = cfg.base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "base_url `{}` must start with http:// or https://",
                cfg.base_url
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs.max(1)))
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("could not build the HTTP client: {e}"))?;
        // Empty organisation and project: OpenAIConfig would otherwise pick them up from
        // OPENAI_* variables and send them to every provider.
        let config = OpenAIConfig::new()
            .with_api_base(base)
            .with_api_key(api_key.unwrap_or_default())
            .with_org_id("")
            .with_project_id("");
        let client = async_openai::Client::build(http.clone(), config)
            .with_http_service(Transport::new(http));
        let extra = match serde_json::to_value(&cfg.extra) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        Ok(Provider {
            name: cfg.name.clone(),
            model: cfg.model.clone(),
            extra,
            client,
            limiter: Limiter::new(cfg.rpm, cfg.tpm, cfg.max_concurrency),
            breaker: Breaker::new(
                cfg.breaker_failures,
                Duration::from_secs(cfg.breaker_cooldown_secs),
            ),
            max_attempts: cfg.max_attempts.max(1),
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            first_token_timeout: Duration::from_secs(cfg.first_token_timeout_secs.max(1)),
        })
    }

    /// One request, non-streaming, bounded by `deadline`.
    pub async fn complete(
        &self,
        req: &ChatRequest,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        let body = wire::request_body(&self.model, req, false, &self.extra);
        let chat = self.client.chat();
        let call = chat.create_byot::<Value, WireResponse>(body);
        let resp = match timeout_at(deadline, call).await {
            Err(_) => {
                return Err(CallError::Timeout(format!(
                    "no complete answer within {}s",
                    self.timeout.as_secs()
                )))
            }
            Ok(Err(e)) => return Err(classify(e)),
            Ok(Ok(r)) => r,
        };
        if let Some(err) = &resp.error {
            return Err(CallError::Provider(err.describe()));
        }
        let finish = resp.finish_reason().unwrap_or("").to_string();
        if wire::is_filtered(&finish) {
            return Err(CallError::Empty(format!("finish_reason {finish}")));
        }
        if wire::is_provider_abort(&finish) {
            return Err(CallError::Provider(format!(
                "the provider stopped: finish_reason {finish}"
            )));
        }
        let text = stream::strip_think(resp.message_text().unwrap_or(""));
        if text.trim().is_empty() {
            return Err(CallError::Empty(if resp.choices.is_empty() {
                "no choices in the answer".into()
            } else {
                format!("no text, finish_reason {finish}")
            }));
        }
        if finish == "length" {
            tracing::warn!(provider = %self.name, "the answer was cut at max_tokens (finish_reason length)");
        }
        Ok(Answer {
            text,
            usage: resp.usage(),
            model: resp.model.clone().filter(|m| !m.is_empty()),
        })
    }

    /// One request, streaming into `deltas`. See [`stream::read`] for `forwarded`.
    pub async fn stream(
        &self,
        req: &ChatRequest,
        deltas: &mpsc::Sender<String>,
        deadline: Instant,
        forwarded: &mut bool,
    ) -> Result<Answer, CallError> {
        let first_deadline = (Instant::now() + self.first_token_timeout).min(deadline);
        let body = wire::request_body(&self.model, req, true, &self.extra);
        let chat = self.client.chat();
        let call = chat.create_stream_byot::<Value, WireResponse>(body);
        let events = match timeout_at(first_deadline, call).await {
            Err(_) => {
                return Err(CallError::Timeout(format!(
                    "no response within the first-token timeout ({}s)",
                    self.first_token_timeout.as_secs()
                )))
            }
            Ok(Err(e)) => return Err(classify(e)),
            Ok(Ok(s)) => s,
        };
        let s = stream::read(events, Some(deltas), first_deadline, deadline, forwarded).await?;
        Ok(Answer {
            text: s.text,
            usage: s.usage,
            model: s.model,
        })
    }
}

/// Sorts async-openai's errors into the failures the retry policy knows.
pub fn classify(e: OpenAIError) -> CallError {
    match e {
        OpenAIError::Boxed(inner) => match inner.downcast::<HttpStatusError>() {
            Ok(h) => CallError::Http {
                status: h.status,
                retry_after: h.retry_after,
                message: h.message,
            },
            Err(other) => CallError::Connection(other.to_string()),
        },
        OpenAIError::Reqwest(err) => {
            if err.is_timeout() {
                CallError::Timeout(err.to_string())
            } else {
                CallError::Connection(describe_reqwest(&err))
            }
        }
        OpenAIError::ApiError(api) => CallError::Http {
            status: api.status_code.as_u16(),
            retry_after: None,
            message: api.api_error.message,
        },
        // The content may hold the customer's words: keep only the parser's message.
        OpenAIError::JSONDeserialize(err, _content) => {
            CallError::Malformed(format!("the answer is not valid JSON: {err}"))
        }
        OpenAIError::StreamError(err) => CallError::Cut(err.to_string()),
        OpenAIError::InvalidArgument(m) => CallError::Local(m),
        other => CallError::Local(other.to_string()),
    }
}

/// reqwest's Display hides the cause ("error sending request"); add the innermost source.
fn describe_reqwest(err: &reqwest::Error) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    match last {
        Some(cause) => format!("{err}: {cause}"),
        None => err.to_string(),
    }
}
