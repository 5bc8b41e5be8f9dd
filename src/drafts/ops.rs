//! Writing operations, written once for both databases: each runs inside one transaction that
//! first locks the chain head, so appends are serialized and a draft's new state and its
//! events commit together or not at all.

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
    fn set_head(&mut self, head: &Head) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_event(&mut self, e: &RawEvent)
        -> impl Future<Output = Result<(), StoreError>> + Send;
    fn insert_draft(
        &mut self,
        d: &Draft,
        raw: Option<&str>,
        raw_purge_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn load_draft(
        &mut self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Draft>, StoreError>> + Send;
    /// Writes status, times, final text, decider, reason and approvals.
    fn update_draft(&mut self, d: &Draft) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Pending drafts with `expires_at <= now`, oldest first, at most `limit`.
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
}

async fn append<T: WriteTx>(
    tx: &mut T,
    head: &mut Head,
    at: DateTime<Utc>,
    events: Vec<PendingEvent>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let raw = audit::seal(
            head.seq,
            &head.hash,
            at,
            &e.actor,
            e.action,
            e.draft_id.as_deref(),
            &e.payload,
        );
        tx.insert_event(&raw).await?;
        head.seq = raw.seq;
        head.hash = raw.hash.clone();
        out.push(raw.into_event()?);
    }
    Ok(out)
}

pub(crate) async fn insert_draft<T: WriteTx>(
    mut tx: T,
    draft: Draft,
    actor: &Actor,
    raw: Option<&str>,
    raw_purge_at: Option<DateTime<Utc>>,
) -> Result<Draft, StoreError> {
    let mut head = tx.lock_head().await?;
    tx.insert_draft(&draft, raw, raw_purge_at).await?;
    let event = PendingEvent {
        actor: actor.clone(),
        action: "suggested",
        draft_id: Some(draft.id.clone()),
        payload: state::suggested_payload(&draft.suggestion),
    };
    append(&mut tx, &mut head, draft.created_at, vec![event]).await?;
    tx.set_head(&head).await?;
    tx.commit().await?;
    Ok(draft)
}

pub(crate) async fn decide<T: WriteTx>(
    mut tx: T,
    id: &str,
    actor: &Actor,
    decision: Decision,
    second_approval_categories: &[String],
) -> Result<Draft, StoreError> {
    // The head lock comes first: whoever holds it sees the draft as the last writer left it.
    let mut head = tx.lock_head().await?;
    let draft = tx
        .load_draft(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    let now = audit::now();
    let Transition {
        draft,
        events,
        expired_instead,
    } = state::decide(draft, actor, decision, now, second_approval_categories)?;
    tx.update_draft(&draft).await?;
    append(&mut tx, &mut head, now, events).await?;
    tx.set_head(&head).await?;
    tx.commit().await?;
    if expired_instead {
        return Err(StoreError::Conflict {
            id: draft.id,
            status: draft.status,
        });
    }
    Ok(draft)
}

pub(crate) async fn record<T: WriteTx>(
    mut tx: T,
    actor: &Actor,
    action: &str,
    draft_id: Option<&str>,
    payload: serde_json::Value,
) -> Result<AuditEvent, StoreError> {
    if action.trim().is_empty() {
        return Err(StoreError::Invalid("an audit event needs an action".into()));
    }
    let mut head = tx.lock_head().await?;
    let raw = audit::seal(
        head.seq,
        &head.hash,
        audit::now(),
        actor,
        action,
        draft_id,
        &payload,
    );
    tx.insert_event(&raw).await?;
    head.seq = raw.seq;
    head.hash = raw.hash.clone();
    tx.set_head(&head).await?;
    tx.commit().await?;
    raw.into_event()
}

/// Expires up to `limit` stale drafts in one transaction; returns their ids.
pub(crate) async fn expire_stale<T: WriteTx>(
    mut tx: T,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let now = audit::truncate(now);
    let mut head = tx.lock_head().await?;
    let stale = tx.stale_pending(now, limit).await?;
    let mut ids = Vec::with_capacity(stale.len());
    for draft in stale {
        let t = state::expire_stale(draft, now);
        tx.update_draft(&t.draft).await?;
        append(&mut tx, &mut head, now, t.events).await?;
        ids.push(t.draft.id);
    }
    if !ids.is_empty() {
        tx.set_head(&head).await?;
    }
    tx.commit().await?;
    Ok(ids)
}

pub(crate) async fn purge_raw<T: WriteTx>(
    mut tx: T,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let now = audit::truncate(now);
    let mut head = tx.lock_head().await?;
    let ids = tx.purge_raw(now).await?;
    if !ids.is_empty() {
        let event = PendingEvent {
            actor: Actor::system(),
            action: "purged",
            draft_id: None,
            payload: serde_json::json!({
                "what": "raw_conversation",
                "drafts": ids,
                "count": ids.len(),
            }),
        };
        append(&mut tx, &mut head, now, vec![event]).await?;
        tx.set_head(&head).await?;
    }
    tx.commit().await?;
    Ok(ids)
}
