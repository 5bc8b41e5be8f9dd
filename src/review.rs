//! Deciding on drafts: approve (with or without edits) or reject.
//!
//! Invariant: no draft becomes approved without a compliance check of its final text, run here,
//! at decision time, against the rules in force now (not those of the suggestion).

use crate::app::App;
use crate::auth::BLOCK_OVERRIDERS;
use crate::compliance::{Finding, Grounding, Verdict};
use crate::drafts::{Actor, Decision, Draft, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the final text has {} blocking finding(s) ({}); edit the text, or a compliance officer may override with a written reason", findings.len(), summary(findings))]
    Blocked { findings: Vec<Finding> },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
}

fn summary(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{} 「{}」", f.rule, f.matched))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Agents see their own drafts only; reviewers, compliance officers and admins see all.
/// A draft the actor may not see is reported as not found, so ids cannot be probed.
pub async fn visible_draft(app: &App, id: &str, actor: &Actor) -> Result<Draft, StoreError> {
    let draft = app.store.get_draft(id).await?;
    if !crate::auth::can_read_draft(actor, &draft) {
        return Err(StoreError::NotFound(id.to_string()));
    }
    Ok(draft)
}

/// Approves a pending draft, optionally with the agent's edited text.
pub async fn approve(
    app: &App,
    id: &str,
    actor: &Actor,
    edited: Option<String>,
    override_reason: Option<String>,
) -> Result<Draft, ReviewError> {
    let draft = visible_draft(app, id, actor).await?;
    let final_text = edited.unwrap_or_else(|| draft.suggestion.text.clone());
    if final_text.trim().is_empty() {
        return Err(ReviewError::Invalid(
            "the final text is empty: write a reply or reject the draft".into(),
        ));
    }
    let override_reason = override_reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());

    // Numbers are grounded against the snippets only while the text is the suggested one; an
    // edited text is the agent's own and is checked for everything else.
    let mut check = app
        .compliance
        .check(&final_text, &Grounding { sources: None });
    if final_text == draft.suggestion.text {
        let grounded: Vec<Finding> = draft
            .suggestion
            .findings
            .iter()
            .filter(|f| f.category == "unsupported_claim")
            .cloned()
            .collect();
        for f in grounded {
            if f.severity == crate::compliance::Severity::Warn && check.verdict == Verdict::Pass {
                check.verdict = Verdict::Warn;
            }
            check.findings.push(f);
        }
        check.findings.sort_by_key(|f| (f.start, f.end));
    }

    if check.verdict == Verdict::Block {
        let blocking: Vec<Finding> = check
            .findings
            .iter()
            .filter(|f| f.severity == crate::compliance::Severity::Block)
            .cloned()
            .collect();
        if override_reason.is_none() {
            return Err(ReviewError::Blocked { findings: blocking });
        }
        if !BLOCK_OVERRIDERS.contains(&actor.role) {
            return Err(ReviewError::Forbidden(
                "only a compliance officer may override a blocking finding".into(),
            ));
        }
    } else if override_reason.is_some() && !BLOCK_OVERRIDERS.contains(&actor.role) {
        return Err(ReviewError::Forbidden(
            "only a compliance officer may give an override reason".into(),
        ));
    }

    let decision = Decision::Approve {
        final_text,
        verdict: check.verdict,
        findings: check.findings,
        ruleset_version: check.ruleset_version,
        override_reason,
    };
    Ok(app.store.decide(id, actor, decision).await?)
}

/// Rejects a pending draft; the reason is kept in the audit trail.
pub async fn reject(
    app: &App,
    id: &str,
    actor: &Actor,
    reason: String,
) -> Result<Draft, ReviewError> {
    visible_draft(app, id, actor).await?;
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err(ReviewError::Invalid(
            "a rejection needs a reason (写明原因)".into(),
        ));
    }
    Ok(app
        .store
        .decide(id, actor, Decision::Reject { reason })
        .await?)
}
