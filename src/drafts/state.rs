//! The draft state machine: which decision moves a draft where, and the audit events it
//! leaves. Pure functions; the stores run them inside their writing transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Actor, Approval, Decision, Draft, Mode, NewDraft, Role, Status, StoreError};
use crate::compliance::{Severity, Verdict};

/// Who wrote the text that was sent (AI-generated-content labelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Model,
    Extractive,
    /// The agent rewrote most of it, or the draft was handed to a person from the start.
    Agent,
}

/// An event to append, before it is sealed into the chain.
#[derive(Debug, Clone)]
pub(crate) struct PendingEvent {
    pub actor: Actor,
    pub action: String,
    pub draft_id: Option<String>,
    pub payload: Value,
}

/// A draft's new state and the events that record the change.
#[derive(Debug)]
pub(crate) struct Transition {
    pub draft: Draft,
    pub events: Vec<PendingEvent>,
    /// Set when the decision came too late: the draft was expired instead, and the caller
    /// gets a conflict after the expiry is committed.
    pub expired_instead: bool,
}

/// Character (Unicode scalar) Levenshtein distance. Common prefix and suffix are skipped;
/// when the rest is too large for the quadratic table the result is the upper bound
/// `max(len)` of what remains, which still reads as "rewritten".
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    if a.is_empty() || b.is_empty() {
        return a.len().max(b.len());
    }
    const MAX_CELLS: usize = 16_000_000;
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        return a.len().max(b.len());
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The sent text counts as the agent's when more than half of it differs from the draft.
pub(crate) fn origin(draft: &NewDraft, final_text: &str, distance: usize) -> Origin {
    let longest = draft.text.chars().count().max(final_text.chars().count());
    if draft.needs_human || distance * 2 > longest {
        Origin::Agent
    } else {
        match draft.mode {
            Mode::Model => Origin::Model,
            Mode::Extractive => Origin::Extractive,
        }
    }
}

/// Payload of the `suggested` event: what was drafted and from what.
pub(crate) fn suggested_payload(d: &NewDraft) -> Value {
    json!({
        "text": d.text,
        "mode": d.mode,
        "scenario": d.scenario,
        "platform": d.platform,
        "sku": d.sku,
        "needs_human": d.needs_human,
        "verdict": d.verdict,
        "findings": d.findings,
        "sources": d.sources.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        "template": d.template,
        "template_hash": d.template_hash,
        "ruleset_version": d.ruleset_version,
        "knowledge_version": d.knowledge_version,
        "provider": d.provider,
        "model": d.model,
        "attempts": d.attempts,
        "usage": d.usage,
        "latency_ms": d.latency_ms,
    })
}

fn expire(mut draft: Draft, now: DateTime<Utc>) -> (Draft, PendingEvent) {
    let event = PendingEvent {
        actor: Actor::system(),
        action: "expired".into(),
        draft_id: Some(draft.id.clone()),
        payload: json!({
            "created_at": draft.created_at,
            "expires_at": draft.expires_at,
            "agent": draft.agent,
            "approvals": draft.approvals.iter().map(|a| a.actor.as_str()).collect::<Vec<_>>(),
        }),
    };
    draft.status = Status::Expired;
    draft.updated_at = now;
    (draft, event)
}

/// The sweep's transition for one stale pending draft.
pub(crate) fn expire_stale(draft: Draft, now: DateTime<Utc>) -> Transition {
    let (draft, event) = expire(draft, now);
    Transition {
        draft,
        events: vec![event],
        expired_instead: false,
    }
}

/// How many approvals a text with these findings needs.
pub(crate) fn required_approvals(findings: &[super::Finding], categories: &[String]) -> u32 {
    let flagged = findings
        .iter()
        .any(|f| f.severity >= Severity::Warn && categories.iter().any(|c| *c == f.category));
    if flagged {
        2
    } else {
        1
    }
}

/// Applies `decision` by `actor` to `draft` (as read inside the writing transaction).
pub(crate) fn decide(
    draft: Draft,
    actor: &Actor,
    decision: Decision,
    now: DateTime<Utc>,
    second_approval_categories: &[String],
) -> Result<Transition, StoreError> {
    if draft.status != Status::Pending {
        return Err(StoreError::Conflict {
            id: draft.id,
            status: draft.status,
        });
    }
    if draft.expires_at <= now {
        let (draft, event) = expire(draft, now);
        return Ok(Transition {
            draft,
            events: vec![event],
            expired_instead: true,
        });
    }
    match decision {
        Decision::Reject { reason } => Ok(reject(draft, actor, reason, now)),
        Decision::Approve {
            final_text,
            verdict,
            findings,
            ruleset_version,
            override_reason,
        } => approve(
            draft,
            actor,
            Approve {
                final_text,
                verdict,
                findings,
                ruleset_version,
                override_reason,
            },
            now,
            second_approval_categories,
        ),
    }
}

