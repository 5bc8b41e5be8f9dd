//! Bulk FAQ generation (GitHub issue 7): a list of questions becomes a job; every distinct
//! question goes through the suggest pipeline ([`pipeline::suggest_for`] with
//! [`Purpose::Faq`]: bulk lane, FAQ template) and its answer becomes a pending draft for review;
//! approved answers export as a knowledge FAQ CSV.
//!
//! State lives in the store (`faq_jobs`, `faq_items`, `faq_runs`), so a job survives the
//! process: `kefu faq generate` run again on the same input resumes it, and several processes
//! sharing a PostgreSQL database work on one job without generating any question twice.
//!
//! Resume, exactly (at most once per question):
//! - An item is marked `in_flight` (with the run's id) in one statement before its request is
//!   sent, and `done` with its draft id after the draft is stored.
//! - A run that stops beating its heartbeat for [`RunOptions::stale_after`] is dead. Its
//!   `in_flight` items are settled by the next run: when a draft for the item exists (the run
//!   died after storing it) the item is adopted as `done`, nothing is sent; otherwise it becomes
//!   `interrupted` — the provider may or may not have answered — and is NOT sent again, so no
//!   question reaches the provider twice. With `review.extractive_fallback` on (the default)
//!   the run then answers each interrupted question from the knowledge, as extractive mode
//!   does, so none is lost: its draft waits for review like any other and its result line
//!   carries a note saying why. `--retry-interrupted` (or [`RunOptions::retry_interrupted`])
//!   instead sends them once more; each re-send counts in `attempts`.
//! - Pending items were never sent and are simply claimed by the next run.
//! - A stop on request ([`RunOptions::stop`]: Ctrl-C or SIGTERM on the CLI) claims nothing new
//!   and waits for the items with the provider, so only a hard kill can leave `interrupted`
//!   items: between "sent" and "recorded" no client can know whether the provider answered.

pub mod cli;
pub mod input;
pub mod normalize;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::conversation::Platform;
use crate::drafts::{Actor, Draft, Role, Status, StoreError};
use crate::pipeline::{self, Purpose, SuggestRequest};
use crate::review::{self, ReviewError};

pub use input::{Format, InputError, Question};

/// The error an interrupted item carries.
pub const INTERRUPTED: &str = "interrupted: the process stopped while this question was with the provider; it was not sent again so that no question is sent twice (run with --retry-interrupted to send it once more)";

/// The note an interrupted item answered from the knowledge carries.
pub const FROM_KNOWLEDGE: &str = "the process stopped while this question was with the provider; answered from the knowledge (extractive) instead of sending it twice";

/// How often a run records that it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// The shortest [`RunOptions::stale_after`] honoured: three missed heartbeats, so a live run
/// is never presumed dead between two beats.
pub const MIN_STALE_AFTER: Duration = Duration::from_secs(6);

// ---- data -------------------------------------------------------------------------------

/// A job about to be stored.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub input_hash: String,
    pub source: String,
    pub created_by: Actor,
    /// Epoch milliseconds.
    pub created_at: i64,
}

/// One input question about to be stored.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub question: String,
    pub platform: Option<Platform>,
    pub sku: Option<String>,
    pub norm: String,
    /// For a duplicate: the seq of the first item with the same key.
    pub canonical: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Running,
    Finished,
}

