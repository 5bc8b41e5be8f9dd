//! The HTTP transport handed to async-openai in place of its default one.
//!
//! async-openai 0.43 wraps its default transport in a retry layer (429, 5xx, connect errors,
//! honouring `Retry-After`, no jitter) that cannot be configured away, and it turns error
//! responses into `ApiError` without their headers. The gateway owns retries (attempt counts,
//! the breaker and fallback must see every failure) and needs `Retry-After`, so this transport
//! sends each request exactly once and turns a non-2xx answer into an [`HttpStatusError`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use reqwest::header::HeaderMap;

/// A provider answered with a status other than 2xx.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status}: {message}")]
pub struct HttpStatusError {
    pub status: u16,
    /// From `Retry-After` (seconds or HTTP date) or `retry-after-ms`.
    pub retry_after: Option<Duration>,
    /// The start of the body, for diagnostics.
    pub message: String,
}

/// Sends each request once, without retries.
#[derive(Clone, Debug)]
pub struct Transport {
    client: reqwest::Client,
}

impl Transport {
    pub fn new(client: reqwest::Client) -> Transport {
        Transport { client }
    }
}

type TransportFuture = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = TransportFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let response = client
                .execute(request)
                .await
                .map_err(OpenAIError::Reqwest)?;
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let retry_after = retry_after(response.headers());
            let body = read_capped(response, ERROR_BODY_CAP).await;
            Err(OpenAIError::Boxed(Box::new(HttpStatusError {
                status: status.as_u16(),
                retry_after,
                message: summarize_error_body(&body),
            })))
        })
    }
}

/// Enough of an error body to explain it; a provider sending more is not read further.
const ERROR_BODY_CAP: usize = 16 * 1024;

async fn read_capped(mut response: reqwest::Response, cap: usize) -> String {
    let mut buf = Vec::new();
    while buf.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            _ => break,
        }
    }
    buf.truncate(cap);
    String::from_utf8_lossy(&buf).into_owned()
}

/// `retry-after-ms`, else `Retry-After` as seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        header_str(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
    {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = header_str(headers, "retry-after")?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `error.message` of an OpenAI-style body, else the body's start (HTML from proxies).
fn summarize_error_body(body: &str) -> String {
    if let Ok(parsed) = serde_json::from_str::<super::wire::WireResponse>(body) {
        if let Some(err) = parsed.error {
            return truncate(&err.describe(), 300);
        }
    }
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&flat, 200)
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn retry_after_seconds_ms_and_dates() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "3")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after-ms", "250"), ("retry-after", "3")])),
            Some(Duration::from_millis(250))
        );
        let past = retry_after(&headers(&[(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT",
        )]));
        assert_eq!(past, Some(Duration::ZERO));
        let future = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = retry_after(&headers(&[("retry-after", &future)])).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn error_bodies_are_summarized() {
        assert_eq!(
            summarize_error_body(r#"{"error":{"message":"Invalid API key","code":"invalid_key"}}"#),
            "Invalid API key (code \"invalid_key\")"
        );
        assert_eq!(
            summarize_error_body("<html>\n  <b>502</b>\n</html>"),
            "<html> <b>502</b> </html>"
        );
        assert!(summarize_error_body(&"x".repeat(1000)).chars().count() <= 201);
    }
}
