//! Runs `run_compliance_eval` on a case file: `cargo run --example compliance_eval -- FILE [--json]`.
//! The product command is `kefu eval compliance --cases FILE`; this is the same call for
//! working on the rules before the command is wired.

use std::path::Path;

use kefu::compliance::eval::run_compliance_eval;
use kefu::compliance::Compliance;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: compliance_eval CASES.jsonl [--json] [--rules DIR]");
        return std::process::ExitCode::from(2);
    };
    let rules = args
        .iter()
        .position(|a| a == "--rules")
        .and_then(|i| args.get(i + 1))
        .map_or("rules", String::as_str);
    let c = match Compliance::load(Path::new(rules)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("rules: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    match run_compliance_eval(&c, Path::new(file)) {
        Ok(r) if args.iter().any(|a| a == "--json") => {
            println!("{}", serde_json::to_string(&r).unwrap_or_default());
            std::process::ExitCode::SUCCESS
        }
        Ok(r) => {
            print!("{}", r.render_text());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::from(2)
        }
    }
}
