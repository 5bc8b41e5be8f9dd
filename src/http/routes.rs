//! Route handlers. Each one: authorize, call the domain, shape the answer.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::extract::{ApiJson, Caller};
use super::{ApiError, AppState};
use crate::auth;
use crate::compliance::{CheckResult, Grounding};
use crate::drafts::{Actor, Draft, Role, Status};
use crate::pipeline::{self, SuggestRequest};
use crate::review;

pub async fn healthz(State(app): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "generation": if app.gateway.is_configured() { "model" } else { "extractive" },
        "knowledge_version": app.knowledge.version(),
        "ruleset_version": app.compliance.version(),
    }))
}

pub async fn me(State(app): State<AppState>, Caller(actor): Caller) -> Json<Value> {
    Json(json!({ "name": actor.name, "role": actor.role, "local_only": app.users.is_local_only() }))
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see the API section of the README")
}

/// `stream: true` or `Accept: text/event-stream` answers Server-Sent Events; otherwise JSON.
pub async fn suggest(
    State(app): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SuggestRequest>,
) -> Result<Response, ApiError> {
    let wants_sse = req.stream
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/event-stream"));
    if !wants_sse {
        let suggestion = pipeline::suggest(&app, &req, &actor, None).await?;
        return Ok(Json(suggestion).into_response());
    }
    if req.turns().is_empty() {
        return Err(ApiError::bad_request(
            pipeline::SuggestError::NoMessage.to_string(),
        ));
    }
    Ok(Sse::new(suggest_events(app, req, actor))
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The pipeline runs inside the event stream itself: when the client goes away the stream is
/// dropped, and with it the pipeline future and its upstream request.
fn suggest_events(
    app: AppState,
    req: SuggestRequest,
    actor: Actor,
) -> impl futures::Stream<Item = Result<Event, std::convert::Infallible>> {
    async_stream::stream! {
        let (tx, mut rx) = mpsc::channel::<String>(64);
        let run = pipeline::suggest(&app, &req, &actor, Some(tx));
        tokio::pin!(run);
        let result = loop {
            tokio::select! {
                Some(text) = rx.recv() => yield Ok(delta_event(&text)),
                result = &mut run => break result,
            }
        };
        // Deltas still in flight arrive before the draft; the channel closes when all are sent.
        while let Some(text) = rx.recv().await {
            yield Ok(delta_event(&text));
        }
        match result {
            // The draft is stored either way; a client told "error" finds it in the review queue.
            Ok(suggestion) => match serde_json::to_string(&suggestion) {
                Ok(data) => yield Ok(Event::default().event("draft").data(data)),
                Err(e) => {
                    let err = ApiError::internal(format!(
                        "draft {} was stored but could not be sent: {e}",
                        suggestion.draft.id
                    ));
                    yield Ok(Event::default().event("error").data(err.body().to_string()));
                }
            },
            Err(e) => {
                let err = ApiError::from(e);
                yield Ok(Event::default().event("error").data(err.body().to_string()));
            }
        }
    }
}

fn delta_event(text: &str) -> Event {
    Event::default()
        .event("delta")
        .data(json!({ "text": text }).to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    text: String,
    /// Texts the draft may state numbers from; without them the grounding check is skipped.
    #[serde(default)]
    sources: Option<Vec<String>>,
}

/// Any text up to the body limit: the check runs on a blocking thread, so a long text does not
/// hold an async worker that streams other agents' deltas.
pub async fn check(
    State(app): State<AppState>,
    Caller(_actor): Caller,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<CheckResult>, ApiError> {
    let compliance = app.compliance.clone();
    let result = tokio::task::spawn_blocking(move || {
        compliance.check(
            &req.text,
            &Grounding {
                sources: req.sources,
            },
        )
    })
    .await
    .map_err(|e| ApiError::internal(format!("the check task failed: {e}")))?;
    Ok(Json(result))
}

pub async fn get_draft(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Draft>, ApiError> {
    Ok(Json(review::visible_draft(&app, &id, &actor).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftQuery {
    status: Option<String>,
    limit: Option<u32>,
}

/// The review queue. Agents see their own drafts only.
pub async fn list_drafts(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Query(q): Query<DraftQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(
            Status::parse(s)
                .ok_or_else(|| ApiError::bad_request(format!("unknown status `{s}`")))?,
        ),
        None => None,
    };
    let agent = (actor.role == Role::Agent).then_some(actor.name.as_str());
    let drafts = app
        .store
        .list_drafts(status, agent, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(json!({ "drafts": drafts })))
}

/// One knowledge snippet, so the console can open a draft's sources.
pub async fn snippet(
    State(app): State<AppState>,
    Caller(_actor): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let s = app.knowledge.snippet(&id).ok_or_else(|| {
        ApiError::not_found(format!("no snippet `{id}` in the knowledge in force"))
    })?;
    Ok(Json(json!({
        "id": s.id, "doc_id": s.doc_id, "title": s.title, "kind": s.kind, "text": s.text,
        "source": s.source, "valid_from": s.valid_from, "valid_to": s.valid_to,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The final text when the agent edited the draft; omitted = the suggested text.
    #[serde(default)]
    text: Option<String>,
    /// A compliance officer's written reason for overriding a blocking finding.
    #[serde(default)]
    override_reason: Option<String>,
}

pub async fn approve(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Draft>, ApiError> {
    // An empty body approves the suggested text as it is.
    let req: ApproveRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("invalid approve body: {e}"),
            )
        })?
    };
    Ok(Json(
        review::approve(&app, &id, &actor, req.text, req.override_reason).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    reason: String,
}

pub async fn reject(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RejectRequest>,
) -> Result<Json<Draft>, ApiError> {
    Ok(Json(review::reject(&app, &id, &actor, req.reason).await?))
}

/// Reloads knowledge, rules and prompts; each keeps its previous version when its new one fails.
pub async fn reload(
    State(app): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Value>, ApiError> {
    auth::require(&actor, auth::RELOADERS)?;
    let report = app.reload_all(&actor).await;
    Ok(Json(report))
}

/// Runs the retention purge now (it also runs every minute): raw conversations past their
/// retention period are deleted, and the purge is audited under the admin's name.
pub async fn purge(
    State(app): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Value>, ApiError> {
    auth::require(&actor, auth::PURGERS)?;
    let ids = app.store.purge_raw(&actor, chrono::Utc::now()).await?;
    Ok(Json(json!({ "purged": ids.len(), "drafts": ids })))
}