impl JobStatus {
    pub fn parse(s: &str) -> Option<JobStatus> {
        match s {
            "running" => Some(JobStatus::Running),
            "finished" => Some(JobStatus::Finished),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub source: String,
    pub created_by: String,
    pub created_role: Role,
    /// Epoch milliseconds.
    pub created_at: i64,
    pub total: i64,
    pub status: JobStatus,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    Pending,
    InFlight,
    Done,
    Failed,
    Interrupted,
    Duplicate,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::InFlight => "in_flight",
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Interrupted => "interrupted",
            ItemState::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<ItemState> {
        Some(match s {
            "pending" => ItemState::Pending,
            "in_flight" => ItemState::InFlight,
            "done" => ItemState::Done,
            "failed" => ItemState::Failed,
            "interrupted" => ItemState::Interrupted,
            "duplicate" => ItemState::Duplicate,
            _ => return None,
        })
    }
}

/// One input question and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub job_id: String,
    pub seq: i64,
    pub question: String,
    pub platform: Option<Platform>,
    pub sku: Option<String>,
    pub canonical: Option<i64>,
    pub state: ItemState,
    pub attempts: i64,
    pub draft_id: Option<String>,
    pub error: Option<String>,
    /// Why the answer is not the usual one (answered from the knowledge after a stop).
    pub note: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// An item a run has just claimed.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub seq: i64,
    pub question: String,
    pub platform: Option<Platform>,
    pub sku: Option<String>,
    /// An interrupted item, to be answered from the knowledge without calling a provider.
    pub from_knowledge: bool,
}

/// Items per state. `recent` = items finished in the rate window.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub total: i64,
    pub pending: i64,
    pub in_flight: i64,
    pub done: i64,
    pub failed: i64,
    pub interrupted: i64,
    pub duplicate: i64,
    #[serde(skip)]
    pub recent: i64,
}

impl Counts {
    pub(crate) fn add(&mut self, state: ItemState, n: i64, recent: i64) {
        self.total += n;
        self.recent += recent;
        match state {
            ItemState::Pending => self.pending += n,
            ItemState::InFlight => self.in_flight += n,
            ItemState::Done => self.done += n,
            ItemState::Failed => self.failed += n,
            ItemState::Interrupted => self.interrupted += n,
            ItemState::Duplicate => self.duplicate += n,
        }
    }

    /// Distinct questions (each sent at most once).
    pub fn unique(&self) -> i64 {
        self.total - self.duplicate
    }

    /// Distinct questions that reached a final state.
    pub fn settled(&self) -> i64 {
        self.done + self.failed + self.interrupted
    }
}

/// What settling a dead run's items did (item seqs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recovery {
    /// Drafts were stored before the run died: marked done, not sent again.
    pub adopted: Vec<i64>,
    /// No draft: marked interrupted.
    pub interrupted: Vec<i64>,
    /// Put back to pending on request (`retry_interrupted` / `retry_failed`).
    pub requeued: Vec<i64>,
}

/// A job's progress as the job endpoint and the CLI report it.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub job: Job,
    #[serde(flatten)]
    pub counts: Counts,
    pub unique: i64,
    /// Distinct questions settled per minute over the last minute.
    pub rate_per_min: f64,
    /// Seconds until every distinct question is settled at that rate; null when unknown.
    pub eta_secs: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum FaqError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
    #[error("FAQ job `{0}` not found; `kefu faq generate` prints the job id")]
    NoSuchJob(String),
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("invalid request: {0}")]
    Invalid(String),
}

// ---- jobs -------------------------------------------------------------------------------

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The actor name a job item's draft is stored under. It ties the draft to its item, so a run
/// that died between storing the draft and marking the item done is recovered exactly.
pub fn item_agent(job_id: &str, seq: i64) -> String {
    format!("faq:{job_id}:{seq}")
}

/// The hash that identifies an input for resuming: its bytes and the options that change what
/// is generated.
pub fn input_hash(bytes: &[u8], platform: Option<Platform>) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    h.update(b"\0platform=");
    h.update(platform.map_or("", Platform::as_str));
    hex::encode(h.finalize())
}

/// Questions with the same duplicate key (normalized text, platform, SKU) are generated once:
/// every later one points at the first.
pub fn dedupe(questions: &[Question]) -> Vec<NewItem> {
    let mut first: HashMap<(String, Option<Platform>, Option<String>), i64> = HashMap::new();
    questions
        .iter()
        .enumerate()
        .map(|(seq, q)| {
            let norm = normalize::normalize(&q.question);
            let key = (norm.clone(), q.platform, q.sku.clone());
            let canonical = match first.get(&key) {
                Some(&c) => Some(c),
                None => {
                    first.insert(key, seq as i64);
                    None
                }
            };
            NewItem {
                question: q.question.clone(),
                platform: q.platform,
                sku: q.sku.clone(),
                norm,
                canonical,
            }
        })
        .collect()
}

