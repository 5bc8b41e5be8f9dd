//! The command line: parse, load configuration, run one command, map its outcome to an exit code
//! (0 success, 1 a failed check or evaluation, 2 bad usage or input).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::compliance::{Compliance, Grounding, Verdict};
use crate::config::Config;
use crate::conversation::{Platform, Turn};
use crate::drafts::{Actor, Role};
use crate::knowledge::{KnowledgeBase, SearchRequest};
use crate::pipeline::SuggestRequest;

#[derive(Debug, Parser)]
#[command(
    name = "kefu",
    version,
    about = "Grounded, compliance-checked reply drafts for e-commerce customer service"
)]
pub struct Cli {
    /// Configuration file (default: kefu.toml in the working directory when present, else built-in defaults).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service and web console.
    Serve {
        /// Listen address, e.g. 127.0.0.1:8080 (overrides server.addr).
        #[arg(long)]
        addr: Option<String>,
    },
    /// Load and index the knowledge folder, reporting what was skipped and why.
    Index(KnowledgeArg),
    /// Search the knowledge like the pipeline does.
    Search {
        query: String,
        #[arg(long)]
        platform: Option<Platform>,
        #[arg(long)]
        sku: Option<String>,
        /// The day the customer asks (YYYY-MM-DD); today by default.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        #[arg(short, default_value_t = 5)]
        k: usize,
        #[arg(long)]
        json: bool,
        /// Also show why the search did or did not call it a no-answer: per top hit, which of
        /// the query's concepts it holds (for knowledge maintainers tuning synonyms).
        #[arg(long)]
        explain: bool,
        #[command(flatten)]
        knowledge: KnowledgeArg,
    },
    /// Suggest a reply to one customer message and store it as a pending draft.
    Suggest {
        message: String,
        #[arg(long)]
        platform: Option<Platform>,
        #[arg(long)]
        sku: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Check texts against the compliance rules (exit 1 when any text is blocked).
    Check {
        text: Option<String>,
        /// One text a line.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Evaluate retrieval or compliance on a labelled set.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Mint an API token for a user (prints the token once and the [[users]] entry to add).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Export the audit trail or verify its hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Bulk FAQ generation: answer a question list, review, export to the knowledge folder.
    #[command(subcommand)]
    Faq(crate::faq::cli::FaqCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    New {
        #[arg(long)]
        user: String,
        /// agent, reviewer, compliance or admin.
        #[arg(long)]
        role: Role,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write audit events (CSV for Excel: UTF-8 with BOM; or JSONL) to stdout or --out.
    Export {
        /// From this day (YYYY-MM-DD, UTC), inclusive.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
        /// To this day (YYYY-MM-DD, UTC), inclusive.
        #[arg(long)]
        to: Option<chrono::NaiveDate>,
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// pass, warn or block.
        #[arg(long, value_parser = parse_verdict)]
        verdict: Option<Verdict>,
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Recompute the hash chain; exit 1 and name the first bad event when it was altered.
    Verify {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct KnowledgeArg {
    /// Knowledge folder (overrides knowledge.dir).
    #[arg(long)]
    pub knowledge: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Recall@1, recall@k, MRR and no-answer accuracy over a query set.
    Retrieval {
        #[arg(long)]
        queries: PathBuf,
        #[command(flatten)]
        knowledge: KnowledgeArg,
        #[arg(short, default_value_t = 5)]
        k: usize,
        #[arg(long)]
        json: bool,
        /// Also measure plain jieba BM25 on the body text in the same run.
        #[arg(long)]
        baseline: bool,
        /// Day (YYYY-MM-DD) on which queries without their own `date` are asked; today when
        /// absent. Pin it for reproducible numbers (validity windows depend on it).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Also list the product method's misses (answer not at rank 1, or a wrong no-answer
        /// call), one per line (a JSON object each with `--json`).
        #[arg(long)]
        misses: bool,
    },
    /// Precision and recall per verdict over a labelled case set.
    Compliance {
        #[arg(long)]
        cases: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// A failure with its exit code; the message is printed on stderr.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn input(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 2,
            message: message.to_string(),
        }
    }
    fn failed(message: impl std::fmt::Display) -> Self {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }
}

type Outcome = Result<ExitCode, Failure>;

impl Command {
    /// The bundled folders this command reads when they are missing (see [`crate::bundled`]).
    fn folders(&self) -> &'static [&'static str] {
        let knowledge = |k: &KnowledgeArg| -> &'static [&'static str] {
            if k.knowledge.is_some() {
                &[]
            } else {
                &["knowledge"]
            }
        };
        match self {
            Command::Serve { .. } | Command::Suggest { .. } => crate::bundled::FOLDERS,
            Command::Faq(f) => f.folders(),
            Command::Index(k) | Command::Search { knowledge: k, .. } => knowledge(k),
            Command::Eval(EvalCommand::Retrieval { knowledge: k, .. }) => knowledge(k),
            Command::Check { .. } | Command::Eval(EvalCommand::Compliance { .. }) => &["rules"],
            Command::Token(_) | Command::Audit(_) => &[],
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    let result = match Config::load(cli.config.as_deref()) {
        Ok(mut config) => {
            match crate::bundled::use_where_missing(&mut config, cli.command.folders()) {
                Ok(notices) => {
                    for n in notices {
                        eprintln!("kefu: {n}");
                    }
                    dispatch(config, cli.command).await
                }
                Err(e) => Err(Failure::failed(e)),
            }
        }
        Err(e) => Err(Failure::input(e)),
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("kefu: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

async fn dispatch(mut config: Config, command: Command) -> Outcome {
    match command {
        Command::Serve { addr } => {
            if let Some(addr) = addr {
                config.server.addr = addr;
            }
            serve(config).await
        }
        Command::Index(k) => index(knowledge_dir(&config, k)).await,
        Command::Search {
            query,
            platform,
            sku,
            date,
            k,
            json,
            explain,
            knowledge,
        } => {
            let dir = knowledge_dir(&config, knowledge);
            let kb = open_knowledge(dir).await?;
            let req = SearchRequest {
                turns: vec![Turn::customer(query)],
                platform,
                sku,
                date,
                k,
            };
            let found = kb.search(&req).map_err(Failure::failed)?;
            print_search(&found, json);
            if explain {
                print_explain(&kb, &req, &found, json);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Suggest {
            message,
            platform,
            sku,
            json,
        } => suggest(config, message, platform, sku, json).await,
        Command::Check { text, file, json } => check(&config, text, file, json),
        Command::Token(TokenCommand::New { user, role }) => token_new(user, role),
        Command::Eval(EvalCommand::Retrieval {
            queries,
            knowledge,
            k,
            json,
            baseline,
            date,
            misses,
        }) => {
            let dir = knowledge_dir(&config, knowledge);
            let opts = EvalOutput {
                json,
                baseline,
                misses,
            };
            eval_retrieval(dir, queries, k, opts, date).await
        }
        Command::Eval(EvalCommand::Compliance { cases, json }) => {
            eval_compliance(&config, cases, json)
        }
        Command::Audit(cmd) => audit(&config, cmd).await,
        Command::Faq(cmd) => crate::faq::cli::run(config, cmd)
            .await
            .map_err(|(code, message)| Failure { code, message }),
    }
}

async fn serve(config: Config) -> Outcome {
    let server = crate::startup::Server::build(config)
        .await
        .map_err(Failure::input)?;
    let addr = server.addr();
    eprintln!("kefu is listening on http://{addr}/  (API: http://{addr}/v1/suggest)");
    server
        .run()
        .await
        .map_err(|e| Failure::failed(format!("server stopped: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

fn knowledge_dir(config: &Config, arg: KnowledgeArg) -> PathBuf {
    arg.knowledge
        .unwrap_or_else(|| config.knowledge.dir.clone())
}

/// Index building is CPU-bound: it runs on a blocking thread.
async fn open_knowledge(dir: PathBuf) -> Result<KnowledgeBase, Failure> {
    let (kb, report) = tokio::task::spawn_blocking(move || KnowledgeBase::open(&dir))
        .await
        .map_err(|e| Failure::failed(format!("index task failed: {e}")))?
        .map_err(Failure::input)?;
    for e in &report.errors {
        eprintln!("skipped {e}");
    }
    Ok(kb)
}

async fn index(dir: PathBuf) -> Outcome {
    let started = std::time::Instant::now();
    let display = dir.display().to_string();
    let kb = open_knowledge(dir).await?;
    let report = kb.report();
    say(format_args!(
        "indexed {} snippets from {} files in {} in {} ms (version {}); {} file(s) skipped",
        report.snippets,
        report.files,
        display,
        started.elapsed().as_millis(),
        kb.version(),
        report.errors.len()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The no-answer signals of each hit no-answer detection reads: the first `no_answer_depth`
/// (at least one).
fn print_explain(
    kb: &KnowledgeBase,
    req: &SearchRequest,
    found: &crate::knowledge::SearchResponse,
    json: bool,
) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let depth = kb.options().no_answer_depth.max(1);
    for (i, hit) in found.hits.iter().enumerate().take(depth) {
        let s = kb.no_answer_signals(req, &found.hits[i..]);
        if json {
            let line = serde_json::json!({"kind": "explain", "hit": hit.id, "no_answer": found.no_answer, "signals": s});
            let _ = writeln!(out, "{line}");
            continue;
        }
        let _ = writeln!(
            out,
            "explain {}: coverage {:.2}, informative {:.2}, unknown {:.2}, anchored {}",
            hit.id, s.coverage, s.informative_coverage, s.unknown_share, s.anchored
        );
        for c in &s.concepts {
            let _ = writeln!(
                out,
                "    {} weight {:.2} df {}{}{}",
                c.term,
                c.weight,
                c.df,
                if c.domain { " domain" } else { "" },
                if c.matched { " matched" } else { "" }
            );
        }
    }
}

fn print_search(found: &crate::knowledge::SearchResponse, json: bool) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    const NO_ANSWER: &str = "no relevant knowledge: a person must answer this one";
    if json {
        // stdout stays one hit a line, as scripts read it; the call goes to stderr.
        if found.no_answer {
            eprintln!("kefu: {NO_ANSWER}");
        }
        for hit in &found.hits {
            let _ = writeln!(out, "{}", serde_json::to_string(hit).unwrap_or_default());
        }
        return;
    }
    if found.no_answer {
        let _ = writeln!(out, "({NO_ANSWER})");
    }
    for (i, hit) in found.hits.iter().enumerate() {
        let expired = if hit.expired { " [已结束]" } else { "" };
        let preview: String = hit.text.chars().take(60).collect();
        let _ = writeln!(
            out,
            "{:>2}. {:>6.2}  {}  {}{}\n        {}",
            i + 1,
            hit.score,
            hit.id,
            hit.title,
            expired,
            preview.replace('\n', " ")
        );
    }
}

async fn suggest(
    config: Config,
    message: String,
    platform: Option<Platform>,
    sku: Option<String>,
    json: bool,
) -> Outcome {
    let (app, _report) = crate::app::App::build(config)
        .await
        .map_err(Failure::input)?;
    let req = SuggestRequest {
        conversation: vec![Turn::customer(message)],
        message: None,
        platform,
        sku,
        order_facts: Default::default(),
        date: None,
        stream: false,
    };
    let actor = Actor {
        name: "cli".into(),
        role: Role::Agent,
    };
    let s = crate::pipeline::suggest(&app, &req, &actor, None)
        .await
        .map_err(Failure::failed)?;
    if json {
        say(serde_json::to_string(&s).unwrap_or_default())?;
    } else {
        say(format_args!("{}\n", s.draft.suggestion.text))?;
        say(format_args!(
            "draft {} · {} · mode {:?} · verdict {}",
            s.draft.id,
            s.draft.suggestion.scenario,
            s.draft.suggestion.mode,
            s.draft.suggestion.verdict.as_str()
        ))?;
        if let Some(reason) = &s.fallback_reason {
            say(format_args!("extractive: {reason}"))?;
        }
        for f in &s.draft.suggestion.findings {
            say(format_args!(
                "  {:?} {} 「{}」 {}",
                f.severity, f.rule, f.matched, f.message
            ))?;
        }
        for src in &s.draft.suggestion.sources {
            say(format_args!("  source {} {}", src.id, src.title))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(config: &Config, text: Option<String>, file: Option<PathBuf>, json: bool) -> Outcome {
    let compliance = Compliance::load(&config.rules.dir).map_err(Failure::input)?;
    let texts: Vec<String> = match (text, file) {
        (Some(t), None) => vec![t],
        (None, Some(path)) => {
            let f = std::fs::File::open(&path)
                .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
            std::io::BufReader::new(f)
                .lines()
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::input(format!("{} is not UTF-8 text: {e}", path.display())))?
                .into_iter()
                .filter(|l| !l.trim().is_empty())
                .collect()
        }
        (Some(_), Some(_)) => return Err(Failure::input("give either TEXT or --file, not both")),
        (None, None) => return Err(Failure::input("give a TEXT to check or --file FILE")),
    };
    let mut blocked = false;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for text in &texts {
        let result = compliance.check(text, &Grounding::default());
        blocked |= result.verdict == Verdict::Block;
        let written = if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({ "text": text, "verdict": result.verdict, "findings": result.findings, "ruleset_version": result.ruleset_version })
            )
        } else {
            writeln!(out, "{}  {}", result.verdict.as_str().to_uppercase(), text).and_then(|()| {
                result.findings.iter().try_for_each(|f| {
                    let hint = f
                        .suggestion
                        .as_deref()
                        .map(|s| format!(" → {s}"))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "    {:?} {} [{}..{}] 「{}」 {}{}",
                        f.severity, f.rule, f.start, f.end, f.matched, f.message, hint
                    )
                })
            })
        };
        if stdout_closed(written)? {
            break;
        }
    }
    stdout_closed(out.flush())?;
    Ok(if blocked {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether a write to stdout found the reader gone (`kefu check --file big.txt | head`): the
/// command stops quietly, as Unix tools do, instead of panicking in `println!`. Any other write
/// error is a failure.
fn stdout_closed(written: std::io::Result<()>) -> Result<bool, Failure> {
    match written {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(Failure::failed(format!("cannot write to stdout: {e}"))),
    }
}

/// Prints one line of a command's output. A reader that went away (`kefu eval … | head -1`)
/// drops the rest quietly, as Unix tools do, instead of `println!`'s panic; any other write
/// error is returned. Shared with `kefu faq`.
pub(crate) fn print_line(line: impl std::fmt::Display) -> std::io::Result<()> {
    match writeln!(std::io::stdout().lock(), "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written,
    }
}

/// [`print_line`] for the commands of this file.
fn say(line: impl std::fmt::Display) -> Result<(), Failure> {
    print_line(line).map_err(|e| Failure::failed(format!("cannot write to stdout: {e}")))
}

/// What `kefu eval retrieval` prints.
struct EvalOutput {
    json: bool,
    baseline: bool,
    misses: bool,
}

/// The product's retrieval and, in the same run, the plain jieba BM25 baseline.
async fn eval_retrieval(
    dir: PathBuf,
    queries: PathBuf,
    k: usize,
    out: EvalOutput,
    date: Option<chrono::NaiveDate>,
) -> Outcome {
    use crate::knowledge::{eval::run_retrieval_eval_detailed, SearchOptions};
    let EvalOutput {
        json,
        baseline,
        misses,
    } = out;
    let mut methods = vec![("kefu", SearchOptions::default())];
    if baseline {
        methods.push(("baseline", SearchOptions::baseline()));
    }
    for (name, options) in methods {
        let (dir, queries) = (dir.clone(), queries.clone());
        let (report, outcomes) = tokio::task::spawn_blocking(move || {
            let (kb, _) = KnowledgeBase::open_with(&dir, options).map_err(Failure::input)?;
            run_retrieval_eval_detailed(&kb, &queries, k, date).map_err(Failure::input)
        })
        .await
        .map_err(|e| Failure::failed(format!("evaluation task failed: {e}")))??;
        if json {
            let mut v = serde_json::to_value(&report).unwrap_or_default();
            v["kind"] = serde_json::Value::String("report".into());
            v["method"] = serde_json::Value::String(name.into());
            say(v)?;
        } else {
            say(format_args!(
                "{name:<9} queries {} (answerable {})  recall@1 {:.3}  recall@{} {:.3}  MRR {:.3}  no-answer accuracy {:.3} (unanswerable flagged {:.3}, answerable flagged {:.3})",
                report.queries, report.answerable, report.recall_at_1, report.k, report.recall_at_k, report.mrr, report.no_answer_accuracy, report.no_answer_recall, report.false_no_answer
            ))?;
        }
        if misses && name == "kefu" {
            for o in outcomes.iter().filter(|o| o.is_miss()) {
                if json {
                    let mut v = serde_json::to_value(o).unwrap_or_default();
                    v["kind"] = serde_json::Value::String("miss".into());
                    say(v)?;
                } else {
                    say(format_args!(
                        "  miss line {}: {} | want {:?} | rank {:?} | no_answer {} | got {:?}",
                        o.line, o.query, o.relevant, o.rank, o.no_answer, o.hits
                    ))?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn eval_compliance(config: &Config, cases: PathBuf, json: bool) -> Outcome {
    let compliance = Compliance::load(&config.rules.dir).map_err(Failure::input)?;
    let report = crate::compliance::eval::run_compliance_eval(&compliance, &cases)
        .map_err(Failure::input)?;
    if json {
        say(serde_json::to_string(&report).unwrap_or_default())?;
    } else {
        say(report.render_text().trim_end_matches('\n'))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn token_new(user: String, role: Role) -> Outcome {
    let minted = crate::auth::mint_token(&user, role).map_err(Failure::input)?;
    eprintln!("token for {user} (shown once; give it to the user, keep it out of files):");
    // The token is shown once: a reader that went away must fail the command, not drop it
    // quietly while the configuration snippet below makes a user nobody can log in as.
    writeln!(std::io::stdout().lock(), "{}", minted.token).map_err(|e| {
        Failure::failed(format!(
            "cannot write the token to stdout ({e}); nothing was saved, run the command again"
        ))
    })?;
    eprintln!(
        "\nadd this to the configuration:\n\n{}",
        minted.config_snippet()
    );
    Ok(ExitCode::SUCCESS)
}

async fn audit(config: &Config, cmd: AuditCommand) -> Outcome {
    use crate::drafts::{EventFilter, ExportFormat, Store};
    let store = Store::open(&config.storage).await.map_err(Failure::input)?;
    let operator = Actor {
        name: whoami(),
        role: Role::Compliance,
    };
    match cmd {
        AuditCommand::Verify { json } => {
            let report = store.verify().await.map_err(Failure::failed)?;
            if json {
                say(serde_json::to_string(&report).unwrap_or_default())?;
            } else {
                say(report.message)?;
            }
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        AuditCommand::Export {
            from,
            to,
            actor,
            action,
            category,
            verdict,
            format,
            out,
        } => {
            let format = match format.as_str() {
                "csv" => ExportFormat::Csv,
                "jsonl" => ExportFormat::Jsonl,
                other => {
                    return Err(Failure::input(format!(
                        "unknown format `{other}`: use csv or jsonl"
                    )))
                }
            };
            let day = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            let filter = EventFilter {
                from: from.map(day),
                to: to.map(|d| day(d.succ_opt().unwrap_or(d))),
                actor,
                action,
                category,
                verdict,
                draft_id: None,
                agent: None,
            };
            let mut buf: Vec<u8> = Vec::new();
            let summary = store
                .export(&operator, &filter, format, &mut buf)
                .await
                .map_err(Failure::failed)?;
            match out {
                Some(path) => std::fs::write(&path, &buf).map_err(|e| {
                    Failure::failed(format!("cannot write {}: {e}", path.display()))
                })?,
                None => {
                    stdout_closed(std::io::stdout().lock().write_all(&buf))?;
                }
            }
            eprintln!("exported {} event(s)", summary.events);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_verdict(s: &str) -> Result<Verdict, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("`{s}` is not a verdict: use pass, warn or block"))
}

/// The operator of a CLI command, for the audit trail.
fn whoami() -> String {
    std::env::var("USER")
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".into())
}
