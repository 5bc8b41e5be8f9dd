//! The suggest pipeline, top to bottom: redact → scenario → retrieve → prompt → generate →
//! restore → check → store. Each step is one call into its own module; this file only orders
//! them and carries data between them, so a step's inside can change without reshaping the rest.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::app::App;
use crate::compliance::{CheckResult, Grounding};
use crate::conversation::{Platform, Turn};
use crate::drafts::{Actor, Draft, Mode, NewDraft, SourceRef, StoreError};
use crate::knowledge::{Hit, KnowledgeError, SearchRequest, SearchResponse};
use crate::llm::{Generation, Lane, LlmError};
use crate::prompt::{PromptContext, PromptError};
use crate::redact::{self, Vault};
use crate::scenario::{self, Classification};

/// What the agent's console sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestRequest {
    /// The conversation, oldest turn first.
    #[serde(default)]
    pub conversation: Vec<Turn>,
    /// Shortcut for a conversation of one customer message.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub sku: Option<String>,
    /// Facts from the order system (状态, 下单时间, 物流单号 …), trusted like snippets.
    #[serde(default)]
    pub order_facts: BTreeMap<String, String>,
    /// The day the customer asks; today when absent.
    #[serde(default)]
    pub date: Option<NaiveDate>,
    /// Answer as Server-Sent Events (HTTP only).
    #[serde(default)]
    pub stream: bool,
}

impl SuggestRequest {
    /// The turns to work on: `conversation`, or `message` as one customer turn.
    pub fn turns(&self) -> Vec<Turn> {
        let mut turns = self.conversation.clone();
        if let Some(m) = &self.message {
            turns.push(Turn::customer(m.clone()));
        }
        turns
    }
}

/// Who waits for the answer: an agent in a live chat, or a bulk FAQ job (lower priority, its
/// own template).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Live,
    Faq,
    /// An FAQ question that may already have reached the provider before its run stopped:
    /// answered from the knowledge (extractive), never sent again.
    FaqFromKnowledge,
}

/// Milliseconds spent in each step, returned with the draft.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub redact_ms: f64,
    pub retrieve_ms: f64,
    /// Prompt context and template rendering.
    pub prompt_ms: f64,
    /// The provider's answer (or the extractive template), placeholders restored.
    pub generate_ms: f64,
    pub check_ms: f64,
    pub store_ms: f64,
    pub total_ms: f64,
}

/// The stored draft plus what the console shows beside it.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    #[serde(flatten)]
    pub draft: Draft,
    pub emotion: scenario::Emotion,
    /// Why a model was not used, when it was not (no provider configured, provider failure).
    pub fallback_reason: Option<String>,
    pub timings: Timings,
}

#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error("the request has no customer message: send `message` or a `conversation` with a customer turn")]
    NoMessage,
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal task failed: {0}")]
    Join(String),
}

/// Suggests a reply and stores it as a pending draft. With `deltas`, generated text is streamed
/// there as it arrives (placeholders for personal data are restored before it is sent).
pub async fn suggest(
    app: &App,
    req: &SuggestRequest,
    actor: &Actor,
    deltas: Option<mpsc::Sender<String>>,
) -> Result<Suggestion, SuggestError> {
    suggest_for(app, req, actor, deltas, Purpose::Live).await
}