/// Stores a new job over `questions` (masked) and audits its creation (`faq_job_created`).
pub async fn create_job(
    app: &App,
    questions: &[Question],
    source: &str,
    input_hash: &str,
    actor: &Actor,
) -> Result<Job, FaqError> {
    if questions.is_empty() {
        return Err(FaqError::Invalid("the job has no questions".into()));
    }
    // Stored masked, like a draft's conversation: an uploaded list of real customer questions
    // may carry phone numbers or addresses, and an FAQ answer never needs them.
    let masked: Vec<Question> = questions
        .iter()
        .map(|q| {
            let mut vault: crate::redact::Vault = Default::default();
            Question {
                question: crate::redact::mask(&q.question, &mut vault),
                ..q.clone()
            }
        })
        .collect();
    let items = dedupe(&masked);
    let job = NewJob {
        id: uuid::Uuid::now_v7().to_string(),
        input_hash: input_hash.to_string(),
        source: source.to_string(),
        created_by: actor.clone(),
        created_at: now_ms(),
    };
    app.store.create_faq_job(&job, &items).await?;
    let unique = items.iter().filter(|i| i.canonical.is_none()).count();
    app.store
        .record(
            actor,
            "faq_job_created",
            serde_json::json!({
                "job_id": job.id, "source": source, "questions": items.len(), "unique": unique,
            }),
        )
        .await?;
    get_job(app, &job.id).await
}

pub async fn get_job(app: &App, id: &str) -> Result<Job, FaqError> {
    app.store
        .faq_job(id)
        .await?
        .ok_or_else(|| FaqError::NoSuchJob(id.to_string()))
}

/// Counts, rate over the last minute and ETA.
pub async fn progress(app: &App, job_id: &str) -> Result<Progress, FaqError> {
    let job = get_job(app, job_id).await?;
    let now = now_ms();
    let window_ms = 60_000.min((now - job.created_at).max(1_000));
    let counts = app.store.faq_counts(job_id, now - window_ms).await?;
    let rate_per_min = counts.recent as f64 * 60_000.0 / window_ms as f64;
    // Interrupted items are still to be answered (from the knowledge) when the fallback is on.
    let left = counts.pending
        + counts.in_flight
        + if app.config.review.extractive_fallback {
            counts.interrupted
        } else {
            0
        };
    let eta_secs = if left == 0 {
        Some(0)
    } else if rate_per_min > 0.0 {
        Some((left as f64 / rate_per_min * 60.0).ceil() as u64)
    } else {
        None
    };
    Ok(Progress {
        unique: counts.unique(),
        job,
        counts,
        rate_per_min: (rate_per_min * 10.0).round() / 10.0,
        eta_secs,
    })
}

// ---- running ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Concurrent questions; default [`default_workers`].
    pub workers: Option<usize>,
    /// Send interrupted questions once more (each re-send counts in `attempts`).
    pub retry_interrupted: bool,
    /// Send failed questions once more.
    pub retry_failed: bool,
    /// A run whose heartbeat is older than this is dead and its in-flight items are settled
    /// (at least [`MIN_STALE_AFTER`]).
    pub stale_after: Duration,
    /// Set to `true` to stop gracefully: no new question is claimed, those with the provider
    /// are answered and recorded, and the job stays resumable (nothing interrupted).
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workers: None,
            retry_interrupted: false,
            retry_failed: false,
            stale_after: Duration::from_secs(10),
            stop: None,
        }
    }
}