fn reject(mut draft: Draft, actor: &Actor, reason: String, now: DateTime<Utc>) -> Transition {
    let event = PendingEvent {
        actor: actor.clone(),
        action: "rejected".into(),
        draft_id: Some(draft.id.clone()),
        payload: json!({
            "reason": reason,
            "suggested_verdict": draft.suggestion.verdict,
            "template": draft.suggestion.template,
            "model": draft.suggestion.model,
        }),
    };
    draft.status = Status::Rejected;
    draft.updated_at = now;
    draft.decided_by = Some(actor.name.clone());
    draft.reason = Some(reason);
    Transition {
        draft,
        events: vec![event],
        expired_instead: false,
    }
}

struct Approve {
    final_text: String,
    verdict: Verdict,
    findings: Vec<super::Finding>,
    ruleset_version: String,
    override_reason: Option<String>,
}

fn approve(
    mut draft: Draft,
    actor: &Actor,
    a: Approve,
    now: DateTime<Utc>,
    categories: &[String],
) -> Result<Transition, StoreError> {
    if a.final_text.trim().is_empty() {
        return Err(StoreError::Invalid(
            "the final text is empty; send the text to approve, or reject the draft".into(),
        ));
    }
    let override_reason = a
        .override_reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    if a.verdict == Verdict::Block {
        if override_reason.is_none() {
            return Err(StoreError::Forbidden(
                "the final text is blocked by compliance; change it, or have a compliance \
                 officer override with a reason"
                    .into(),
            ));
        }
        if !crate::auth::BLOCK_OVERRIDERS.contains(&actor.role) {
            return Err(StoreError::Forbidden(format!(
                "only a compliance officer can override a block ({} is {})",
                actor.name,
                actor.role.as_str()
            )));
        }
    }
    let required = required_approvals(&a.findings, categories);
    // Earlier approvals count only for the same text; a changed text starts over.
    let mut approvals: Vec<Approval> = draft
        .approvals
        .iter()
        .filter(|p| p.final_text == a.final_text)
        .cloned()
        .collect();
    if approvals.iter().any(|p| p.actor == actor.name) {
        return Err(StoreError::Forbidden(format!(
            "{} already approved this text; a second, different person must approve it",
            actor.name
        )));
    }
    let completes = approvals.len() as u32 + 1 >= required;
    if completes && required > 1 && !matches!(actor.role, Role::Reviewer | Role::Compliance) {
        return Err(StoreError::Forbidden(format!(
            "this text needs a second approval by a reviewer or compliance officer ({} is {})",
            actor.name,
            actor.role.as_str()
        )));
    }
    approvals.push(Approval {
        actor: actor.name.clone(),
        role: actor.role,
        at: now,
        final_text: a.final_text.clone(),
    });

    let mut events = Vec::new();
    let id = draft.id.clone();
    if let Some(reason) = &override_reason {
        events.push(PendingEvent {
            actor: actor.clone(),
            action: "overridden".into(),
            draft_id: Some(id.clone()),
            payload: json!({
                "override_reason": reason,
                "final_text": a.final_text,
                "verdict": a.verdict,
                "findings": a.findings,
                "ruleset_version": a.ruleset_version,
            }),
        });
    }
    let distance = edit_distance(&draft.suggestion.text, &a.final_text);
    let payload = json!({
        "final_text": a.final_text,
        "edit_distance": distance,
        "origin": origin(&draft.suggestion, &a.final_text, distance),
        "verdict": a.verdict,
        "findings": a.findings,
        "override_reason": override_reason,
        "ruleset_version": a.ruleset_version,
        "template": draft.suggestion.template,
        "template_hash": draft.suggestion.template_hash,
        "knowledge_version": draft.suggestion.knowledge_version,
        "provider": draft.suggestion.provider,
        "model": draft.suggestion.model,
        "mode": draft.suggestion.mode,
        "required_approvals": required,
        "approvals": approvals.iter().map(|p| json!({"actor": p.actor, "role": p.role})).collect::<Vec<_>>(),
    });
    draft.updated_at = now;
    draft.required_approvals = required;
    draft.approvals = approvals;
    let action = if completes {
        let edited = a.final_text != draft.suggestion.text;
        draft.status = if edited {
            Status::Edited
        } else {
            Status::Approved
        };
        draft.final_text = Some(a.final_text);
        draft.decided_by = Some(actor.name.clone());
        draft.reason = override_reason;
        if edited {
            "edited"
        } else {
            "approved"
        }
    } else {
        "first_approval"
    };
    events.push(PendingEvent {
        actor: actor.clone(),
        action: action.into(),
        draft_id: Some(id),
        payload,
    });
    Ok(Transition {
        draft,
        events,
        expired_instead: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_characters_not_bytes() {
        assert_eq!(edit_distance("亲，您好", "亲，你好"), 1);
        assert_eq!(edit_distance("", "退货"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("同样", "同样"), 0);
        assert_eq!(edit_distance("abc", "xabcx"), 2);
    }
}
