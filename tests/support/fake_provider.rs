//! An in-process fake of an OpenAI-compatible chat-completions server for tests.
//!
//! ```ignore
//! let fake = FakeProvider::start().await;            // 127.0.0.1:<random port>
//! fake.push(Behaviour::Status429 { retry_after_secs: Some(1) }); // first call
//! fake.push(Behaviour::Ok("好的".into()));             // second call
//! let provider = fake.provider_config("fake");      // points kefu at it
//! // … run the code under test …
//! assert_eq!(fake.calls(), 2);
//! assert!(!fake.bodies_text().contains("13812345678"));
//! ```
//!
//! It answers `POST /v1/chat/completions` as JSON, or as SSE (`data: {…}\n\n` chunks, then
//! `data: [DONE]`) when the request body has `"stream": true`. Each request takes the next
//! [`Behaviour`] from the script ([`FakeProvider::push`]); with the script empty it uses the
//! default behaviour ([`FakeProvider::set_default`]), initially [`Behaviour::Ok`] with
//! [`DEFAULT_REPLY`], a fixed reply that echoes nothing from the request.
//!
//! Every request body is recorded ([`FakeProvider::requests`]). An optional quota
//! ([`FakeProvider::set_quota`]) answers 429 to requests over the limit without consuming the
//! script, and counts them ([`FakeProvider::quota_rejections`]). Responses the client abandoned
//! before they were complete are counted by [`FakeProvider::abandoned`]. For streamed answers
//! each record also notes when the first and the last event were handed to the server
//! ([`Recorded::sent`]), so a benchmark can time a client against the provider's first token.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::stream::{self, Stream, StreamExt};
use serde_json::{json, Value};

use kefu::config::ProviderConfig;

/// The reply when a test does not script one: fixed, and free of anything personal.
pub const DEFAULT_REPLY: &str =
    "亲，您好！已为您查询，商品支持七天无理由退货，具体以订单页面信息为准哦～";

/// The model name the fake reports.
pub const FAKE_MODEL: &str = "fake-model";

/// What the fake does with one request.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answers `text` (as one JSON message, or streamed in a few chunks when asked to stream).
    Ok(String),
    /// Streams these chunks with `delay` before each (a JSON request gets them joined).
    OkStream {
        chunks: Vec<String>,
        delay: Duration,
    },
    /// 429 with an OpenAI-style JSON error and, when given, a `Retry-After` header (seconds).
    Status429 { retry_after_secs: Option<u64> },
    /// 500 with a plain-text (non-JSON) body, as proxies send.
    Status500,
    /// Any status with an OpenAI-style JSON error body (e.g. 400, 401, 403, 503).
    Status(u16),
    /// Never answers; the request stays open until the client gives up.
    Hang,
    /// Waits this long before the first byte of content. Streaming requests get their headers
    /// at once and `: keep-alive` comment lines meanwhile, as some providers send.
    SlowFirstByte(Duration),
    /// 200 with a body that is not JSON (a JSON request) or a chunk that is not (streaming).
    MalformedJson,
    /// Streams these chunks, then breaks the connection without `finish_reason` or `[DONE]`.
    StreamCut { chunks: Vec<String> },
    /// DeepSeek reasoner: `reasoning_content` (in the message, or in the first deltas) before
    /// the answer `text`.
    ReasoningContent { reasoning: String, text: String },
    /// A well-formed completion whose content is empty (`finish_reason: "content_filter"`).
    Empty,
    /// Streams these chunks, then sends `data: {"error": {…}}` mid-stream and ends.
    StreamError { chunks: Vec<String> },
    /// An SSE stream of these events, each `data: <payload>` sent after its delay; nothing is
    /// added (send `"[DONE]"` yourself if wanted). For timing cases not covered above.
    TimedEvents(Vec<(Duration, String)>),
    /// Exactly this status, content type and body, for wire-format cases not covered above.
    Raw {
        status: u16,
        content_type: String,
        body: String,
    },
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
    /// The `Authorization` header, when sent.
    pub authorization: Option<String>,
    /// When it arrived.
    pub at: Instant,
    /// When the answer's first and last SSE event were handed to the server (streamed answers).
    pub sent: Arc<SentTimes>,
}