/// Whether a run answers the questions a stopped run left interrupted from the knowledge: the
/// fallback is on and the operator did not ask to send them again (then recovery has already
/// put them back to pending).
pub fn answers_interrupted_from_knowledge(app: &App, opts: &RunOptions) -> bool {
    app.config.review.extractive_fallback && !opts.retry_interrupted
}

/// Workers = the providers' combined `max_concurrency`: the gateway's limiters, not the
/// worker count, keep the requests under the quota (bulk requests wait there). Each provider
/// counts at most as many as its rate admits in half its timeout, because time queued in the
/// limiter counts against the request's deadline. Without a model (extractive mode) a few
/// workers keep the CPU busy.
pub fn default_workers(app: &App) -> usize {
    if !app.gateway.is_configured() {
        return 4;
    }
    workers_for(&app.config.providers)
}

/// [`default_workers`] for these providers.
pub fn workers_for(providers: &[crate::config::ProviderConfig]) -> usize {
    let n: u64 = providers
        .iter()
        .map(|p| {
            let by_rate = match p.rpm {
                0 => u64::MAX,
                rpm => (u64::from(rpm) * p.timeout_secs / 120).max(1),
            };
            u64::from(p.max_concurrency).min(by_rate)
        })
        .sum();
    n.clamp(1, 256) as usize
}

/// How a run ended.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub job_id: String,
    pub recovery: Recovery,
    /// Questions this run sent through the pipeline.
    pub processed: u64,
    pub elapsed_secs: f64,
    pub progress: Progress,
    /// Stopped on request before the job was done; run again to resume.
    pub stopped: bool,
}

