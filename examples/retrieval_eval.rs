//! Prints the retrieval evaluation of the product's method and of the plain-BM25 baseline.
//!
//! `cargo run --release --example retrieval_eval -- KNOWLEDGE_DIR QUERIES.jsonl [K]
//! [--date YYYY-MM-DD] [--misses]`
//!
//! Queries without their own `date` are asked on `--date` (today when absent); the demo set
//! was written on 2026-11-23, which BENCHMARKS.md pins.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use kefu::knowledge::eval::run_retrieval_eval_detailed;
use kefu::knowledge::{KnowledgeBase, SearchOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let show_misses = args.iter().any(|a| a == "--misses");
    let mut date: Option<NaiveDate> = None;
    let mut pos: Vec<&String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--date" {
            let Some(d) = it.next() else {
                return Err("--date needs a day, e.g. --date 2026-11-23".into());
            };
            date = Some(
                d.parse()
                    .map_err(|e| format!("--date {d}: not a YYYY-MM-DD day: {e}"))?,
            );
        } else if !a.starts_with("--") {
            pos.push(a);
        }
    }
    let (Some(dir), Some(queries)) = (pos.first(), pos.get(1)) else {
        eprintln!(
            "usage: retrieval_eval KNOWLEDGE_DIR QUERIES.jsonl [K] [--date YYYY-MM-DD] [--misses]"
        );
        std::process::exit(2);
    };
    let k: usize = pos.get(2).map_or(Ok(5), |s| s.parse())?;
    for (name, options) in [
        ("method", SearchOptions::default()),
        ("baseline", SearchOptions::baseline()),
    ] {
        let (kb, _) = KnowledgeBase::open_with(Path::new(dir.as_str()), options)?;
        let (report, outcomes) =
            run_retrieval_eval_detailed(&kb, Path::new(queries.as_str()), k, date)?;
        // writeln!, not println!: a closed pipe (`| head`) ends the output instead of panicking.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{name}: {}", serde_json::to_string(&report)?)?;
        if show_misses && name == "method" {
            for o in outcomes.iter().filter(|o| o.is_miss()) {
                writeln!(
                    out,
                    "  miss line {}: {} | want {:?} | rank {:?} | no_answer {} | got {:?}",
                    o.line, o.query, o.relevant, o.rank, o.no_answer, o.hits
                )?;
            }
        }
    }
    Ok(())
}