/// [`suggest`] for a given purpose: FAQ jobs use the bulk lane and the FAQ template.
pub async fn suggest_for(
    app: &App,
    req: &SuggestRequest,
    actor: &Actor,
    deltas: Option<mpsc::Sender<String>>,
    purpose: Purpose,
) -> Result<Suggestion, SuggestError> {
    let started = Instant::now();
    let mut timings = Timings::default();
    let turns = req.turns();
    if !turns
        .iter()
        .any(|t| t.role == crate::conversation::Role::Customer && !t.text.trim().is_empty())
    {
        return Err(SuggestError::NoMessage);
    }
    let today = req
        .date
        .unwrap_or_else(|| chrono::Local::now().date_naive());

    // 1. redact: nothing below this line sees raw personal data.
    let t = Instant::now();
    let mut vault = Vault::default();
    let masked: Vec<Turn> = turns
        .iter()
        .map(|turn| Turn {
            role: turn.role,
            text: redact::mask(&turn.text, &mut vault),
        })
        .collect();
    timings.redact_ms = ms(t);

    // 2. scenario
    let class: Classification = scenario::classify(&masked);

    // 3. retrieve
    let t = Instant::now();
    let found = retrieve(app, &masked, req, today, purpose).await?;
    timings.retrieve_ms = ms(t);

    // 4. prompt
    let t = Instant::now();
    let ctx = PromptContext::new(
        &app.config.shop_name(),
        req.platform,
        class,
        &found.hits,
        &masked,
        &req.order_facts,
        today,
    );
    let prompts = app.prompts();
    timings.prompt_ms = ms(t);

    // 5. generate (model, or extractive without one), then 6. restore
    let t = Instant::now();
    let generated = generate(
        app,
        &prompts,
        &ctx,
        found.no_answer,
        &vault,
        deltas,
        purpose,
    )
    .await?;
    let text = redact::restore(&generated.text, &vault);
    // Rendering happens inside generate (the template depends on the mode): count it as prompt.
    timings.prompt_ms += generated.render_ms;
    timings.generate_ms = (ms(t) - generated.render_ms).max(0.0);

    // 7. check the text the agent will see, grounded in what it was built from
    let t = Instant::now();
    let check: CheckResult = app
        .compliance
        .check(&text, &grounding(&found.hits, &req.order_facts));
    timings.check_ms = ms(t);

    // 8. store the draft and its `suggested` audit event together
    let t = Instant::now();
    let new = NewDraft {
        conversation: masked,
        platform: req.platform,
        sku: req.sku.clone(),
        scenario: class.scenario.as_str().to_string(),
        text,
        mode: generated.mode,
        needs_human: found.no_answer,
        verdict: check.verdict,
        findings: check.findings,
        sources: found.hits.iter().map(source_ref).collect(),
        provider: generated.generation.as_ref().map(|g| g.provider.clone()),
        model: generated.generation.as_ref().map(|g| g.model.clone()),
        attempts: generated.generation.as_ref().map_or(0, |g| g.attempts),
        usage: generated.generation.as_ref().and_then(|g| g.usage),
        latency_ms: generated.generation.as_ref().map_or(0, |g| g.latency_ms),
        template: generated.template,
        template_hash: generated.template_hash,
        ruleset_version: check.ruleset_version,
        knowledge_version: app.knowledge.version(),
    };
    // The raw conversation is kept only when configured, and purged after its retention period.
    let raw = (app.config.storage.raw_retention_days > 0).then_some(turns.as_slice());
    let draft = app.store.insert_draft_with_raw(&new, actor, raw).await?;
    timings.store_ms = ms(t);
    timings.total_ms = ms(started);

    Ok(Suggestion {
        draft,
        emotion: class.emotion,
        fallback_reason: generated.fallback_reason,
        timings,
    })
}

/// Retrieval is CPU work (tokenizing, scoring): it runs on a blocking thread, at most one per
/// core at a time ([`App::search_slots`]); FAQ work never holds the last slot, so an agent's
/// search does not queue behind a bulk job's.
async fn retrieve(
    app: &App,
    masked: &[Turn],
    req: &SuggestRequest,
    today: NaiveDate,
    purpose: Purpose,
) -> Result<SearchResponse, SuggestError> {
    let search = SearchRequest {
        turns: masked.to_vec(),
        platform: req.platform,
        sku: req.sku.clone(),
        date: Some(today),
        k: app.config.knowledge.top_k,
    };
    let knowledge = app.knowledge_handle();
    // The slots go with the search: a cancelled request does not free them before it ends.
    let bulk_slot = match purpose {
        Purpose::Live => None,
        Purpose::Faq | Purpose::FaqFromKnowledge => Some(
            app.bulk_search_slots
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| SuggestError::Join(e.to_string()))?,
        ),
    };
    let slot = app
        .search_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| SuggestError::Join(e.to_string()))?;
    let mut found = tokio::task::spawn_blocking(move || {
        let _slots = (slot, bulk_slot);
        knowledge.search(&search)
    })
    .await
    .map_err(|e| SuggestError::Join(e.to_string()))??;
    if found.no_answer {
        // Invariant: no snippet reaches a prompt when retrieval judged nothing relevant.
        found.hits.clear();
    }
    Ok(found)
}

