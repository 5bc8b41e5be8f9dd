//! `kefu faq …`: generate answers for a question list (resuming an interrupted run of the same
//! input), show a job's progress, export approved answers as a knowledge FAQ CSV.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use super::{FaqError, RunOptions};
use crate::app::App;
use crate::config::Config;
use crate::conversation::Platform;
use crate::drafts::{Actor, Role};

#[derive(Debug, Subcommand)]
pub enum FaqCommand {
    /// Answer every question of INPUT (CSV with a `question` column, UTF-8 or GBK, or JSONL);
    /// each answer becomes a pending draft. Run it again on the same INPUT to resume.
    /// Exit 0 when every question was answered, 1 when some failed or were interrupted.
    Generate {
        input: PathBuf,
        /// Results, one JSON line per input question, written when the run ends.
        #[arg(long)]
        out: PathBuf,
        /// Concurrent questions (default: the providers' combined max_concurrency).
        #[arg(long)]
        workers: Option<usize>,
        /// The platform of questions that name none.
        #[arg(long)]
        platform: Option<Platform>,
        /// Start a new job even when one for this input exists.
        #[arg(long)]
        fresh: bool,
        /// Send questions interrupted by a stopped run once more.
        #[arg(long)]
        retry_interrupted: bool,
        /// Send failed questions once more.
        #[arg(long)]
        retry_failed: bool,
        /// Seconds without a heartbeat after which another run is presumed dead (at least 6).
        #[arg(long, default_value_t = 10)]
        stale_after: u64,
    },
    /// Show a job's progress.
    Status {
        job: String,
        #[arg(long)]
        json: bool,
    },
    /// Write the approved answers of a job as a knowledge FAQ CSV.
    Export {
        job: String,
        #[arg(long)]
        out: PathBuf,
    },
}

impl FaqCommand {
    /// The bundled folders this command reads when they are missing: generating runs the
    /// suggest pipeline; status and export read the store only.
    pub fn folders(&self) -> &'static [&'static str] {
        match self {
            FaqCommand::Generate { .. } => crate::bundled::FOLDERS,
            FaqCommand::Status { .. } | FaqCommand::Export { .. } => &[],
        }
    }
}

/// A failed write to stdout, as `run` reports it.
fn write_failed(e: std::io::Error) -> (u8, String) {
    (1, format!("cannot write to stdout: {e}"))
}

