//! Drafts and their audit trail: the state machine, the stores (SQLite, PostgreSQL) and the
//! hash-chained audit events.
//!
//! Invariant: a draft's status changes and its audit event are written in one transaction,
//! so an answered request never leaves one without the other.

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

/// Who acts. In local-only mode this is the built-in local user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
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

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("draft {0} not found")]
    NotFound(String),
    #[error("draft {id} is {status:?}; only a pending draft can be decided")]
    Conflict { id: String, status: Status },
    #[error("database error: {0}")]
    Db(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
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

/// Drafts and audit events, on SQLite (default) or PostgreSQL (`database_url`).
pub struct Store {
    _private: (),
}

impl Store {
    /// Opens (creating if needed) the database and runs the embedded migrations.
    pub async fn open(cfg: &StorageConfig) -> Result<Self, StoreError> {
        let _ = cfg;
        todo!("drafts: open store")
    }

    /// Stores a new pending draft and its `suggested` event in one transaction.
    pub async fn insert_draft(&self, draft: &NewDraft, actor: &Actor) -> Result<Draft, StoreError> {
        let _ = (draft, actor);
        todo!("drafts: insert")
    }

    pub async fn get_draft(&self, id: &str) -> Result<Draft, StoreError> {
        let _ = id;
        todo!("drafts: get")
    }

    /// Applies a decision to a pending draft; exactly one of concurrent decisions wins.
    pub async fn decide(
        &self,
        id: &str,
        actor: &Actor,
        decision: Decision,
    ) -> Result<Draft, StoreError> {
        let _ = (id, actor, decision);
        todo!("drafts: decide")
    }

    /// Appends an event not tied to a draft decision (reloads, exports, purges).
    pub async fn record(
        &self,
        actor: &Actor,
        action: &str,
        payload: serde_json::Value,
    ) -> Result<AuditEvent, StoreError> {
        let _ = (actor, action, payload);
        todo!("drafts: record")
    }

    /// Events in order, for a draft or all of them.
    pub async fn events(&self, draft_id: Option<&str>) -> Result<Vec<AuditEvent>, StoreError> {
        let _ = draft_id;
        todo!("drafts: events")
    }
}
