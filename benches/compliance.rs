//! Compliance scan throughput: 10,000 terms on 10 MB of mixed Chinese text, on three corpora:
//! - `real`: the shop's own texts (case texts and knowledge documents) with 10,000 entries of a
//!   public deny list (`benches/data/sensitive-word-10k.txt`, a fixed sample of the
//!   `sensitive-word` list, provenance in `benches/data/README.md`): real terms on real text, so
//!   hits are rare, as in production.
//! - `chat`: the case texts, terms drawn with the character frequencies of those texts (random
//!   2–4 character terms hit about every third character: a stress test of findings).
//! - `dense`: text and terms from the same few hundred characters, a worst case for any automaton.
//!
//! Set `KEFU_BENCH_CORPUS_DIR` to also write the terms (`terms.txt`) and the input (`input.txt`)
//! there (`real/`, `chat/`, `dense/`), so `benches/compliance_vs_grep.sh` can time `grep -F -f` on
//! the same data.

use std::hint::black_box;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kefu::compliance::normalize::normalize;
use kefu::compliance::{Compliance, Grounding};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TERMS: usize = 10_000;
const INPUT_BYTES: usize = 10 * 1024 * 1024;

/// Common characters of service chat, so generated terms and text overlap like real ones.
const POOL: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严亲客服退货款快递物流订单地址包裹售后尺码颜色质量优惠券活动发货收到签收确认";

/// Realistic chat: the case texts of eval/compliance repeated in random order, and terms
/// drawn with the character frequencies of those texts.
fn chat_corpus() -> (Vec<String>, String) {
    let texts = case_texts();
    let chars: Vec<char> = texts
        .iter()
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_ascii())
        .collect();
    let mut rng = StdRng::seed_from_u64(7);
    let mut terms = std::collections::BTreeSet::new();
    while terms.len() < TERMS {
        let n = rng.gen_range(2..=4);
        let t: String = (0..n)
            .map(|_| chars[rng.gen_range(0..chars.len())])
            .collect();
        terms.insert(t);
    }
    let mut text = String::with_capacity(INPUT_BYTES + 256);
    while text.len() < INPUT_BYTES {
        text.push_str(&texts[rng.gen_range(0..texts.len())]);
        text.push('\n');
    }
    (terms.into_iter().collect(), text)
}

/// Worst case: text and terms drawn from the same few hundred characters, so the automaton is
/// almost never at its root.
fn corpus() -> (Vec<String>, String) {
    let pool: Vec<char> = POOL.chars().collect();
    let mut rng = StdRng::seed_from_u64(20261124);
    let mut terms = std::collections::BTreeSet::new();
    while terms.len() < TERMS {
        let n = rng.gen_range(2..=4);
        let t: String = (0..n).map(|_| pool[rng.gen_range(0..pool.len())]).collect();
        terms.insert(t);
    }
    let words = [
        "iPhone 15",
        "XL",
        "OK",
        "vip",
        "2024",
        "138",
        "SKU-88",
        "kg",
        "5G",
        "USB-C",
    ];
    let mut text = String::with_capacity(INPUT_BYTES + 64);
    let mut line = 0;
    while text.len() < INPUT_BYTES {
        match rng.gen_range(0..100) {
            0..=84 => text.push(pool[rng.gen_range(0..pool.len())]),
            85..=89 => text.push_str(words[rng.gen_range(0..words.len())]),
            90..=93 => text.push(['，', '。', '！', '？', '、'][rng.gen_range(0..5)]),
            94..=96 => text.push(' '),
            _ => text.push(char::from(b'0' + rng.gen_range(0..10u8))),
        }
        line += 1;
        if line % 80 == 0 {
            text.push('\n');
        }
    }
    (terms.into_iter().collect(), text)
}

/// Case texts of `eval/compliance`, one per entry.
fn case_texts() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/compliance");
    let mut texts = Vec::new();
    for f in ["heldout.jsonl", "tuned.jsonl"] {
        let raw = std::fs::read_to_string(dir.join(f)).expect("case file");
        for line in raw.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("case json");
            texts.push(v["text"].as_str().unwrap_or_default().to_string());
        }
    }
    texts
}