/// Runs one `kefu faq` command; `Err((code, message))` is printed by the caller.
pub async fn run(config: Config, cmd: FaqCommand) -> Result<ExitCode, (u8, String)> {
    let (app, _report) = App::build(config).await.map_err(|e| (2, e.to_string()))?;
    let fail = |e: FaqError| {
        let code = match e {
            FaqError::Input(_) | FaqError::NoSuchJob(_) | FaqError::Invalid(_) => 2,
            _ => 1,
        };
        (code, e.to_string())
    };
    match cmd {
        FaqCommand::Generate {
            input,
            out,
            workers,
            platform,
            fresh,
            retry_interrupted,
            retry_failed,
            stale_after,
        } => {
            let (stop, stop_rx) = tokio::sync::watch::channel(false);
            // First Ctrl-C / SIGTERM: drain (questions with the provider are answered and
            // recorded, nothing new is sent). A second one stops at once (those become
            // `interrupted` on the next run).
            tokio::spawn(async move {
                crate::startup::stop_signal().await;
                eprintln!("\nstopping: waiting for the questions already sent, sending no new ones (Ctrl-C again to stop at once; run the same command to resume)");
                let _ = stop.send(true);
                crate::startup::stop_signal().await;
                std::process::exit(130);
            });
            let opts = RunOptions {
                workers,
                retry_interrupted,
                retry_failed,
                stale_after: std::time::Duration::from_secs(stale_after),
                stop: Some(stop_rx),
            };
            generate(&app, input, out, platform, fresh, opts)
                .await
                .map_err(fail)
        }
        FaqCommand::Status { job, json } => {
            let p = super::progress(&app, &job).await.map_err(fail)?;
            if json {
                crate::cli::print_line(serde_json::to_string(&p).unwrap_or_default())
                    .map_err(write_failed)?;
            } else {
                crate::cli::print_line(format_args!(
                    "job {} ({}): {} questions, {} distinct: {} done, {} failed, {} interrupted, {} pending, {} in flight; {:.0}/min, ETA {}",
                    p.job.id,
                    p.job.source,
                    p.counts.total,
                    p.unique,
                    p.counts.done,
                    p.counts.failed,
                    p.counts.interrupted,
                    p.counts.pending,
                    p.counts.in_flight,
                    p.rate_per_min,
                    p.eta_secs.map_or("unknown".into(), |s| format!("{s} s"))
                ))
                .map_err(write_failed)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        FaqCommand::Export { job, out } => {
            let mut buf = Vec::new();
            let rows = super::export_csv(&app, &job, &mut buf)
                .await
                .map_err(fail)?;
            super::write_atomically(&out, &buf).map_err(fail)?;
            eprintln!(
                "wrote {rows} approved answer(s) to {}; copy it into the knowledge folder to use it",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn generate(
    app: &App,
    input: PathBuf,
    out: PathBuf,
    platform: Option<Platform>,
    fresh: bool,
    opts: RunOptions,
) -> Result<ExitCode, FaqError> {
    let (mut questions, bytes) = super::input::read_file(&input)?;
    for q in &mut questions {
        q.platform = q.platform.or(platform);
    }
    let hash = super::input_hash(&bytes, platform);
    let existing = if fresh {
        None
    } else {
        app.store.faq_job_by_input(&hash).await?
    };
    let job = match existing {
        Some(job) => {
            eprintln!("resuming job {} for {}", job.id, input.display());
            job
        }
        None => {
            let actor = Actor {
                name: "cli".into(),
                role: Role::Reviewer,
            };
            let source = input.file_name().map_or_else(
                || input.display().to_string(),
                |n| n.to_string_lossy().into(),
            );
            let job = super::create_job(app, &questions, &source, &hash, &actor).await?;
            eprintln!("created job {} for {}", job.id, input.display());
            job
        }
    };

    let start = super::progress(app, &job.id).await?;
    let bar = ProgressBar::new(start.unique.max(0) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} distinct questions  {per_sec}  ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // With the fallback on an interrupted question is still to be answered, not settled.
    let fallback = super::answers_interrupted_from_knowledge(app, &opts);
    let position = |c: &super::Counts| {
        let open = if fallback { c.interrupted } else { 0 };
        (c.settled() - open).max(0) as u64
    };
    bar.set_position(position(&start.counts));
    bar.reset_eta();
    let on_progress = |p: &super::Progress| {
        bar.set_position(position(&p.counts));
        bar.set_message(format!(
            "{} failed, {} interrupted",
            p.counts.failed, p.counts.interrupted
        ));
    };
    let report = super::run_job(app, &job.id, &opts, &on_progress).await;
    bar.finish_and_clear();
    let report = report?;
    let summary = super::write_results(app, &job.id, &out).await?;

    let r = &report.recovery;
    if !r.adopted.is_empty() || !r.interrupted.is_empty() || !r.requeued.is_empty() {
        eprintln!(
            "resume: {} answer(s) stored before the stop adopted, {} question(s) interrupted (not sent again), {} re-sent",
            r.adopted.len(),
            r.interrupted.len(),
            r.requeued.len()
        );
    }
    if summary.from_knowledge > 0 {
        eprintln!(
            "{} question(s) were with the provider when a run stopped: answered from the knowledge (extractive) instead of being sent twice; their result lines carry a note",
            summary.from_knowledge
        );
    }
    eprintln!(
        "job {}: {} questions ({} distinct, {} {}): {} answered, {} failed, {} interrupted, {} unfinished; {} processed in this run in {:.1} s; results in {}",
        summary.job_id,
        summary.questions,
        summary.unique,
        summary.duplicates,
        if summary.duplicates == 1 {
            "duplicate"
        } else {
            "duplicates"
        },
        summary.done,
        summary.failed,
        summary.interrupted,
        summary.unfinished,
        report.processed,
        report.elapsed_secs,
        out.display()
    );
    for f in &summary.failures {
        eprintln!("  #{} {}: {}", f.seq + 1, f.question, f.error);
    }
    if report.stopped {
        eprintln!(
            "stopped before the end: run the same command again to resume job {}",
            summary.job_id
        );
    }
    if summary.done > 0 {
        eprintln!(
            "answers are pending drafts: review them, then `kefu faq export {} --out FILE.csv`",
            summary.job_id
        );
    }
    Ok(if summary.failures.is_empty() && summary.unfinished == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
