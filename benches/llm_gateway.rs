//! Gateway overhead: streamed completions from the in-process fake provider, once through
//! `Gateway::generate` and once with a bare HTTP client that parses the same SSE, at 1 and 100
//! concurrent streams. Reports p50/p99 of time to first delta and of total latency, and the
//! gateway's added latency against the bare client measured in the same run.
//!
//! Run: `cargo bench --bench llm_gateway` (add `-- --quick` for a short smoke run).

#[path = "../tests/support/fake_provider.rs"]
#[allow(dead_code)]
mod fake_provider;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_provider::{Behaviour, FakeProvider};
use futures::StreamExt;
use kefu::llm::{ChatRequest, Gateway, Lane};
use serde_json::{json, Value};
use tokio::sync::mpsc;

#[derive(Clone, Copy)]
struct Sample {
    first: Duration,
    total: Duration,
}

fn request() -> ChatRequest {
    ChatRequest {
        system: "你是暖居小家电旗舰店的客服，语气亲切，只根据资料回答。".into(),
        user: "【资料】[faq:12] 下单后48小时内发货，默认中通快递。\n【顾客】我昨天买的电水壶什么时候发货？".into(),
        max_tokens: 256,
        temperature: 0.3,
    }
}

async fn via_gateway(gw: Arc<Gateway>) -> Sample {
    let started = Instant::now();
    let (tx, mut rx) = mpsc::channel(64);
    let first = tokio::spawn(async move {
        let mut first = None;
        while let Some(_d) = rx.recv().await {
            first.get_or_insert_with(|| started.elapsed());
        }
        first
    });
    let g = gw.generate(&request(), Lane::Live, Some(tx)).await;
    let total = started.elapsed();
    assert!(g.is_ok(), "gateway failed: {g:?}");
    let first = first.await.ok().flatten().unwrap_or(total);
    Sample { first, total }
}

async fn direct(client: reqwest::Client, url: String) -> Sample {
    let started = Instant::now();
    let req = request();
    let body = json!({
        "model": "fake-model",
        "stream": true,
        "max_tokens": req.max_tokens,
        "temperature": req.temperature,
        "messages": [{"role": "system", "content": req.system}, {"role": "user", "content": req.user}],
    });
    let resp = client
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("direct request");
    let mut bytes = resp.bytes_stream();
    let mut buf = String::new();
    let mut text = String::new();
    let mut first = None;
    'read: while let Some(chunk) = bytes.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk.expect("direct body")));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            let Some(data) = event.trim().strip_prefix("data: ") else {
                continue;
            };
            if data == "[DONE]" {
                break 'read;
            }
            let v: Value = serde_json::from_str(data).expect("direct chunk");
            if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
                first.get_or_insert_with(|| started.elapsed());
                text.push_str(c);
            }
        }
    }
    let total = started.elapsed();
    assert!(!text.is_empty());
    Sample {
        first: first.unwrap_or(total),
        total,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Stats {
    first_p50: Duration,
    first_p99: Duration,
    total_p50: Duration,
    total_p99: Duration,
}

fn stats(samples: &[Sample]) -> Stats {
    let mut first: Vec<Duration> = samples.iter().map(|s| s.first).collect();
    let mut total: Vec<Duration> = samples.iter().map(|s| s.total).collect();
    first.sort();
    total.sort();
    Stats {
        first_p50: pct(&first, 0.5),
        first_p99: pct(&first, 0.99),
        total_p50: pct(&total, 0.5),
        total_p99: pct(&total, 0.99),
    }
}

/// CPU time used by this process so far (user + system), from /proc; None elsewhere. The fake
/// runs in this process too, so its share is included in both paths alike.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let fake = FakeProvider::start().await;
    // 12 chunks 5 ms apart: a ~60 ms answer, short enough to expose per-request overhead.
    fake.set_default(Behaviour::OkStream {
        chunks: (0..12).map(|i| format!("第{i}段回复，")).collect(),
        delay: Duration::from_millis(5),
    });
    let mut cfg = fake.provider_config("fake");
    // No request-rate pacing (rpm 0 = unlimited): pacing is the limiter doing its job, not
    // overhead. The token budget, concurrency cap and admission queue stay in the path.
    cfg.rpm = 0;
    cfg.max_concurrency = 1000;
    let gw = Arc::new(Gateway::from_config_with_env(&[cfg], |_| None));
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", fake.base_url());

    println!(
        "| streams | path | first delta p50 | p99 | total p50 | p99 | CPU per stream | requests |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for concurrency in [1usize, 100] {
        let rounds = match (quick, concurrency) {
            (true, 1) => 20,
            (false, 1) => 200,
            (true, _) => 1,
            (false, _) => 5,
        };
        let mut gw_samples = Vec::new();
        let mut direct_samples = Vec::new();
        let (mut gw_cpu, mut direct_cpu) = (Duration::ZERO, Duration::ZERO);
        // Warm-up (connections, allocations), not recorded.
        via_gateway(gw.clone()).await;
        direct(client.clone(), url.clone()).await;
        // Alternate the two paths round by round so load changes hit both alike.
        for _ in 0..rounds {
            let cpu0 = cpu_time();
            let batch: Vec<_> = (0..concurrency)
                .map(|_| tokio::spawn(direct(client.clone(), url.clone())))
                .collect();
            for t in batch {
                direct_samples.push(t.await.expect("direct task"));
            }
            let cpu1 = cpu_time();
            let batch: Vec<_> = (0..concurrency)
                .map(|_| tokio::spawn(via_gateway(gw.clone())))
                .collect();
            for t in batch {
                gw_samples.push(t.await.expect("gateway task"));
            }
            let cpu2 = cpu_time();
            if let (Some(a), Some(b), Some(c)) = (cpu0, cpu1, cpu2) {
                direct_cpu += b - a;
                gw_cpu += c - b;
            }
        }
        let d = stats(&direct_samples);
        let g = stats(&gw_samples);
        let d_cpu = ms(direct_cpu) / direct_samples.len() as f64;
        let g_cpu = ms(gw_cpu) / gw_samples.len() as f64;
        for (name, s, cpu, n) in [
            ("direct", &d, d_cpu, direct_samples.len()),
            ("gateway", &g, g_cpu, gw_samples.len()),
        ] {
            println!(
                "| {concurrency} | {name} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {cpu:.2} ms | {n} |",
                ms(s.first_p50),
                ms(s.first_p99),
                ms(s.total_p50),
                ms(s.total_p99)
            );
        }
        println!(
            "| {concurrency} | added by gateway | {:+.2} ms ({:.3}x) | {:+.2} ms ({:.3}x) | {:+.2} ms ({:.3}x) | {:+.2} ms ({:.3}x) | {:+.2} ms ({:.3}x) | |",
            ms(g.first_p50) - ms(d.first_p50),
            ms(g.first_p50) / ms(d.first_p50),
            ms(g.first_p99) - ms(d.first_p99),
            ms(g.first_p99) / ms(d.first_p99),
            ms(g.total_p50) - ms(d.total_p50),
            ms(g.total_p50) / ms(d.total_p50),
            ms(g.total_p99) - ms(d.total_p99),
            ms(g.total_p99) / ms(d.total_p99),
            g_cpu - d_cpu,
            g_cpu / d_cpu,
        );
    }
}