/// When a streamed answer's events left the fake (set once each; unset when never sent).
#[derive(Debug, Default)]
pub struct SentTimes {
    pub first: OnceLock<Instant>,
    pub last: OnceLock<Instant>,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Behaviour>,
    default: Option<Behaviour>,
    latency: Duration,
    quota: Option<(usize, Duration)>,
    accepted: VecDeque<Instant>,
    requests: Vec<Recorded>,
}

struct Shared {
    inner: Mutex<Inner>,
    quota_rejections: AtomicUsize,
    abandoned: AtomicUsize,
    completed: AtomicUsize,
}

/// A running fake; the server stops when this is dropped.
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeProvider {
    /// Starts a fake on 127.0.0.1 with a random free port.
    pub async fn start() -> FakeProvider {
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            quota_rejections: AtomicUsize::new(0),
            abandoned: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake provider");
        let addr = listener.local_addr().expect("fake provider address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeProvider {
            addr,
            shared,
            server,
        }
    }

    /// `http://127.0.0.1:<port>/v1`, the base URL a client appends `/chat/completions` to.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A keyless provider configuration pointing at this fake, with short timeouts suited to
    /// tests (timeout 5 s, connect 1 s, first token 2 s) and generous quotas.
    pub fn provider_config(&self, name: &str) -> ProviderConfig {
        // Built through serde so that keys added later keep their defaults.
        serde_json::from_value(json!({
            "name": name,
            "base_url": self.base_url(),
            "model": FAKE_MODEL,
            "api_key_env": "",
            "rpm": 6000,
            "tpm": 10_000_000,
            "max_concurrency": 64,
            "timeout_secs": 5,
            "connect_timeout_secs": 1,
            "first_token_timeout_secs": 2,
            "max_tokens": 256,
            "temperature": 0.3,
        }))
        .expect("fake provider config")
    }

    /// Appends a behaviour for the next unscripted request.
    pub fn push(&self, behaviour: Behaviour) {
        self.lock().script.push_back(behaviour);
    }

    /// Appends several behaviours, in order.
    pub fn script(&self, behaviours: impl IntoIterator<Item = Behaviour>) {
        self.lock().script.extend(behaviours);
    }

    /// What to do once the script is used up (initially `Ok(DEFAULT_REPLY)`).
    pub fn set_default(&self, behaviour: Behaviour) {
        self.lock().default = Some(behaviour);
    }

    /// Extra delay before every answer (before the headers).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Accepts at most `max` requests in any sliding `window`; others get 429 with
    /// `Retry-After` and are counted in [`FakeProvider::quota_rejections`].
    pub fn set_quota(&self, max: usize, window: Duration) {
        let mut inner = self.lock();
        inner.quota = Some((max, window));
        inner.accepted.clear();
    }

    /// Every request received, in arrival order (quota rejections included).
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// How many requests arrived.
    pub fn calls(&self) -> usize {
        self.lock().requests.len()
    }

    /// All request bodies as one string, for "was X ever sent" assertions.
    pub fn bodies_text(&self) -> String {
        self.lock()
            .requests
            .iter()
            .map(|r| r.body.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Requests refused by the quota.
    pub fn quota_rejections(&self) -> usize {
        self.shared.quota_rejections.load(Ordering::SeqCst)
    }

    /// Responses the client dropped (closed the connection) before they were complete.
    pub fn abandoned(&self) -> usize {
        self.shared.abandoned.load(Ordering::SeqCst)
    }

    /// Responses sent to the end as scripted.
    pub fn completed(&self) -> usize {
        self.shared.completed.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` for [`FakeProvider::abandoned`] to reach `n`; true if it did.
    pub async fn wait_abandoned(&self, n: usize, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if self.abandoned() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.abandoned() >= n
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Counts a response as abandoned if it is dropped before `done()`.
struct Watch {
    shared: Arc<Shared>,
    sent: Arc<SentTimes>,
    done: bool,
}

impl Watch {
    fn new(shared: &Arc<Shared>, sent: Arc<SentTimes>) -> Watch {
        Watch {
            shared: shared.clone(),
            sent,
            done: false,
        }
    }
    fn done(mut self) {
        self.done = true;
        self.shared.completed.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if !self.done {
            self.shared.abandoned.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let stream = json.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let prompt_chars: usize = json
        .get("messages")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .map(|c| c.chars().count())
                .sum()
        })
        .unwrap_or(0);
    let sent = Arc::new(SentTimes::default());
    let (behaviour, latency, over_quota) = {
        let mut inner = shared.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        inner.requests.push(Recorded {
            body: json.clone(),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            at: now,
            sent: sent.clone(),
        });
        let mut over = false;
        if let Some((max, window)) = inner.quota {
            while inner
                .accepted
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                inner.accepted.pop_front();
            }
            if inner.accepted.len() >= max {
                over = true;
            } else {
                inner.accepted.push_back(now);
            }
        }
        let behaviour = if over {
            None
        } else {
            Some(
                inner
                    .script
                    .pop_front()
                    .or_else(|| inner.default.clone())
                    .unwrap_or_else(|| Behaviour::Ok(DEFAULT_REPLY.to_string())),
            )
        };
        (behaviour, inner.latency, over)
    };
    let watch = Watch::new(&shared, sent);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let Some(behaviour) = behaviour else {
        debug_assert!(over_quota);
        shared.quota_rejections.fetch_add(1, Ordering::SeqCst);
        watch.done();
        return error_response(429, Some(1), "rate_limit_exceeded", "quota exceeded");
    };
    let usage = |completion: &str| {
        json!({
            "prompt_tokens": prompt_chars as u64,
            "completion_tokens": completion.chars().count() as u64,
            "total_tokens": (prompt_chars + completion.chars().count()) as u64,
        })
    };
    match behaviour {
        Behaviour::Ok(text) => {
            if stream {
                let chunks = split_chunks(&text);
                sse(watch, chunk_events(&chunks, Duration::ZERO, usage(&text)))
            } else {
                watch.done();
                json_completion(&text, None, "stop", usage(&text))
            }
        }
        Behaviour::OkStream { chunks, delay } => {
            let text = chunks.concat();
            if stream {
                sse(watch, chunk_events(&chunks, delay, usage(&text)))
            } else {
                tokio::time::sleep(delay * chunks.len() as u32).await;
                watch.done();
                json_completion(&text, None, "stop", usage(&text))
            }
        }
        Behaviour::Status429 { retry_after_secs } => {
            watch.done();
            error_response(429, retry_after_secs, "rate_limit_exceeded", "slow down")
        }
        Behaviour::Status500 => {
            watch.done();
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>502 Bad Gateway (upstream)</body></html>",
            )
                .into_response()
        }
        Behaviour::Status(code) => {
            watch.done();
            error_response(code, None, "fake_error", "scripted error")
        }
        Behaviour::Hang => {
            // Never answers; `watch` counts the drop when the client goes away.
            let _watch = watch;
            std::future::pending::<Response>().await
        }
        Behaviour::SlowFirstByte(wait) => {
            let text = DEFAULT_REPLY.to_string();
            if stream {
                let ticks = (wait.as_millis() / 100) as usize;
                let keepalive = stream::iter(0..ticks).then(|_| async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Bytes::from_static(b": keep-alive\n\n")
                });
                let rest = chunk_events(&split_chunks(&text), Duration::ZERO, usage(&text));
                sse(watch, keepalive.chain(rest))
            } else {
                tokio::time::sleep(wait).await;
                watch.done();
                json_completion(&text, None, "stop", usage(&text))
            }
        }
        Behaviour::MalformedJson => {
            if stream {
                let events = vec![
                    event(&chunk_json(Some("亲"), None, None)),
                    Bytes::from_static(b"data: {\"choices\": [{\"delta\": {\"content\": \n\n"),
                ];
                sse(watch, stream::iter(events))
            } else {
                watch.done();
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    "{\"id\": \"x\", \"choices\": [ {\"message\": ",
                )
                    .into_response()
            }
        }
        Behaviour::StreamCut { chunks } => {
            let head: Vec<Result<Bytes, std::io::Error>> = chunks
                .iter()
                .map(|c| Ok(event(&chunk_json(Some(c), None, None))))
                .collect();
            let cut = stream::iter(head).chain(stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::other("fake: connection cut"))
            }));
            // A cut connection is the scripted ending, not the client abandoning it.
            watch.done();
            stream_response(cut)
        }
        Behaviour::ReasoningContent { reasoning, text } => {
            if stream {
                let mut events: Vec<Bytes> = split_chunks(&reasoning)
                    .iter()
                    .map(|r| {
                        event(&json!({
                            "id": "fake", "object": "chat.completion.chunk", "created": 0,
                            "model": FAKE_MODEL,
                            "choices": [{"index": 0, "delta": {"role": "assistant", "content": null, "reasoning_content": r}, "finish_reason": null}]
                        }))
                    })
                    .collect();
                let chunks = split_chunks(&text);
                events.extend(
                    chunks
                        .iter()
                        .map(|c| event(&chunk_json(Some(c), None, None))),
                );
                events.push(event(&chunk_json(None, Some("stop"), Some(usage(&text)))));
                events.push(Bytes::from_static(b"data: [DONE]\n\n"));
                sse(watch, stream::iter(events))
            } else {
                watch.done();
                json_completion(&text, Some(&reasoning), "stop", usage(&text))
            }
        }
        Behaviour::Empty => {
            if stream {
                let events = vec![
                    event(&chunk_json(Some(""), None, None)),
                    event(&chunk_json(None, Some("content_filter"), Some(usage("")))),
                    Bytes::from_static(b"data: [DONE]\n\n"),
                ];
                sse(watch, stream::iter(events))
            } else {
                watch.done();
                json_completion("", None, "content_filter", usage(""))
            }
        }
        Behaviour::StreamError { chunks } => {
            let mut events: Vec<Bytes> = chunks
                .iter()
                .map(|c| event(&chunk_json(Some(c), None, None)))
                .collect();
            events.push(event(&json!({
                "error": {"message": "upstream overloaded", "type": "server_error", "code": "overloaded"}
            })));
            sse(watch, stream::iter(events))
        }
        Behaviour::TimedEvents(events) => {
            let events = stream::iter(events).then(|(delay, payload)| async move {
                tokio::time::sleep(delay).await;
                Bytes::from(format!("data: {payload}\n\n"))
            });
            sse(watch, events)
        }
        Behaviour::Raw {
            status,
            content_type,
            body,
        } => {
            watch.done();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
        }
    }
}

fn split_chunks(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect()).collect()
}

fn event(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

fn chunk_json(content: Option<&str>, finish_reason: Option<&str>, usage: Option<Value>) -> Value {
    let mut chunk = json!({
        "id": "fake-chunk",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": FAKE_MODEL,
        "choices": [{
            "index": 0,
            "delta": match content { Some(c) => json!({"role": "assistant", "content": c}), None => json!({}) },
            "finish_reason": finish_reason,
        }],
    });
    if let Some(u) = usage {
        chunk["usage"] = u;
    }
    chunk
}

/// Content chunks (with `delay` before each), then a final chunk with `finish_reason` and
/// usage, then `[DONE]`.
fn chunk_events(
    chunks: &[String],
    delay: Duration,
    usage: Value,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let mut events: Vec<Bytes> = chunks
        .iter()
        .map(|c| event(&chunk_json(Some(c), None, None)))
        .collect();
    let content_events = events.len();
    events.push(event(&chunk_json(None, Some("stop"), Some(usage))));
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    stream::iter(events.into_iter().enumerate()).then(move |(i, e)| async move {
        if i < content_events && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        e
    })
}

/// An SSE response that marks `watch` done after its last event.
fn sse(watch: Watch, events: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let sent = watch.sent.clone();
    let events = events.inspect(move |_| {
        sent.first.get_or_init(Instant::now);
    });
    // The server asks for the tail once the last event (`[DONE]`) has been taken.
    let last = watch.sent.clone();
    let mut watch = Some(watch);
    let tail = stream::poll_fn(move |_| {
        last.last.get_or_init(Instant::now);
        if let Some(w) = watch.take() {
            w.done();
        }
        std::task::Poll::Ready(None::<Bytes>)
    });
    // The watch lives inside the body stream: if the client goes away, the body is dropped
    // before the tail runs and the response counts as abandoned.
    let body = events.chain(tail).map(Ok::<_, Infallible>);
    stream_response(body)
}

fn stream_response<E>(body: impl Stream<Item = Result<Bytes, E>> + Send + 'static) -> Response
where
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn json_completion(text: &str, reasoning: Option<&str>, finish: &str, usage: Value) -> Response {
    let mut message = json!({"role": "assistant", "content": text});
    if let Some(r) = reasoning {
        message["reasoning_content"] = json!(r);
    }
    let body = json!({
        "id": "fake-completion",
        "object": "chat.completion",
        "created": 0,
        "model": FAKE_MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

fn error_response(code: u16, retry_after: Option<u64>, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"message": message, "type": kind, "code": kind}});
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(secs) = retry_after {
        if let Ok(v) = secs.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}
