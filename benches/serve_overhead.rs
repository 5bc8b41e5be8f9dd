//! Overhead of `kefu serve`: the real binary runs as a child process against the in-process fake
//! provider, and this process drives `POST /v1/suggest` with `"stream": true` over HTTP. In the
//! same run, alternating round by round, it calls the fake directly with the same prompt and
//! the same HTTP client stack (reqwest, the same SSE splitter).
//!
//! Three loads:
//! - **1**: one request at a time, the provider answering in ~60 ms (12 chunks 5 ms apart);
//! - **100 released together**: rounds of 100 requests sent in the same instant, same answer;
//! - **100 held**: 100 streams open at all times for 20 s per path and round, each starting its
//!   next request when the previous ended, the provider answering like a hosted model (40
//!   chunks 50 ms apart, 2 s); the streams start 20 ms apart, as a team of agents spreads its
//!   clicks. This is "100 concurrent streams" in steady state.
//!
//! Per request it measures time to the first `delta` (direct: first content chunk) and to the
//! `draft` event (direct: `[DONE]`), and, from the fake's own timestamps, when the provider got
//! the request and when it sent its first and last event. So "first delta after the provider's
//! first token" is measured per request, not inferred from the difference between paths.
//!
//! Run: `cargo bench --bench serve_overhead` (`-- --quick` for a smoke run), or at opt-level 2
//! without release-built dependencies:
//! `CARGO_PROFILE_DEV_OPT_LEVEL=2 cargo bench --profile dev --bench serve_overhead`.

#[path = "../tests/support/fake_provider.rs"]
#[allow(dead_code)]
mod fake_provider;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_provider::{Behaviour, FakeProvider, Recorded};
use futures::StreamExt;
use kefu::config::Config;
use serde_json::{json, Value};

/// The `kefu` binary cargo built for this bench.
const KEFU: &str = env!("CARGO_BIN_EXE_kefu");

/// Server-side step timings that `kefu serve` returns with every draft.
const STAGES: [&str; 7] = [
    "redact_ms",
    "retrieve_ms",
    "prompt_ms",
    "generate_ms",
    "check_ms",
    "store_ms",
    "total_ms",
];

/// The two ways to the provider, indexes into per-path arrays.
const DIRECT: usize = 0;
const KEFU_PATH: usize = 1;

/// One request as the client saw it.
struct Sample {
    tag: String,
    sent: Instant,
    first: Instant,
    end: Instant,
    /// kefu only: the draft's `timings`, in the order of [`STAGES`].
    stages: Option<[f64; 7]>,
}

/// A child `kefu serve`; killed when dropped so a failed bench leaves no server behind.
struct KefuServe {
    child: Child,
    base: String,
}

impl Drop for KefuServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `kefu serve --config <file>` on port 0 and reads the address it reports on stderr.
/// stderr is drained for the whole run (a full pipe would stall the server's logging).
fn start_kefu(config_file: &Path, workdir: &Path) -> KefuServe {
    let mut command = Command::new(KEFU);
    // The config file is the whole configuration: no KEFU_* overrides from the caller's
    // environment, and kefu's default log level (what a deployment logs is part of its cost).
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("KEFU_") {
            command.env_remove(&var);
        }
    }
    let mut child = command
        .env("RUST_LOG", "info,tantivy=warn")
        .arg("serve")
        .arg("--config")
        .arg(config_file)
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {KEFU}: {e}"));
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel::<Result<String, String>>();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("kefu is listening on ").nth(1) {
                let addr = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches('/');
                if let Some(tx) = tx.take() {
                    let _ = tx.send(Ok(addr.to_string()));
                }
            } else if tx.is_some() {
                seen.push(line);
            }
        }
        if let Some(tx) = tx {
            let _ = tx.send(Err(seen.join("\n")));
        }
    });
    let base = match rx.recv_timeout(Duration::from_secs(300)) {
        Ok(Ok(base)) => base,
        Ok(Err(log)) => panic!("kefu serve exited before listening:\n{log}"),
        Err(_) => panic!("kefu serve did not report its address within 300 s"),
    };
    KefuServe { child, base }
}

