//! Retrieval speed on a generated corpus of 100,000 snippets: index build rate and the latency
//! of a 3-turn conversation query with platform, SKU and date filters. The plain-BM25 baseline
//! (`SearchOptions::baseline`) is measured in the same run for ratios.
//!
//! The corpus samples words with their frequencies in the demo knowledge folder (`knowledge/`),
//! so posting lists have realistic lengths.
//!
//! `cargo bench --bench retrieval` (set `KEFU_BENCH_SNIPPETS` for another corpus size). Besides
//! criterion's timings it prints one-shot build rates and p50/p99 latencies over many queries,
//! also of the method searching in one pass with every term (`first_pass_terms: 0`).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kefu::conversation::{Platform, Role, Turn};
use kefu::knowledge::{Kind, KnowledgeBase, SearchOptions, SearchRequest, Snippet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Words with their frequencies in the demo knowledge: the corpus speaks the domain's language
/// with its natural (Zipf-like) word distribution instead of a handful of repeated words.
fn vocabulary() -> Vec<(String, u64)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge");
    let mut text = String::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(t) = std::fs::read_to_string(&p) {
                text.push_str(&t);
                text.push('\n');
            }
        }
    }
    let jieba = jieba_rs::Jieba::new();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for t in jieba.cut(&text, false) {
        if t.word.chars().any(|c| c.is_alphanumeric()) {
            *counts.entry(t.word.to_string()).or_default() += 1;
        }
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort();
    assert!(
        v.len() > 500,
        "the demo knowledge folder is needed for the corpus"
    );
    v
}

struct Sampler {
    words: Vec<String>,
    cumulative: Vec<u64>,
}

impl Sampler {
    fn new(vocab: Vec<(String, u64)>) -> Self {
        let mut total = 0;
        let mut words = Vec::new();
        let mut cumulative = Vec::new();
        for (w, c) in vocab {
            total += c;
            words.push(w);
            cumulative.push(total);
        }
        Sampler { words, cumulative }
    }

    fn word(&self, rng: &mut StdRng) -> &str {
        let total = *self.cumulative.last().unwrap_or(&1);
        let x = rng.gen_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        &self.words[i.min(self.words.len() - 1)]
    }
}

/// Deterministic synthetic knowledge: policy-like sections, FAQ rows and products.
fn corpus(n: usize) -> Vec<Snippet> {
    let sampler = Sampler::new(vocabulary());
    let mut rng = StdRng::seed_from_u64(7);
    (0..n)
        .map(|i| {
            let mut title = String::new();
            for _ in 0..rng.gen_range(2..5) {
                title.push_str(sampler.word(&mut rng));
            }
            let mut text = String::new();
            for s in 0..rng.gen_range(3..8) {
                for _ in 0..rng.gen_range(6..14) {
                    text.push_str(sampler.word(&mut rng));
                }
                text.push_str(if s % 2 == 0 { "，" } else { "。" });
            }
            let kind = match i % 3 {
                0 => Kind::Policy,
                1 => Kind::Faq,
                _ => Kind::Product,
            };
            let platforms = match rng.gen_range(0..6) {
                0 => vec![Platform::Jd],
                1 => vec![Platform::Pdd, Platform::Douyin],
                _ => Vec::new(),
            };
            let skus = if rng.gen_range(0..10) == 0 {
                vec![format!("SKU-{}", rng.gen_range(0..500))]
            } else {
                Vec::new()
            };
            let (valid_from, valid_to) = if rng.gen_range(0..8) == 0 {
                let from = NaiveDate::from_ymd_opt(2026, rng.gen_range(1..13), 1);
                (
                    from,
                    from.and_then(|d| d.checked_add_days(chrono::Days::new(30))),
                )
            } else {
                (None, None)
            };
            Snippet {
                id: format!("doc-{}#{}", i / 5, i % 5),
                doc_id: format!("doc-{}", i / 5),
                title,
                kind,
                text,
                source: "generated.md".into(),
                platforms,
                skus,
                tags: Vec::new(),
                valid_from,
                valid_to,
            }
        })
        .collect()
}

