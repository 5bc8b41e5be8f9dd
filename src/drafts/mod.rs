//! Drafts and their audit trail: the state machine, the stores (SQLite, PostgreSQL) and the
//! hash-chained audit events.
//!
//! Invariant: a draft's status changes and its audit event are written in one transaction,
//! so an answered request never leaves one without the other.
//!
//! Layout: `state` decides transitions (pure), `audit` hashes and verifies the chain (pure),
//! `ops` runs a transition inside one writing transaction of either backend, `sqlite` and
//! `postgres` hold the SQL, `export` writes JSONL and CSV.
//!
//! Wiring: `Store::open(&cfg.storage).await?.with_second_approval_categories(
//! &cfg.review.second_approval_categories)`, then every minute or so
//! `expire_stale(Utc::now())` and `purge_raw(Utc::now())`.
//!
//! The chain: event n stores `prev_hash` = hash of event n-1 (genesis: 64 zeros) and
//! `hash` = hex SHA-256 of the JSON array `[seq, at, actor, role, action, draft_id, payload,
//! prev_hash]`, where `at` is RFC 3339 UTC with microseconds and `payload` is the stored JSON
//! text. Anyone can re-check an export with that rule.

mod audit;
mod export;
mod jobs;
mod ops;
mod postgres;
mod row;
mod sqlite;
mod state;
mod writer;

pub use audit::{EventFilter, EventPage, VerifyProblem, VerifyReport, GENESIS_HASH};
pub use export::{ExportFormat, ExportSummary};
pub use state::{edit_distance, Origin};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::compliance::{Finding, Verdict};
use crate::config::StorageConfig;
use crate::conversation::{Platform, Turn};
use crate::llm::Usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Edited,
    Rejected,
    Expired,
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
            format!("unknown status `{s}`; use pending, approved, edited, rejected or expired")
        })
    }
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Edited => "edited",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "pending" => Status::Pending,
            "approved" => Status::Approved,
            "edited" => Status::Edited,
            "rejected" => Status::Rejected,
            "expired" => Status::Expired,
            _ => return None,
        })
    }
}

/// Where the text of a draft came from (AI-generated-content labelling needs this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Written by a language model.
    Model,
    /// Assembled from knowledge snippets without a model.
    Extractive,
}

/// The roles of the access-control model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Reviewer,
    Compliance,
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(&s.to_ascii_lowercase())
            .ok_or_else(|| format!("unknown role `{s}`; use agent, reviewer, compliance or admin"))
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Reviewer => "reviewer",
            Role::Compliance => "compliance",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "agent" => Role::Agent,
            "reviewer" => Role::Reviewer,
            "compliance" => Role::Compliance,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// Who acts. In local-only mode this is the built-in local user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

impl Actor {
    /// The actor of scheduled work (expiry sweep, retention purge).
    pub fn system() -> Actor {
        Actor {
            name: "system".into(),
            role: Role::Admin,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceRef {
    pub id: String,
    pub doc_id: String,
    pub title: String,
    pub expired: bool,
}

/// Everything the pipeline knows about a fresh suggestion.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewDraft {
    /// The conversation as stored: masked unless raw retention is configured.
    pub conversation: Vec<Turn>,
    pub platform: Option<Platform>,
    pub sku: Option<String>,
    pub scenario: String,
    pub text: String,
    pub mode: Mode,
    pub needs_human: bool,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    pub sources: Vec<SourceRef>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub attempts: u32,
    pub usage: Option<Usage>,
    pub latency_ms: u64,
    pub template: String,
    pub template_hash: String,
    pub ruleset_version: String,
    pub knowledge_version: String,
}

/// A stored draft.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub status: Status,
    pub agent: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub suggestion: NewDraft,
    /// The text that was approved (edited or not).
    pub final_text: Option<String>,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    /// A pending draft older than this expires (`storage.draft_ttl_hours`).
    pub expires_at: DateTime<Utc>,
    /// 2 when the text being approved has a `warn` finding in a second-approval category.
    #[serde(default = "one")]
    pub required_approvals: u32,
    /// Approvals given so far; while fewer than `required_approvals`, the draft stays pending.
    #[serde(default)]
    pub approvals: Vec<Approval>,
}

fn one() -> u32 {
    1
}

/// One person's approval of a final text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Approval {
    pub actor: String,
    pub role: Role,
    pub at: DateTime<Utc>,
    pub final_text: String,
}