/// Paragraphs of every Markdown document under `knowledge/`.
fn knowledge_paragraphs() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                out.extend(
                    text.split("\n\n")
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("knowledge"),
        &mut out,
    );
    out
}

/// Real terms on real text; `None` when the shipped sample cannot be read.
fn real_corpus() -> Option<(Vec<String>, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/sensitive-word-10k.txt");
    let list = match std::fs::read_to_string(&path) {
        Ok(list) => list,
        Err(e) => {
            eprintln!("real corpus skipped: cannot read {}: {e}", path.display());
            return None;
        }
    };
    let terms: std::collections::BTreeSet<String> = list
        .lines()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let mut rng = StdRng::seed_from_u64(11);
    let mut texts = case_texts();
    texts.extend(knowledge_paragraphs());
    let mut text = String::with_capacity(INPUT_BYTES + 4096);
    while text.len() < INPUT_BYTES {
        text.push_str(&texts[rng.gen_range(0..texts.len())]);
        text.push('\n');
    }
    Some((terms.into_iter().collect(), text))
}

fn bench(c: &mut Criterion) {
    if let Some(real) = real_corpus() {
        bench_corpus(c, "real", real);
    }
    bench_corpus(c, "chat", chat_corpus());
    bench_corpus(c, "dense", corpus());
}

/// Checks each message on its own, as drafts arrive; returns the number of findings.
fn check_each(checker: &Compliance, messages: &[&str]) -> usize {
    let none = Grounding::default();
    messages
        .iter()
        .map(|m| checker.check(black_box(m), &none).findings.len())
        .sum()
}

fn bench_corpus(c: &mut Criterion, name: &str, (terms, text): (Vec<String>, String)) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("terms.txt"), terms.join("\n")).expect("write terms");
    if let Ok(out) = std::env::var("KEFU_BENCH_CORPUS_DIR") {
        let out = Path::new(&out).join(name);
        std::fs::create_dir_all(&out).expect("corpus dir");
        std::fs::write(out.join("terms.txt"), terms.join("\n") + "\n").expect("write terms");
        std::fs::write(out.join("input.txt"), &text).expect("write input");
    }
    let rules = r#"
[[rule]]
id = "bench.terms"
category = "absolute_terms"
severity = "warn"
term_files = ["terms.txt"]
message = "bench"
"#;
    let checker = Compliance::from_sources(dir.path(), &[("bench.toml".into(), rules.into())])
        .expect("bench rules compile");
    let none = Grounding::default();

    let mut g = c.benchmark_group(format!("{name}_10k_terms_10mb"));
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.bench_function("normalize", |b| {
        b.iter(|| black_box(normalize(black_box(&text)).text.len()))
    });
    g.bench_function("check", |b| {
        b.iter(|| black_box(checker.check(black_box(&text), &none).findings.len()))
    });
    // The product's path: drafts arrive one at a time, a few hundred bytes each, so no check
    // builds the million-finding buffers of a single 10 MiB call.
    let messages: Vec<&str> = text.lines().collect();
    g.bench_function("check_per_message", |b| {
        b.iter(|| check_each(&checker, &messages))
    });
    g.finish();

    // The automaton alone, by kind, on the normalized text: what the matcher's choice rests on.
    let normalized = normalize(&text).text;
    let mut g = c.benchmark_group(format!("{name}_aho_corasick_10k_terms_10mb"));
    g.throughput(Throughput::Bytes(normalized.len() as u64));
    g.sample_size(10);
    for (name, kind) in [
        ("dfa", AhoCorasickKind::DFA),
        ("contiguous_nfa", AhoCorasickKind::ContiguousNFA),
    ] {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(kind))
            .build(&terms)
            .expect("automaton builds");
        g.bench_function(format!("{name}_leftmost_longest"), |b| {
            b.iter(|| black_box(ac.find_iter(black_box(&normalized)).count()))
        });
    }
    g.finish();

    let shipped = Compliance::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
        .expect("shipped rules load");
    let mut g = c.benchmark_group(format!("{name}_shipped_rules_10mb"));
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.bench_function("check", |b| {
        b.iter(|| black_box(shipped.check(black_box(&text), &none).findings.len()))
    });
    g.bench_function("check_per_message", |b| {
        b.iter(|| check_each(&shipped, &messages))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