/// Works on a job until no distinct question is pending or in flight (in this or another
/// live process), then marks it finished. `on_progress` is called after every question.
/// Store failures stop the run (the job stays resumable); a failing question is recorded
/// with its error and the run goes on.
pub async fn run_job(
    app: &App,
    job_id: &str,
    opts: &RunOptions,
    on_progress: &(dyn Fn(&Progress) + Send + Sync),
) -> Result<RunReport, FaqError> {
    let started = Instant::now();
    let job = get_job(app, job_id).await?;
    let run_id = uuid::Uuid::now_v7().to_string();
    app.store.faq_heartbeat(job_id, &run_id, now_ms()).await?;
    let _beat = Heartbeat::start(app.store.clone(), job_id.to_string(), run_id.clone());
    let workers = opts.workers.unwrap_or_else(|| default_workers(app)).max(1);
    let stale_after = opts.stale_after.max(MIN_STALE_AFTER);
    let stale_ms = i64::try_from(stale_after.as_millis()).unwrap_or(i64::MAX);
    let agent = |seq: i64| item_agent(job_id, seq);

    // Settles what dead runs left in flight (adopt a stored answer, else mark interrupted).
    let recover = || {
        app.store.faq_recover(
            job_id,
            now_ms() - stale_ms,
            opts.retry_interrupted,
            now_ms(),
            agent,
        )
    };
    let mut recovery = recover().await?;
    if opts.retry_failed {
        recovery
            .requeued
            .extend(app.store.faq_requeue_failed(job_id).await?);
    }
    if !recovery.requeued.is_empty() {
        app.store.faq_reopen_job(job_id).await?;
    }
    if !recovery.interrupted.is_empty() {
        tracing::warn!(
            job = job_id,
            items = ?recovery.interrupted,
            "questions interrupted by a stopped run; not sent again (use --retry-interrupted)"
        );
    }
    let from_knowledge = answers_interrupted_from_knowledge(app, opts);
    let claim = || async {
        match app.store.faq_claim(job_id, &run_id, now_ms()).await? {
            Some(c) => Ok(Some(c)),
            None if from_knowledge => {
                app.store
                    .faq_claim_interrupted(job_id, &run_id, now_ms(), now_ms() - stale_ms)
                    .await
            }
            None => Ok(None),
        }
    };
    let processed = std::sync::atomic::AtomicU64::new(0);
    let stopping = || opts.stop.as_ref().is_some_and(|s| *s.borrow());
    loop {
        let work = (0..workers).map(|_| async {
            while !stopping() {
                let Some(c) = claim().await? else {
                    break;
                };
                answer(app, &job, &run_id, c).await?;
                processed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Ok(p) = progress(app, job_id).await {
                    on_progress(&p);
                }
            }
            Ok::<(), FaqError>(())
        });
        for r in futures::future::join_all(work).await {
            r?;
        }
        if stopping() {
            let progress = progress(app, job_id).await?;
            on_progress(&progress);
            return Ok(RunReport {
                job_id: job_id.to_string(),
                recovery,
                processed: processed.into_inner(),
                elapsed_secs: started.elapsed().as_secs_f64(),
                progress,
                stopped: true,
            });
        }
        // Other processes may still hold items; wait for them, or for them to die.
        let settled = recover().await?;
        recovery.adopted.extend(settled.adopted);
        recovery.interrupted.extend(settled.interrupted);
        recovery.requeued.extend(settled.requeued);
        let counts = app.store.faq_counts(job_id, 0).await?;
        if counts.pending > 0 {
            continue;
        }
        // Interrupted items of a run still alive wait for its late answer or its death.
        let waiting = counts.in_flight
            + if from_knowledge {
                counts.interrupted
            } else {
                0
            };
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    app.store.faq_finish_job(job_id, now_ms()).await?;
    let progress = progress(app, job_id).await?;
    on_progress(&progress);
    Ok(RunReport {
        job_id: job_id.to_string(),
        recovery,
        processed: processed.into_inner(),
        elapsed_secs: started.elapsed().as_secs_f64(),
        progress,
        stopped: false,
    })
}

/// One question through the pipeline; its outcome recorded.
async fn answer(app: &App, job: &Job, run_id: &str, c: Claimed) -> Result<(), FaqError> {
    let req = SuggestRequest {
        conversation: Vec::new(),
        message: Some(c.question.clone()),
        platform: c.platform,
        sku: c.sku.clone(),
        order_facts: Default::default(),
        date: None,
        stream: false,
    };
    let actor = Actor {
        name: item_agent(&job.id, c.seq),
        role: job.created_role,
    };
    let purpose = if c.from_knowledge {
        Purpose::FaqFromKnowledge
    } else {
        Purpose::Faq
    };
    let outcome = pipeline::suggest_for(app, &req, &actor, None, purpose).await;
    let outcome = match &outcome {
        Ok(s) => Ok(s.draft.id.as_str()),
        Err(e) => {
            tracing::warn!(job = %job.id, seq = c.seq, error = %e, "FAQ question failed");
            Err(e.to_string())
        }
    };
    let recorded = app
        .store
        .faq_finish(
            &job.id,
            c.seq,
            run_id,
            outcome.as_ref().map(|d| *d).map_err(String::as_str),
            c.from_knowledge.then_some(FROM_KNOWLEDGE),
            now_ms(),
        )
        .await?;
    if !recorded {
        tracing::warn!(job = %job.id, seq = c.seq, "item was settled by another run meanwhile; outcome not recorded");
    }
    Ok(())
}

/// Beats while alive; stops beating when dropped.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(store: crate::drafts::Store, job_id: String, run_id: String) -> Heartbeat {
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT).await;
                if let Err(e) = store.faq_heartbeat(&job_id, &run_id, now_ms()).await {
                    tracing::warn!("FAQ run heartbeat failed: {e}");
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

// ---- results ----------------------------------------------------------------------------

/// One line of the results file: every input question, in input order.
#[derive(Debug, Clone, Serialize)]
pub struct ResultLine {
    pub seq: i64,
    pub question: String,
    pub platform: Option<Platform>,
    pub sku: Option<String>,
    /// done | failed | interrupted | pending | in_flight (a duplicate reports its original's).
    pub status: ItemState,
    /// For a duplicate: the seq of the question whose answer it shares.
    pub duplicate_of: Option<i64>,
    pub draft_id: Option<String>,
    pub answer: Option<String>,
    /// The draft's review status (pending until a reviewer decides).
    pub draft_status: Option<Status>,
    pub verdict: Option<String>,
    pub needs_human: Option<bool>,
    pub mode: Option<crate::drafts::Mode>,
    pub attempts: i64,
    pub error: Option<String>,
    /// Why the answer is not the usual one ([`FROM_KNOWLEDGE`]).
    pub note: Option<String>,
}

/// Every question with its outcome and draft, in input order.
pub async fn results(app: &App, job_id: &str) -> Result<Vec<ResultLine>, FaqError> {
    get_job(app, job_id).await?;
    let items = app.store.faq_items(job_id).await?;
    let mut drafts: HashMap<String, Draft> = HashMap::new();
    for id in items.iter().filter_map(|i| i.draft_id.as_ref()) {
        drafts.insert(id.clone(), app.store.get_draft(id).await?);
    }
    let by_seq: HashMap<i64, &Item> = items.iter().map(|i| (i.seq, i)).collect();
    Ok(items
        .iter()
        .map(|item| {
            let source = item
                .canonical
                .and_then(|c| by_seq.get(&c).copied())
                .unwrap_or(item);
            let draft = source.draft_id.as_ref().and_then(|id| drafts.get(id));
            ResultLine {
                seq: item.seq,
                question: item.question.clone(),
                platform: item.platform,
                sku: item.sku.clone(),
                status: source.state,
                duplicate_of: item.canonical,
                draft_id: source.draft_id.clone(),
                answer: draft.map(|d| {
                    d.final_text
                        .clone()
                        .unwrap_or_else(|| d.suggestion.text.clone())
                }),
                draft_status: draft.map(|d| d.status),
                verdict: draft.map(|d| d.suggestion.verdict.as_str().to_string()),
                needs_human: draft.map(|d| d.suggestion.needs_human),
                mode: draft.map(|d| d.suggestion.mode),
                attempts: source.attempts,
                error: source.error.clone(),
                note: source.note.clone(),
            }
        })
        .collect())
}

/// What a finished run says at the end.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub job_id: String,
    pub questions: usize,
    pub unique: usize,
    pub duplicates: usize,
    pub done: usize,
    pub failed: usize,
    pub interrupted: usize,
    /// Done, but answered from the knowledge after an interruption ([`FROM_KNOWLEDGE`]).
    pub from_knowledge: usize,
    pub unfinished: usize,
    /// Each failed or interrupted distinct question and why.
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub seq: i64,
    pub question: String,
    pub status: ItemState,
    pub error: String,
}