/// A decision on a pending draft. The caller has already checked the final text.
#[derive(Debug, Clone)]
pub enum Decision {
    Approve {
        final_text: String,
        verdict: Verdict,
        findings: Vec<Finding>,
        ruleset_version: String,
        /// Set when a compliance officer overrides a `block`.
        override_reason: Option<String>,
    },
    Reject {
        reason: String,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("draft {0} not found")]
    NotFound(String),
    #[error("draft {id} is {status:?}; only a pending draft can be decided")]
    Conflict { id: String, status: Status },
    #[error("database error: {0}")]
    Db(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// The actor may not make this decision (HTTP 403).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The request itself is unusable (HTTP 422).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Writing an export failed.
    #[error("export failed: {0}")]
    Export(String),
    /// A stored row does not parse: the database was changed outside kefu.
    #[error("corrupt row in {table} ({key}): {message}; run `kefu audit verify` and restore from a backup")]
    Corrupt {
        table: &'static str,
        key: String,
        message: String,
    },
}

/// One audit event as stored and exported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: Role,
    pub action: String,
    pub draft_id: Option<String>,
    /// Action-specific details: final text, findings, override reason, versions, model …
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone)]
enum Backend {
    Sqlite(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// Runs `$body` (an `ops` call on `&mut $tx`) in a transaction of its own on whichever
/// backend is open: committed when it succeeds, rolled back when it fails.
macro_rules! in_tx {
    ($self:ident, $tx:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(b) => {
                let mut $tx = ops::Begin::begin(b).await?;
                let r = $body.await;
                finish($tx, r).await
            }
            Backend::Postgres(b) => {
                let mut $tx = ops::Begin::begin(b).await?;
                let r = $body.await;
                finish($tx, r).await
            }
        }
    };
}

async fn finish<T: ops::WriteTx, R>(tx: T, r: Result<R, StoreError>) -> Result<R, StoreError> {
    match r {
        Ok(v) => {
            tx.commit().await?;
            Ok(v)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Runs the same read on whichever backend is open.
macro_rules! read {
    ($self:ident, $b:ident => $body:expr) => {
        match &$self.backend {
            Backend::Sqlite($b) => $body.await,
            Backend::Postgres($b) => $body.await,
        }
    };
}

/// Events read per round trip when walking the whole chain.
const CHUNK: i64 = 1000;
/// Drafts expired per transaction by the sweep (keeps the head lock short).
const EXPIRE_BATCH: i64 = 500;

/// Migrations only add (tables, nullable columns), so a binary older than its database still
/// works: during an upgrade the FAQ workers of the old version keep running beside the new one
/// instead of refusing the database the first new process migrated.
fn tolerant(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    migrator.set_ignore_missing(true);
    migrator
}

/// Drafts and audit events, on SQLite (default, `<data_dir>/kefu.db`) or PostgreSQL
/// (`storage.database_url`). Cheap to clone: clones share the connection pools.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Group-commit task for suggestions, decisions and recorded events.
    writer: writer::Writer,
    ttl: chrono::Duration,
    raw_retention: Option<chrono::Duration>,
    second_approval_categories: std::sync::Arc<[String]>,
}

impl Store {
    /// Opens (creating if needed) the database and runs the embedded migrations. Starts the
    /// store's writer task on the current Tokio runtime: open the store on the runtime that
    /// uses it.
    pub async fn open(cfg: &StorageConfig) -> Result<Self, StoreError> {
        let url = cfg.database_url.as_deref().filter(|u| !u.trim().is_empty());
        let (backend, writer) = match url {
            Some(url) => {
                let b = postgres::PgStore::open(url).await?;
                (Backend::Postgres(b.clone()), writer::Writer::spawn(b))
            }
            None => {
                let b = sqlite::SqliteStore::open(&cfg.data_dir.join("kefu.db")).await?;
                (Backend::Sqlite(b.clone()), writer::Writer::spawn(b))
            }
        };
        // capped at a century so that `now + ttl` can never overflow
        let hours = |h: u64| chrono::Duration::hours(h.min(24 * 366 * 100) as i64);
        Ok(Store {
            backend,
            writer,
            ttl: hours(cfg.draft_ttl_hours),
            raw_retention: (cfg.raw_retention_days > 0)
                .then(|| hours(cfg.raw_retention_days.saturating_mul(24))),
            second_approval_categories: Vec::new().into(),
        })
    }

    /// Categories whose `warn` (or overridden `block`) findings need a second approval by a
    /// different reviewer or compliance officer (`review.second_approval_categories`).
    pub fn with_second_approval_categories(mut self, categories: &[String]) -> Self {
        self.second_approval_categories = categories.into();
        self
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes the pools, waiting for connections in use.
    pub async fn close(&self) {
        read!(self, b => b.close())
    }

    /// Stores a new pending draft and its `suggested` event in one transaction.
    pub async fn insert_draft(&self, draft: &NewDraft, actor: &Actor) -> Result<Draft, StoreError> {
        self.insert_draft_with_raw(draft, actor, None).await
    }

    /// [`Store::insert_draft`], also keeping the unmasked conversation when
    /// `storage.raw_retention_days > 0` (otherwise `raw` is dropped, never written).
    pub async fn insert_draft_with_raw(
        &self,
        draft: &NewDraft,
        actor: &Actor,
        raw: Option<&[Turn]>,
    ) -> Result<Draft, StoreError> {
        let now = audit::now();
        let new = Draft {
            id: uuid::Uuid::now_v7().to_string(),
            status: Status::Pending,
            agent: actor.name.clone(),
            created_at: now,
            updated_at: now,
            suggestion: draft.clone(),
            final_text: None,
            decided_by: None,
            reason: None,
            expires_at: now + self.ttl,
            required_approvals: state::required_approvals(
                &draft.findings,
                &self.second_approval_categories,
            ),
            approvals: Vec::new(),
        };
        let (raw, purge_at) = match (raw, self.raw_retention) {
            (Some(turns), Some(keep)) => (
                Some(row::to_json(&turns, "the raw conversation")?),
                Some(now + keep),
            ),
            _ => (None, None),
        };
        self.writer
            .submit(|reply| writer::Job::Insert {
                draft: Box::new(new),
                actor: actor.clone(),
                raw,
                purge_at,
                reply,
            })
            .await
    }

    pub async fn get_draft(&self, id: &str) -> Result<Draft, StoreError> {
        read!(self, b => b.get_draft(id))?.ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// The unmasked conversation, when raw retention kept it and it was not purged yet.
    pub async fn raw_conversation(&self, id: &str) -> Result<Option<Vec<Turn>>, StoreError> {
        let raw = read!(self, b => b.raw_conversation(id))?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        raw.map(|s| {
            serde_json::from_str(&s).map_err(|e| StoreError::Corrupt {
                table: "drafts",
                key: id.to_string(),
                message: format!("raw_conversation is not valid JSON: {e}"),
            })
        })
        .transpose()
    }

    /// Newest drafts first, optionally only one status and/or one agent's.
    pub async fn list_drafts(
        &self,
        status: Option<Status>,
        agent: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Draft>, StoreError> {
        let status = status.map(Status::as_str);
        let limit = i64::from(limit.clamp(1, audit::MAX_PAGE));
        read!(self, b => b.list_drafts(status, agent, limit))
    }

    /// Applies a decision to a pending draft; exactly one of concurrent decisions wins.
    ///
    /// - `Reject` -> `rejected`.
    /// - `Approve` with the suggested text -> `approved`, with another text -> `edited`.
    /// - When the final text has a `warn` finding in a second-approval category, the first
    ///   approval leaves the draft `pending` with one entry in `approvals` (event
    ///   `first_approval`); a second approval of the same text by a different person whose
    ///   role is reviewer or compliance completes it. Approving a different text starts over.
    /// - A `block` verdict needs `override_reason` and a compliance (or admin) actor; the
    ///   override is recorded as its own `overridden` event.
    /// - A pending draft past `expires_at` is expired by this call, then `Conflict` is returned.
    ///
    /// Errors: `NotFound`, `Conflict` (not pending; 409), `Forbidden` (403), `Invalid` (422).
    pub async fn decide(
        &self,
        id: &str,
        actor: &Actor,
        decision: Decision,
    ) -> Result<Draft, StoreError> {
        self.writer
            .submit(|reply| writer::Job::Decide {
                id: id.to_string(),
                actor: actor.clone(),
                decision,
                categories: self.second_approval_categories.clone(),
                reply,
            })
            .await
    }

    /// Appends an event not tied to a draft decision (reloads, exports, purges).
    pub async fn record(
        &self,
        actor: &Actor,
        action: &str,
        payload: serde_json::Value,
    ) -> Result<AuditEvent, StoreError> {
        self.writer
            .submit(|reply| writer::Job::Record {
                actor: actor.clone(),
                action: action.to_string(),
                draft_id: None,
                payload,
                reply,
            })
            .await
    }

    /// Appends an event about one draft that is not a decision (e.g. the text was sent).
    pub async fn record_for_draft(
        &self,
        actor: &Actor,
        action: &str,
        draft_id: &str,
        payload: serde_json::Value,
    ) -> Result<AuditEvent, StoreError> {
        self.writer
            .submit(|reply| writer::Job::Record {
                actor: actor.clone(),
                action: action.to_string(),
                draft_id: Some(draft_id.to_string()),
                payload,
                reply,
            })
            .await
    }

    /// Events in order, for a draft or all of them.
    pub async fn events(&self, draft_id: Option<&str>) -> Result<Vec<AuditEvent>, StoreError> {
        let filter = EventFilter {
            draft_id: draft_id.map(str::to_string),
            ..EventFilter::default()
        };
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = read!(self, b => b.events(&filter, after, CHUNK))?;
            let done = (page.len() as i64) < CHUNK;
            for raw in page {
                after = raw.seq;
                out.push(raw.into_event()?);
            }
            if done {
                return Ok(out);
            }
        }
    }

    /// One page of events matching `filter`, in seq order, after seq `after` (0 or `None`
    /// for the first page). `limit` is clamped to 1..=1000. For `GET /v1/audit/events`.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        after: Option<i64>,
        limit: u32,
    ) -> Result<EventPage, StoreError> {
        let limit = i64::from(limit.clamp(1, audit::MAX_PAGE));
        let raw = read!(self, b => b.events(filter, after.unwrap_or(0), limit))?;
        let full = raw.len() as i64 == limit;
        let events = raw
            .into_iter()
            .map(audit::RawEvent::into_event)
            .collect::<Result<Vec<_>, _>>()?;
        let next_after = if full {
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(EventPage { events, next_after })
    }

    /// Re-hashes the whole chain and names the first altered, deleted or reordered event.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        // Head first: events committed later are beyond it and not checked.
        let head = read!(self, b => b.head())?;
        let mut v = audit::Verifier::new();
        let all = EventFilter::default();
        let mut after = 0;
        loop {
            let page = read!(self, b => b.events(&all, after, CHUNK))?;
            let done = (page.len() as i64) < CHUNK;
            for raw in page {
                if raw.seq > head.seq {
                    // appended after we read the head: not part of this check
                    return Ok(v.finish(head.seq, &head.hash));
                }
                after = raw.seq;
                v.feed(&raw);
            }
            if done || v.failed() {
                return Ok(v.finish(head.seq, &head.hash));
            }
        }
    }

    /// Writes the events matching `filter` to `out` and records an `exported` event (actor,
    /// filter, count) — the export itself is audited.
    pub async fn export<W: std::io::Write>(
        &self,
        actor: &Actor,
        filter: &EventFilter,
        format: ExportFormat,
        out: &mut W,
    ) -> Result<ExportSummary, StoreError> {
        let head = read!(self, b => b.head())?;
        let mut exporter = export::Exporter::new(format, out)?;
        let mut summary = ExportSummary {
            format,
            events: 0,
            first_seq: None,
            last_seq: None,
        };
        let mut after = 0;
        'pages: loop {
            let page = read!(self, b => b.events(filter, after, CHUNK))?;
            let done = (page.len() as i64) < CHUNK;
            for raw in page {
                if raw.seq > head.seq {
                    break 'pages;
                }
                after = raw.seq;
                let event = raw.into_event()?;
                exporter.write(&event)?;
                summary.events += 1;
                summary.first_seq.get_or_insert(event.seq);
                summary.last_seq = Some(event.seq);
            }
            if done {
                break;
            }
        }
        exporter.finish()?;
        let filter_json = serde_json::to_value(filter).unwrap_or(serde_json::Value::Null);
        self.record(
            actor,
            "exported",
            serde_json::json!({
                "format": format.as_str(),
                "filter": filter_json,
                "events": summary.events,
                "first_seq": summary.first_seq,
                "last_seq": summary.last_seq,
            }),
        )
        .await?;
        Ok(summary)
    }

    /// Expires every pending draft whose TTL ended by `now`, each with an `expired` event.
    /// Returns the expired drafts' ids. Run it periodically (e.g. every minute).
    pub async fn expire_stale(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let mut all = Vec::new();
        loop {
            let ids = in_tx!(self, tx => ops::expire_stale(&mut tx, now, EXPIRE_BATCH))?;
            let done = (ids.len() as i64) < EXPIRE_BATCH;
            all.extend(ids);
            if done {
                return Ok(all);
            }
        }
    }

    /// Deletes raw (unmasked) conversations whose retention ended by `now` and records one
    /// `purged` event by `actor` naming the drafts. Returns their ids (empty: nothing to
    /// purge, no event).
    pub async fn purge_raw(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        in_tx!(self, tx => ops::purge_raw(&mut tx, actor, now))
    }
}