/// Splits an SSE body into events, calling `on_event(event_name, data)` for each; stops when
/// it returns false.
async fn read_events(resp: reqwest::Response, mut on_event: impl FnMut(&str, &str) -> bool) {
    let mut bytes = resp.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = bytes.next().await {
        buf.extend_from_slice(&chunk.expect("SSE body"));
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let raw: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&raw);
            let (mut name, mut data) = ("message", String::new());
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            if data.is_empty() {
                continue; // keep-alive comment
            }
            if !on_event(name, &data) {
                return;
            }
        }
    }
}

/// A 3-turn chat as the console sends it; `tag` (an order number in the order facts) reaches
/// the provider's prompt and ties the provider's timestamps to this request.
fn suggest_body(tag: &str) -> Value {
    json!({
        "conversation": [
            {"role": "customer", "text": "在吗？我前天拍的电水壶怎么还没发货"},
            {"role": "agent", "text": "亲，在的呢，请问是在哪个平台下的单呀？"},
            {"role": "customer", "text": "淘宝上买的，什么时候能发货呀，能发顺丰吗"}
        ],
        "platform": "taobao",
        "order_facts": {"订单号": tag},
        "stream": true
    })
}

async fn via_kefu(client: reqwest::Client, url: Arc<str>, tag: String) -> Sample {
    let body = suggest_body(&tag);
    let sent = Instant::now();
    let resp = client
        .post(&*url)
        .json(&body)
        .send()
        .await
        .expect("kefu request");
    assert!(
        resp.status().is_success(),
        "kefu answered {}",
        resp.status()
    );
    let mut first = None;
    let mut draft = None;
    read_events(resp, |name, data| match name {
        "delta" => {
            first.get_or_insert_with(Instant::now);
            true
        }
        "draft" => {
            draft = Some((Instant::now(), data.to_string()));
            false
        }
        "error" => panic!("kefu sent an error event: {data}"),
        _ => true,
    })
    .await;
    let (end, draft) = draft.expect("a draft event");
    let draft: Value = serde_json::from_str(&draft).expect("draft JSON");
    assert_eq!(
        draft["mode"], "model",
        "the draft must come from the provider"
    );
    let t = &draft["timings"];
    let stages = STAGES.map(|k| t[k].as_f64().unwrap_or(f64::NAN));
    Sample {
        tag,
        sent,
        first: first.expect("at least one delta"),
        end,
        stages: Some(stages),
    }
}

