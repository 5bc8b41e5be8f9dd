//! Audit routes for compliance officers: the event log, its export and the chain check.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::Caller;
use super::{ApiError, AppState};
use crate::auth;
use crate::compliance::Verdict;
use crate::drafts::{EventFilter, ExportFormat};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// `YYYY-MM-DD` (start of day, UTC) or RFC 3339; inclusive.
    from: Option<String>,
    /// `YYYY-MM-DD` (that whole day included) or RFC 3339; exclusive.
    to: Option<String>,
    actor: Option<String>,
    /// The agent whose drafts the events concern.
    agent: Option<String>,
    action: Option<String>,
    draft_id: Option<String>,
    category: Option<String>,
    verdict: Option<Verdict>,
    /// Cursor: the `next_after` of the previous page.
    after: Option<i64>,
    limit: Option<u32>,
    /// Export only: `csv` (default) or `jsonl`.
    format: Option<String>,
}

impl EventQuery {
    fn filter(&self) -> Result<EventFilter, ApiError> {
        Ok(EventFilter {
            from: self
                .from
                .as_deref()
                .map(|s| parse_time(s, false))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|s| parse_time(s, true))
                .transpose()?,
            actor: self.actor.clone().filter(|s| !s.is_empty()),
            action: self.action.clone().filter(|s| !s.is_empty()),
            draft_id: self.draft_id.clone().filter(|s| !s.is_empty()),
            agent: self.agent.clone().filter(|s| !s.is_empty()),
            category: self.category.clone().filter(|s| !s.is_empty()),
            verdict: self.verdict,
        })
    }
}

/// A bare date means the start of that day; as an upper bound the whole day is included.
fn parse_time(s: &str, upper: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(format!("`{s}` is neither YYYY-MM-DD nor an RFC 3339 time"))
    })?;
    let day = if upper {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

pub async fn events(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Query(q): Query<EventQuery>,
) -> Result<Json<Value>, ApiError> {
    auth::require(&actor, auth::AUDIT_READERS)?;
    let page = app
        .store
        .list_events(&q.filter()?, q.after, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(
        json!({ "events": page.events, "next_after": page.next_after }),
    ))
}

/// The export is itself audited (`exported`, with the filter and the count).
pub async fn export(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Query(q): Query<EventQuery>,
) -> Result<Response, ApiError> {
    auth::require(&actor, auth::AUDIT_READERS)?;
    let format = match q.format.as_deref().unwrap_or("csv") {
        "csv" => ExportFormat::Csv,
        "jsonl" => ExportFormat::Jsonl,
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown export format `{other}`: use csv or jsonl"
            )))
        }
    };
    let mut body: Vec<u8> = Vec::new();
    app.store
        .export(&actor, &q.filter()?, format, &mut body)
        .await?;
    let (mime, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Jsonl => ("application/x-ndjson; charset=utf-8", "jsonl"),
    };
    let name = format!(
        "attachment; filename=\"kefu-audit-{}.{ext}\"",
        Utc::now().format("%Y%m%d-%H%M%S")
    );
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        body,
    )
        .into_response())
}

pub async fn verify(
    State(app): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Value>, ApiError> {
    auth::require(&actor, auth::AUDIT_READERS)?;
    let report = app.store.verify().await?;
    Ok(Json(
        serde_json::to_value(report).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}
