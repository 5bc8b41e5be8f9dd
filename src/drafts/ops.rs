//! Writing operations, written once for both databases. Each runs inside one transaction: a
//! draft's new state and its events commit together or not at all.
//!
//! Every writing transaction locks the chain head first (draft rows after it): appends are
//! serialized, the chain never forks, and with one lock order there is no deadlock between
//! a batch of the group-commit writer, the expiry sweep, or another replica's writer. The
//! head is read once per transaction and kept by it, so later jobs of a batch do not ask again.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::audit::{self, RawEvent};
use super::state::{self, PendingEvent, Transition};
use super::{Actor, AuditEvent, Decision, Draft, StoreError};

/// The chain's newest link, as recorded in `chain_head`.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub seq: i64,
    pub hash: String,
}

/// One open writing transaction of a backend.
pub(crate) trait WriteTx: Send + Sized {
    /// Locks the chain head for the rest of the transaction and returns it.
    fn lock_head(&mut self) -> impl Future<Output = Result<Head, StoreError>> + Send;
    /// Inserts sealed events (consecutive, following the locked head) and moves the head to
    /// the last one.
    fn append_events(
        &mut self,
        events: &[RawEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_draft(
        &mut self,
        d: &Draft,
        raw: Option<&str>,
        raw_purge_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads a draft and locks it until commit (concurrent decisions on it wait here).
    fn lock_draft(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Draft>, StoreError>> + Send;
    /// Writes status, times, final text, decider, reason and approvals.
    fn update_draft(&mut self, d: &Draft) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Pending drafts with `expires_at <= now`, oldest first, at most `limit`, locked;
    /// drafts locked by a concurrent decision are skipped.
    fn stale_pending(
        &mut self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Draft>, StoreError>> + Send;
    /// Clears raw conversations whose retention ended; returns the draft ids.
    fn purge_raw(
        &mut self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    fn commit(self) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn rollback(self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A backend that can open writing transactions.
pub(crate) trait Begin: Clone + Send + Sync + 'static {
    type Tx: WriteTx + 'static;
    fn begin(&self) -> impl Future<Output = Result<Self::Tx, StoreError>> + Send;
}

/// Seals `events` onto the (locked) head and writes them.
async fn append<T: WriteTx>(
    tx: &mut T,
    at: DateTime<Utc>,
    events: Vec<PendingEvent>,
) -> Result<Vec<AuditEvent>, StoreError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let head = tx.lock_head().await?;
    let (mut seq, mut hash) = (head.seq, head.hash);
    let mut sealed = Vec::with_capacity(events.len());
    for e in events {
        let raw = audit::seal(
            seq,
            &hash,
            at,
            &e.actor,
            &e.action,
            e.draft_id.as_deref(),
            &e.payload,
        );
        seq = raw.seq;
        hash = raw.hash.clone();
        sealed.push(raw);
    }
    tx.append_events(&sealed).await?;
    sealed.into_iter().map(RawEvent::into_event).collect()
}

// The operations below write inside `tx` and leave commit or rollback to the caller (the
// group-commit writer, or a one-off transaction). They fail with `StoreError::Db` only when
// the transaction must be rolled back; any other error happens before a write, except a
// decision on a draft past its TTL, whose expiry is written and must be committed.

pub(crate) async fn insert_draft<T: WriteTx>(
    tx: &mut T,
    draft: &Draft,
    actor: &Actor,
    raw: Option<&str>,
    raw_purge_at: Option<DateTime<Utc>>,
) -> Result<Draft, StoreError> {
    tx.lock_head().await?;
    tx.insert_draft(draft, raw, raw_purge_at).await?;
    let event = PendingEvent {
        actor: actor.clone(),
        action: "suggested".into(),
        draft_id: Some(draft.id.clone()),
        payload: state::suggested_payload(&draft.suggestion),
    };
    append(tx, draft.created_at, vec![event]).await?;
    Ok(draft.clone())
}

pub(crate) async fn decide<T: WriteTx>(
    tx: &mut T,
    id: &str,
    actor: &Actor,
    decision: Decision,
    second_approval_categories: &[String],
) -> Result<Draft, StoreError> {
    // Whoever holds the lock sees the draft as the last decision left it.
    tx.lock_head().await?;
    let draft = tx
        .lock_draft(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    let now = audit::now();
    let Transition {
        draft,
        events,
        expired_instead,
    } = state::decide(draft, actor, decision, now, second_approval_categories)?;
    tx.update_draft(&draft).await?;
    append(tx, now, events).await?;
    if expired_instead {
        return Err(StoreError::Conflict {
            id: draft.id,
            status: draft.status,
        });
    }
    Ok(draft)
}

pub(crate) async fn record<T: WriteTx>(
    tx: &mut T,
    actor: &Actor,
    action: &str,
    draft_id: Option<&str>,
    payload: serde_json::Value,
) -> Result<AuditEvent, StoreError> {
    if action.trim().is_empty() {
        return Err(StoreError::Invalid("an audit event needs an action".into()));
    }
    let event = PendingEvent {
        actor: actor.clone(),
        action: action.to_string(),
        draft_id: draft_id.map(str::to_string),
        payload,
    };
    let mut out = append(tx, audit::now(), vec![event]).await?;
    out.pop()
        .ok_or_else(|| StoreError::Db("the appended event was not returned".into()))
}

/// Expires up to `limit` stale drafts; returns their ids.
pub(crate) async fn expire_stale<T: WriteTx>(
    tx: &mut T,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let now = audit::truncate(now);
    tx.lock_head().await?;
    let stale = tx.stale_pending(now, limit).await?;
    let mut ids = Vec::with_capacity(stale.len());
    let mut events = Vec::with_capacity(stale.len());
    for draft in stale {
        let t = state::expire_stale(draft, now);
        tx.update_draft(&t.draft).await?;
        events.extend(t.events);
        ids.push(t.draft.id);
    }
    append(tx, now, events).await?;
    Ok(ids)
}

pub(crate) async fn purge_raw<T: WriteTx>(
    tx: &mut T,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let now = audit::truncate(now);
    tx.lock_head().await?;
    let ids = tx.purge_raw(now).await?;
    if !ids.is_empty() {
        let event = PendingEvent {
            actor: actor.clone(),
            action: "purged".into(),
            draft_id: None,
            payload: serde_json::json!({
                "what": "raw_conversation",
                "drafts": ids,
                "count": ids.len(),
            }),
        };
        append(tx, now, vec![event]).await?;
    }
    Ok(ids)
}