pub fn summarize(job_id: &str, lines: &[ResultLine]) -> Summary {
    let originals = || lines.iter().filter(|l| l.duplicate_of.is_none());
    let count = |s: ItemState| originals().filter(|l| l.status == s).count();
    Summary {
        job_id: job_id.to_string(),
        questions: lines.len(),
        unique: originals().count(),
        duplicates: lines.len() - originals().count(),
        done: count(ItemState::Done),
        failed: count(ItemState::Failed),
        interrupted: count(ItemState::Interrupted),
        from_knowledge: originals()
            .filter(|l| l.status == ItemState::Done && l.note.is_some())
            .count(),
        unfinished: count(ItemState::Pending) + count(ItemState::InFlight),
        failures: originals()
            .filter(|l| matches!(l.status, ItemState::Failed | ItemState::Interrupted))
            .map(|l| Failure {
                seq: l.seq,
                question: l.question.clone(),
                status: l.status,
                error: l.error.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// Writes the results as JSON Lines to `out`, atomically (a temporary file renamed over it),
/// so the file is always complete and valid.
pub async fn write_results(app: &App, job_id: &str, out: &Path) -> Result<Summary, FaqError> {
    let lines = results(app, job_id).await?;
    let mut text = String::new();
    for l in &lines {
        let json = serde_json::to_string(l).map_err(|e| FaqError::Write {
            path: out.display().to_string(),
            message: e.to_string(),
        })?;
        text.push_str(&json);
        text.push('\n');
    }
    write_atomically(out, text.as_bytes())?;
    Ok(summarize(job_id, &lines))
}

pub(crate) fn write_atomically(out: &Path, bytes: &[u8]) -> Result<(), FaqError> {
    let err = |e: std::io::Error| FaqError::Write {
        path: out.display().to_string(),
        message: e.to_string(),
    };
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    std::fs::rename(&tmp, out).map_err(err)
}

// ---- review and export ------------------------------------------------------------------

/// One decision of a bulk review.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewAction {
    pub draft_id: String,
    pub action: ReviewKind,
    /// The edited answer (`edit`).
    #[serde(default)]
    pub text: Option<String>,
    /// Why (`reject`).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewKind {
    Approve,
    Edit,
    Reject,
}

/// The outcome of one review action: the draft's new status, or why it was refused.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewOutcome {
    pub draft_id: String,
    pub ok: bool,
    pub status: Option<Status>,
    pub error: Option<String>,
}

/// Applies each action on its own (one failing does not stop the others), with the same checks
/// as the per-draft approve/reject endpoints. Only drafts of this job are accepted.
pub async fn review(
    app: &App,
    job_id: &str,
    actor: &Actor,
    actions: Vec<ReviewAction>,
) -> Result<Vec<ReviewOutcome>, FaqError> {
    get_job(app, job_id).await?;
    let items = app.store.faq_items(job_id).await?;
    let ours: std::collections::HashSet<&str> =
        items.iter().filter_map(|i| i.draft_id.as_deref()).collect();
    let mut out = Vec::with_capacity(actions.len());
    for a in actions {
        let result: Result<Draft, String> = if !ours.contains(a.draft_id.as_str()) {
            Err(format!(
                "draft {} is not an answer of job {job_id}",
                a.draft_id
            ))
        } else {
            match a.action {
                ReviewKind::Approve => review::approve(app, &a.draft_id, actor, None, None).await,
                ReviewKind::Edit => match a.text.clone().filter(|t| !t.trim().is_empty()) {
                    Some(text) => review::approve(app, &a.draft_id, actor, Some(text), None).await,
                    None => Err(ReviewError::Invalid(
                        "`edit` needs the edited `text`".into(),
                    )),
                },
                ReviewKind::Reject => {
                    review::reject(
                        app,
                        &a.draft_id,
                        actor,
                        a.reason.clone().unwrap_or_default(),
                    )
                    .await
                }
            }
            .map_err(|e| e.to_string())
        };
        out.push(match result {
            Ok(d) => ReviewOutcome {
                draft_id: a.draft_id,
                ok: true,
                status: Some(d.status),
                error: None,
            },
            Err(e) => ReviewOutcome {
                draft_id: a.draft_id,
                ok: false,
                status: None,
                error: Some(e),
            },
        });
    }
    Ok(out)
}

/// Writes the approved (or edited) answers as a knowledge FAQ CSV
/// (`id,question,answer,platforms,skus,tags`), ready for the `knowledge/` folder. Returns the
/// number of rows.
pub async fn export_csv<W: std::io::Write>(
    app: &App,
    job_id: &str,
    out: W,
) -> Result<usize, FaqError> {
    let job = get_job(app, job_id).await?;
    let items = app.store.faq_items(job_id).await?;
    let err = |e: csv::Error| FaqError::Write {
        path: "the CSV export".into(),
        message: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(["id", "question", "answer", "platforms", "skus", "tags"])
        .map_err(err)?;
    // The random tail of the job id keeps ids of different jobs apart.
    let tag: String = job
        .id
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut rows = 0;
    for item in items.iter().filter(|i| i.canonical.is_none()) {
        let Some(id) = &item.draft_id else { continue };
        let draft = app.store.get_draft(id).await?;
        if !matches!(draft.status, Status::Approved | Status::Edited) {
            continue;
        }
        let Some(answer) = draft.final_text.as_deref() else {
            continue;
        };
        w.write_record([
            format!("faq-gen-{tag}-{:04}", item.seq + 1).as_str(),
            item.question.trim(),
            answer.trim(),
            item.platform.map_or("", Platform::as_str),
            item.sku.as_deref().unwrap_or(""),
            "",
        ])
        .map_err(err)?;
        rows += 1;
    }
    w.flush().map_err(|e| FaqError::Write {
        path: "the CSV export".into(),
        message: e.to_string(),
    })?;
    Ok(rows)
}

/// Starts a background run for every unfinished job (call once after startup so that jobs
/// created over HTTP continue after a restart).
pub async fn resume_unfinished(app: std::sync::Arc<App>) -> Result<usize, FaqError> {
    let jobs = app.store.faq_unfinished_jobs().await?;
    let n = jobs.len();
    for job in jobs {
        spawn_run(app.clone(), job.id, RunOptions::default());
    }
    Ok(n)
}

/// This process's background runs, so that a shutdown can drain them: asked to stop, they
/// claim nothing new and record the answers of questions already sent.
pub struct Runs {
    stop: tokio::sync::watch::Sender<bool>,
    /// Each run holds a clone while it works.
    alive: std::sync::Arc<()>,
}

impl Default for Runs {
    fn default() -> Self {
        Runs {
            stop: tokio::sync::watch::channel(false).0,
            alive: std::sync::Arc::new(()),
        }
    }
}

impl Runs {
    /// Asks every run to stop and waits up to `grace` for them; `false` when some were
    /// still running (their in-flight questions become `interrupted` on the next run).
    pub async fn drain(&self, grace: Duration) -> bool {
        let _ = self.stop.send(true);
        let deadline = Instant::now() + grace;
        while std::sync::Arc::strong_count(&self.alive) > 1 {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }
}

/// Runs a job on a background task, logging how it ended. The run stops when the process's
/// runs are drained (shutdown), unless `opts` brings its own stop signal.
pub fn spawn_run(app: std::sync::Arc<App>, job_id: String, mut opts: RunOptions) {
    let alive = app.faq_runs.alive.clone();
    if opts.stop.is_none() {
        opts.stop = Some(app.faq_runs.stop.subscribe());
    }
    tokio::spawn(async move {
        let _alive = alive;
        match run_job(&app, &job_id, &opts, &|_| {}).await {
            Ok(r) => tracing::info!(
                job = %job_id,
                done = r.progress.counts.done,
                failed = r.progress.counts.failed,
                interrupted = r.progress.counts.interrupted,
                "FAQ job run ended"
            ),
            Err(e) => tracing::error!(job = %job_id, "FAQ job run stopped: {e}"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::workers_for;
    use crate::config::ProviderConfig;

    fn provider(rpm: u32, max_concurrency: u32, timeout_secs: u64) -> ProviderConfig {
        serde_json::from_value(serde_json::json!({
            "name": "p", "base_url": "http://127.0.0.1:1/v1", "model": "m", "api_key_env": "",
            "rpm": rpm, "max_concurrency": max_concurrency, "timeout_secs": timeout_secs,
        }))
        .unwrap()
    }

    #[test]
    fn workers_follow_concurrency_unless_the_rate_would_queue_them_past_the_timeout() {
        assert_eq!(workers_for(&[provider(600, 16, 30)]), 16);
        // 60 rpm: one a second; 64 queued workers would wait 64 s against a 30 s deadline
        assert_eq!(workers_for(&[provider(60, 64, 30)]), 15);
        assert_eq!(workers_for(&[provider(0, 8, 30)]), 8);
        assert_eq!(workers_for(&[provider(1, 8, 30)]), 1);
        assert_eq!(
            workers_for(&[provider(600, 16, 30), provider(60, 4, 30)]),
            20
        );
    }
}