const CONVERSATIONS: &[[&str; 2]] = &[
    [
        "在吗 我买的空气炸锅",
        "拆开看了一下不喜欢 能七天无理由退吗 运费谁出",
    ],
    ["亲 电饭煲内胆掉漆了", "还在保修期吗 怎么寄修"],
    ["昨天买的加湿器今天降价了", "能补差价吗 京东的价保怎么弄"],
    ["发票还没收到", "咋开专票 抬头写错了能换开吗"],
    ["快递三天没动了", "能改地址吗 不想要了能拒收吗"],
    ["电暖器需要安装吗", "以旧换新能抵多少钱"],
];

fn request(i: usize) -> SearchRequest {
    let [first, last] = CONVERSATIONS[i % CONVERSATIONS.len()];
    SearchRequest {
        turns: vec![
            Turn::customer(first),
            Turn {
                role: Role::Agent,
                text: "亲，请问有什么可以帮您？".into(),
            },
            Turn::customer(last),
        ],
        platform: Some(Platform::ALL[i % Platform::ALL.len()]),
        sku: Some(format!("SKU-{}", i % 500)),
        date: NaiveDate::from_ymd_opt(2026, 11, 24),
        k: 5,
    }
}

fn size() -> usize {
    std::env::var("KEFU_BENCH_SNIPPETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

fn build(snippets: &[Snippet], options: SearchOptions) -> (KnowledgeBase, Duration) {
    let t = Instant::now();
    let kb = KnowledgeBase::from_snippets(Path::new("generated"), snippets.to_vec(), options)
        .expect("generated corpus indexes");
    (kb, t.elapsed())
}

/// p50 and p99 over `n` searches, after a warm-up.
fn percentiles(kb: &KnowledgeBase, n: usize) -> (Duration, Duration) {
    for i in 0..50 {
        let _ = kb.search(&request(i));
    }
    let mut times: Vec<Duration> = (0..n)
        .map(|i| {
            let req = request(i);
            let t = Instant::now();
            let r = kb.search(&req).expect("search");
            let e = t.elapsed();
            std::hint::black_box(r);
            e
        })
        .collect();
    times.sort();
    (times[n / 2], times[(n * 99 / 100).min(n - 1)])
}

fn bench(c: &mut Criterion) {
    let n = size();
    let snippets = corpus(n);

    // One-shot full builds (too long for criterion's repeated sampling at 100k).
    let (kb, method_build) = build(&snippets, SearchOptions::default());
    let (base, base_build) = build(&snippets, SearchOptions::baseline());
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "build {n} snippets: method {:.2?} ({:.0} snippets/s), baseline {:.2?} ({:.0} snippets/s), ratio {:.2}",
        method_build,
        rate(method_build),
        base_build,
        rate(base_build),
        method_build.as_secs_f64() / base_build.as_secs_f64()
    );
    // The method with one pass over every term (no pruned first pass): what two passes save.
    let one_pass = SearchOptions {
        first_pass_terms: 0,
        ..SearchOptions::default()
    };
    let (one, _) = build(&snippets, one_pass);
    let (p50, p99) = percentiles(&kb, 2_000);
    let (bp50, bp99) = percentiles(&base, 2_000);
    let (op50, op99) = percentiles(&one, 2_000);
    println!(
        "search 3-turn + filters on {n}: method p50 {p50:.2?} p99 {p99:.2?}; baseline p50 {bp50:.2?} p99 {bp99:.2?}; method in one pass p50 {op50:.2?} p99 {op99:.2?}; p99 ratio to baseline {:.2}, to one pass {:.2}",
        p99.as_secs_f64() / bp99.as_secs_f64(),
        p99.as_secs_f64() / op99.as_secs_f64()
    );
    drop(one);

    let mut g = c.benchmark_group("search_3turn_filtered");
    g.bench_function("method", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            kb.search(&request(i)).expect("search")
        })
    });
    g.bench_function("baseline", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            base.search(&request(i)).expect("search")
        })
    });
    g.finish();

    let small: Vec<Snippet> = snippets.iter().take(10_000).cloned().collect();
    let mut g = c.benchmark_group("build_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(small.len() as u64));
    g.bench_function("method", |b| {
        b.iter(|| build(&small, SearchOptions::default()))
    });
    g.bench_function("baseline", |b| {
        b.iter(|| build(&small, SearchOptions::baseline()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