async fn direct(client: reqwest::Client, url: Arc<str>, template: Arc<str>, tag: String) -> Sample {
    let body = template.replace(TEMPLATE_TAG, &tag);
    let sent = Instant::now();
    let resp = client
        .post(&*url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .expect("direct request");
    assert!(
        resp.status().is_success(),
        "fake answered {}",
        resp.status()
    );
    let mut first = None;
    let mut end = None;
    read_events(resp, |_, data| {
        if data == "[DONE]" {
            end = Some(Instant::now());
            return false;
        }
        let v: Value = serde_json::from_str(data).expect("chunk JSON");
        if v["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
        {
            first.get_or_insert_with(Instant::now);
        }
        true
    })
    .await;
    let end = end.expect("[DONE]");
    Sample {
        tag,
        sent,
        first: first.expect("a content chunk"),
        end,
        stages: None,
    }
}

/// The tag in the warm-up request whose provider body the direct path replays.
const TEMPLATE_TAG: &str = "BENCH-TEMPLATE-0";

/// The bench tag in a recorded provider request.
fn tag_of(r: &Recorded) -> Option<String> {
    let body = r.body.to_string();
    let at = body.find("BENCH-")?;
    let tag: String = body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Some(tag)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `b - a` in ms, negative when `b` is earlier.
fn delta_ms(a: Instant, b: Instant) -> f64 {
    if b >= a {
        ms(b - a)
    } else {
        -ms(a - b)
    }
}

fn pct(values: &[f64], p: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// CPU time (user + system) of process `pid` ("self" for this one), from /proc.
fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// What one path measured at one concurrency.
struct Measured {
    first: Vec<f64>,
    total: Vec<f64>,
    /// Client sent → provider received the request.
    to_provider: Vec<f64>,
    /// Provider sent its first event → client saw the first delta.
    first_after_provider: Vec<f64>,
    /// Provider sent its last event → client saw the draft / `[DONE]`.
    after_provider_done: Vec<f64>,
    /// Time to the first delta less the provider's own share (received → first event): what
    /// the path itself spent on the way there and back.
    outside_first: Vec<f64>,
    /// The same for the draft / `[DONE]`: total less received → last event.
    outside_total: Vec<f64>,
    stages: Vec<[f64; 7]>,
    kefu_cpu_ms: f64,
    own_cpu_ms: f64,
}

fn measure(samples: &[Sample], by_tag: &HashMap<String, &Recorded>) -> Measured {
    let mut m = Measured {
        first: Vec::new(),
        total: Vec::new(),
        to_provider: Vec::new(),
        first_after_provider: Vec::new(),
        after_provider_done: Vec::new(),
        outside_first: Vec::new(),
        outside_total: Vec::new(),
        stages: Vec::new(),
        kefu_cpu_ms: 0.0,
        own_cpu_ms: 0.0,
    };
    for s in samples {
        m.first.push(delta_ms(s.sent, s.first));
        m.total.push(delta_ms(s.sent, s.end));
        let r = by_tag
            .get(&s.tag)
            .unwrap_or_else(|| panic!("the fake has no request tagged {}", s.tag));
        m.to_provider.push(delta_ms(s.sent, r.at));
        let first = r.sent.first.get().expect("the fake sent a first event");
        let last = r.sent.last.get().expect("the fake sent its last event");
        m.first_after_provider.push(delta_ms(*first, s.first));
        m.after_provider_done.push(delta_ms(*last, s.end));
        m.outside_first
            .push(delta_ms(s.sent, r.at) + delta_ms(*first, s.first));
        m.outside_total
            .push(delta_ms(s.sent, r.at) + delta_ms(*last, s.end));
        if let Some(st) = s.stages {
            m.stages.push(st);
        }
    }
    m
}

fn config_file(dir: &Path, fake: &FakeProvider) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::default();
    config.server.addr = "127.0.0.1:0".into();
    config.storage.data_dir = dir.join("data");
    config.knowledge.dir = root.join("knowledge");
    config.prompts.dir = root.join("prompts");
    config.rules.dir = root.join("rules");
    let mut p = fake.provider_config("fake");
    // No request-rate or token pacing: pacing is the limiter doing its job, not overhead. The
    // admission queue and concurrency cap stay in the path.
    p.rpm = 0;
    p.tpm = 0;
    p.max_concurrency = 1000;
    p.timeout_secs = 30;
    p.first_token_timeout_secs = 10;
    config.providers = vec![p];
    let text = toml::to_string(&config).expect("config as TOML");
    let file = dir.join("kefu.toml");
    std::fs::write(&file, text).expect("write kefu.toml");
    file
}

/// Both ways to the provider, with what a request needs; cheap to clone into tasks.
#[derive(Clone)]
struct Paths {
    kefu_client: reqwest::Client,
    kefu_url: Arc<str>,
    direct_client: reqwest::Client,
    direct_url: Arc<str>,
    /// The body kefu sent the provider for the bench chat, replayed by the direct path.
    template: Arc<str>,
    next_tag: Arc<AtomicU64>,
}

impl Paths {
    fn tag(&self) -> String {
        let n = self.next_tag.fetch_add(1, Ordering::Relaxed) + 1;
        format!("BENCH-{n:08}")
    }

    async fn call(self, path: usize) -> Sample {
        let tag = self.tag();
        if path == DIRECT {
            direct(self.direct_client, self.direct_url, self.template, tag).await
        } else {
            via_kefu(self.kefu_client, self.kefu_url, tag).await
        }
    }

    /// `n` requests released together.
    async fn burst(&self, path: usize, n: usize) -> Vec<Sample> {
        let batch: Vec<_> = (0..n)
            .map(|_| tokio::spawn(self.clone().call(path)))
            .collect();
        let mut out = Vec::with_capacity(n);
        for t in batch {
            out.push(t.await.expect("request task"));
        }
        out
    }

    /// `n` streams held open for `hold`: each stream starts its next request as soon as the
    /// previous one ended, and the streams start `spread / n` apart, so arrivals are spread the
    /// way a team of agents spreads them. Requests started after `hold` are not made.
    async fn held(&self, path: usize, n: usize, hold: Duration, spread: Duration) -> Vec<Sample> {
        let start = Instant::now();
        let streams: Vec<_> = (0..n)
            .map(|i| {
                let paths = self.clone();
                let offset = spread.mul_f64(i as f64 / n as f64);
                tokio::spawn(async move {
                    tokio::time::sleep(offset).await;
                    let mut out = Vec::new();
                    while start.elapsed() < hold {
                        out.push(paths.clone().call(path).await);
                    }
                    out
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in streams {
            out.extend(t.await.expect("stream task"));
        }
        out
    }
}

/// How the requests of one measured level arrive.
#[derive(Clone, Copy)]
enum Load {
    /// Rounds of `n` requests released together, each answered in ~60 ms.
    Burst { n: usize, rounds: usize },
    /// `n` streams held for `secs` per path and round, each answered like a model streams.
    Held { n: usize, secs: u64, rounds: usize },
}

impl Load {
    fn label(&self) -> String {
        match self {
            Load::Burst { n: 1, .. } => "1".into(),
            Load::Burst { n, .. } => format!("{n} released together"),
            Load::Held { n, .. } => format!("{n} held"),
        }
    }
}

/// The provider's answer in the burst levels: 12 chunks 5 ms apart, as in
/// benches/llm_gateway.rs, a ~60 ms answer, short enough to expose per-request overhead.
fn short_answer() -> Behaviour {
    Behaviour::OkStream {
        chunks: (0..12).map(|i| format!("第{i}段回复，")).collect(),
        delay: Duration::from_millis(5),
    }
}

/// The provider's answer with held streams: 40 chunks 50 ms apart, a 2-second answer at the
/// pace a hosted model streams a short reply (each chunk a few characters).
fn model_answer() -> Behaviour {
    Behaviour::OkStream {
        chunks: (0..40).map(|i| format!("第{i}段，")).collect(),
        delay: Duration::from_millis(50),
    }
}

const MODEL_ANSWER_SECS: u64 = 2;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `--streams=1,100` picks the burst levels, `--held=100` the held ones (`--held=0`: none),
    // `--rounds=N` overrides the round count and `--hold-secs=S` the hold (handy while
    // profiling the server).
    let arg = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(name).map(str::to_string))
    };
    let list = |v: String| -> Vec<usize> {
        v.split(',')
            .filter_map(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .collect()
    };
    let bursts: Vec<usize> = arg("--streams=").map(list).unwrap_or_else(|| vec![1, 100]);
    let helds: Vec<usize> = arg("--held=").map(list).unwrap_or_else(|| vec![100]);
    let rounds_override: Option<usize> = arg("--rounds=").and_then(|v| v.parse().ok());
    let hold_secs: u64 = arg("--hold-secs=")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 6 } else { 20 });
    let mut loads: Vec<Load> = bursts
        .iter()
        .map(|&n| Load::Burst {
            n,
            rounds: rounds_override.unwrap_or(match (quick, n) {
                (true, 1) => 20,
                (false, 1) => 200,
                (true, _) => 2,
                (false, _) => 10,
            }),
        })
        .collect();
    loads.extend(helds.iter().map(|&n| Load::Held {
        n,
        secs: hold_secs,
        rounds: rounds_override.unwrap_or(if quick { 1 } else { 2 }),
    }));

    let load_start = loadavg();
    let fake = FakeProvider::start().await;
    fake.set_default(short_answer());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = config_file(dir.path(), &fake);
    let kefu = start_kefu(&file, dir.path());
    let kefu_pid = kefu.child.id().to_string();
    let kefu_url: Arc<str> = format!("{}/v1/suggest", kefu.base).into();
    let kefu_client = reqwest::Client::new();

    // The direct path replays the exact body kefu sent the provider for the same chat.
    via_kefu(
        kefu_client.clone(),
        kefu_url.clone(),
        TEMPLATE_TAG.to_string(),
    )
    .await;
    let template: Arc<str> = fake
        .requests()
        .iter()
        .find(|r| tag_of(r).as_deref() == Some(TEMPLATE_TAG))
        .map(|r| r.body.to_string())
        .expect("the warm-up request reached the fake")
        .into();
    let paths = Paths {
        kefu_client,
        kefu_url,
        direct_client: reqwest::Client::new(),
        direct_url: format!("{}/chat/completions", fake.base_url()).into(),
        template,
        next_tag: Arc::new(AtomicU64::new(0)),
    };

    println!("kefu serve: {KEFU} (pid {kefu_pid}), load average at start {load_start}");
    println!(
        "prompt sent to the provider: {} bytes of JSON",
        paths.template.len()
    );
    let mut results = Vec::new();
    for load in loads {
        let n = match load {
            Load::Burst { n, .. } | Load::Held { n, .. } => n,
        };
        fake.set_default(match load {
            Load::Burst { .. } => short_answer(),
            Load::Held { .. } => model_answer(),
        });
        // Warm-up (connections, caches), not recorded.
        for _ in 0..2 {
            for path in [DIRECT, KEFU_PATH] {
                paths.burst(path, n).await;
            }
        }
        let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
        let (mut kefu_cpu, mut own_cpu) = ([Duration::ZERO; 2], [Duration::ZERO; 2]);
        let rounds = match load {
            Load::Burst { rounds, .. } | Load::Held { rounds, .. } => rounds,
        };
        // Alternate the two paths round by round so load changes hit both alike.
        for _ in 0..rounds {
            for path in [DIRECT, KEFU_PATH] {
                let (k0, o0) = (cpu_time(&kefu_pid), cpu_time("self"));
                let got = match load {
                    Load::Burst { n, .. } => paths.burst(path, n).await,
                    Load::Held { n, secs, .. } => {
                        let spread = Duration::from_secs(MODEL_ANSWER_SECS);
                        paths.held(path, n, Duration::from_secs(secs), spread).await
                    }
                };
                let (k1, o1) = (cpu_time(&kefu_pid), cpu_time("self"));
                if let (Some(k0), Some(o0), Some(k1), Some(o1)) = (k0, o0, k1, o1) {
                    kefu_cpu[path] += k1 - k0;
                    own_cpu[path] += o1 - o0;
                }
                samples[path].extend(got);
            }
        }
        let recorded = fake.requests();
        let by_tag: HashMap<String, &Recorded> = recorded
            .iter()
            .filter_map(|r| tag_of(r).map(|t| (t, r)))
            .collect();
        let mut per_path = Vec::new();
        for path in [DIRECT, KEFU_PATH] {
            let s = &samples[path];
            let mut m = measure(s, &by_tag);
            m.kefu_cpu_ms = ms(kefu_cpu[path]) / s.len() as f64;
            m.own_cpu_ms = ms(own_cpu[path]) / s.len() as f64;
            per_path.push(m);
        }
        results.push((load.label(), per_path));
    }
    let load_end = loadavg();
    report(&results);
    println!();
    println!("load average: {load_start} at start, {load_end} at the end");
    drop(kefu);
}

fn report(results: &[(String, Vec<Measured>)]) {
    println!();
    println!("Latency as the client sees it (p50 / p99, ms):");
    println!();
    println!("| streams | path | first delta p50 | p99 | total p50 | p99 | requests |");
    println!("|---|---|---|---|---|---|---|");
    for (c, m) in results {
        let (d, k) = (&m[DIRECT], &m[KEFU_PATH]);
        for (name, x) in [("direct (baseline)", d), ("kefu serve", k)] {
            println!(
                "| {c} | {name} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                pct(&x.first, 0.5),
                pct(&x.first, 0.99),
                pct(&x.total, 0.5),
                pct(&x.total, 0.99),
                x.first.len()
            );
        }
        let cell = |a: &[f64], b: &[f64], p: f64| {
            let (a, b) = (pct(a, p), pct(b, p));
            format!("{:+.2} ({:.2}x)", b - a, b / a)
        };
        println!(
            "| {c} | added by kefu | {} | {} | {} | {} | |",
            cell(&d.first, &k.first, 0.5),
            cell(&d.first, &k.first, 0.99),
            cell(&d.total, &k.total, 0.5),
            cell(&d.total, &k.total, 0.99),
        );
    }
    println!();
    println!("Where the time goes, from the fake provider's timestamps (p50 / p99, ms):");
    println!();
    println!("| streams | path | client → provider has the request | provider's first event → client's first delta | provider's last event → client's draft / [DONE] | CPU per request: kefu process | bench process |");
    println!("|---|---|---|---|---|---|---|");
    for (c, m) in results {
        for (name, x) in [("direct", &m[DIRECT]), ("kefu serve", &m[KEFU_PATH])] {
            println!(
                "| {c} | {name} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} | {:.2} |",
                pct(&x.to_provider, 0.5),
                pct(&x.to_provider, 0.99),
                pct(&x.first_after_provider, 0.5),
                pct(&x.first_after_provider, 0.99),
                pct(&x.after_provider_done, 0.5),
                pct(&x.after_provider_done, 0.99),
                x.kefu_cpu_ms,
                x.own_cpu_ms,
            );
        }
    }
    println!();
    println!("Time outside the provider per request: to the first delta and to the draft, less the provider's own time from receiving the request to its first / last event (p50 / p99, ms):");
    println!();
    println!("| streams | path | to the first delta | to the draft / [DONE] |");
    println!("|---|---|---|---|");
    for (c, m) in results {
        for (name, x) in [("direct", &m[DIRECT]), ("kefu serve", &m[KEFU_PATH])] {
            println!(
                "| {c} | {name} | {:.2} / {:.2} | {:.2} / {:.2} |",
                pct(&x.outside_first, 0.5),
                pct(&x.outside_first, 0.99),
                pct(&x.outside_total, 0.5),
                pct(&x.outside_total, 0.99),
            );
        }
        let (d, k) = (&m[DIRECT], &m[KEFU_PATH]);
        let added = |a: &[f64], b: &[f64], p: f64| pct(b, p) - pct(a, p);
        println!(
            "| {c} | added by kefu | {:+.2} / {:+.2} | {:+.2} / {:+.2} |",
            added(&d.outside_first, &k.outside_first, 0.5),
            added(&d.outside_first, &k.outside_first, 0.99),
            added(&d.outside_total, &k.outside_total, 0.5),
            added(&d.outside_total, &k.outside_total, 0.99),
        );
    }
    println!();
    println!("kefu's own step timings (the draft's `timings`; p50 / p99, ms):");
    println!();
    println!(
        "| streams | {} |",
        STAGES.map(|s| s.trim_end_matches("_ms")).join(" | ")
    );
    println!("|---|{}", "---|".repeat(STAGES.len()));
    for (c, m) in results {
        let k = &m[KEFU_PATH];
        let cells: Vec<String> = (0..STAGES.len())
            .map(|i| {
                let v: Vec<f64> = k.stages.iter().map(|s| s[i]).collect();
                format!("{:.2} / {:.2}", pct(&v, 0.5), pct(&v, 0.99))
            })
            .collect();
        println!("| {c} | {} |", cells.join(" | "));
    }
}