struct Generated {
    text: String,
    /// Time spent rendering the template, in ms.
    render_ms: f64,
    mode: Mode,
    generation: Option<Generation>,
    template: String,
    template_hash: String,
    fallback_reason: Option<String>,
}

/// A model when one is configured; extractive mode without one (or, when configured, after
/// every provider failed). With no snippets, extractive mode hands over to a person.
async fn generate(
    app: &App,
    prompts: &crate::prompt::Prompts,
    ctx: &PromptContext,
    no_answer: bool,
    vault: &Vault,
    deltas: Option<mpsc::Sender<String>>,
    purpose: Purpose,
) -> Result<Generated, SuggestError> {
    if !app.gateway.is_configured() {
        return extractive(
            prompts,
            ctx,
            no_answer,
            "no language model is configured".into(),
        );
    }
    let (template, lane) = match purpose {
        Purpose::Live => (None, Lane::Live),
        Purpose::Faq => (Some(crate::prompt::FAQ), Lane::Bulk),
        Purpose::FaqFromKnowledge => {
            return extractive(prompts, ctx, no_answer, crate::faq::FROM_KNOWLEDGE.into());
        }
    };
    let t = Instant::now();
    let (chat, rendered) = prompts.chat(
        ctx,
        template,
        app.config.max_tokens(),
        app.config.temperature(),
    )?;
    let render_ms = ms(t);
    let result = match deltas {
        // Restored in this task, joined with the generation: a delta reaches `out` without
        // waiting for another task to be scheduled (under load every hop is a queue).
        Some(out) => {
            let (tx, rx) = mpsc::channel::<String>(64);
            let (result, ()) = tokio::join!(
                app.gateway.generate(&chat, lane, Some(tx)),
                redact::restore_chunks(rx, out, vault)
            );
            result
        }
        None => app.gateway.generate(&chat, lane, None).await,
    };
    match result {
        Ok(generation) => Ok(Generated {
            text: generation.text.clone(),
            render_ms,
            mode: Mode::Model,
            generation: Some(generation),
            template: rendered.template,
            template_hash: rendered.template_hash,
            fallback_reason: None,
        }),
        Err(e)
            if app.config.review.extractive_fallback
                && !matches!(e, LlmError::Truncated { .. }) =>
        {
            tracing::warn!(error = %e, "every provider failed; answering in extractive mode");
            extractive(prompts, ctx, no_answer, format!("provider failure: {e}"))
        }
        Err(e) => Err(e.into()),
    }
}

fn extractive(
    prompts: &crate::prompt::Prompts,
    ctx: &PromptContext,
    no_answer: bool,
    reason: String,
) -> Result<Generated, SuggestError> {
    let rendered = if no_answer || ctx.snippets.is_empty() {
        prompts.no_answer(ctx)?
    } else {
        // Without a model to merge snippets, the best one alone reads as a reply; the others
        // are still listed as sources for the agent.
        let mut best = ctx.clone();
        best.snippets.truncate(1);
        prompts.extractive(&best)?
    };
    Ok(Generated {
        text: rendered.text,
        // The extractive template is the answer: its rendering is this mode's generation.
        render_ms: 0.0,
        mode: Mode::Extractive,
        generation: None,
        template: rendered.template,
        template_hash: rendered.template_hash,
        fallback_reason: Some(reason),
    })
}

/// What a draft may state facts from: the snippets it was given and the order facts.
fn grounding(hits: &[Hit], order_facts: &BTreeMap<String, String>) -> Grounding {
    let mut sources: Vec<String> = hits
        .iter()
        .map(|h| format!("{}\n{}", h.title, h.text))
        .collect();
    sources.extend(order_facts.iter().map(|(k, v)| format!("{k}：{v}")));
    Grounding {
        sources: Some(sources),
    }
}

fn source_ref(h: &Hit) -> SourceRef {
    SourceRef {
        id: h.id.clone(),
        doc_id: h.doc_id.clone(),
        title: h.title.clone(),
        expired: h.expired,
    }
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}
