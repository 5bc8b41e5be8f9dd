//! FAQ job routes. Reviewers and admins create, run and review jobs.
//!
//! - `POST /v1/faq/jobs` — the body is the question list: `text/csv` (UTF-8 or GBK, a
//!   `question` column), `application/x-ndjson` / `application/jsonl` (JSON Lines),
//!   `application/json` `{"questions": ["…" | {"question", "platform"?, "sku"?}], "source"?}`,
//!   or a `multipart/form-data` file upload (a browser form or `curl -F file=@faq.csv`): the
//!   first file part, its format told by its file name or content type.
//!   Answers 202 with the job's progress; generation runs in the background.
//! - `GET /v1/faq/jobs/{id}` — progress (done / failed / interrupted / pending, rate, ETA) and,
//!   with `?results=true`, every question's outcome and draft (a `note` marks an answer taken
//!   from the knowledge because a killed run left the question with the provider).
//! - `POST /v1/faq/jobs/{id}/run` — resumes a job in this process (e.g. after a restart);
//!   `{"retry_interrupted"?: bool, "retry_failed"?: bool}`.
//! - `POST /v1/faq/jobs/{id}/review` — `{"actions": [{draft_id, action: approve|edit|reject,
//!   text?, reason?}]}`; each action succeeds or fails on its own.
//! - `GET /v1/faq/jobs/{id}/export.csv` — approved answers as a knowledge FAQ CSV.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{unreadable_body, ApiJson, Caller};
use super::{ApiError, AppState};
use crate::auth::require;
use crate::drafts::Role;
use crate::faq::{self, FaqError, Format, Question, ReviewAction, RunOptions};

const ROLES: &[Role] = &[Role::Reviewer, Role::Admin];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/faq/jobs", post(create))
        .route("/v1/faq/jobs/{id}", get(show))
        .route("/v1/faq/jobs/{id}/run", post(run))
        .route("/v1/faq/jobs/{id}/review", post(review))
        .route("/v1/faq/jobs/{id}/export.csv", get(export))
}

impl From<FaqError> for ApiError {
    fn from(e: FaqError) -> Self {
        match e {
            FaqError::Input(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                e.to_string(),
            ),
            FaqError::Invalid(_) => ApiError::bad_request(e.to_string()),
            FaqError::NoSuchJob(_) => ApiError::not_found(e.to_string()),
            FaqError::Store(s) => s.into(),
            FaqError::Write { .. } => ApiError::internal(e.to_string()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonUpload {
    questions: Vec<OneQuestion>,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneQuestion {
    Text(String),
    Full(Question),
}

/// The first file part of a multipart upload: its name (or content type) and bytes.
async fn uploaded_file(mut form: Multipart) -> Result<(String, Bytes), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        unreadable_body(e.status(), "the multipart upload", e.body_text())
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let Some(name) = field
            .file_name()
            .map(str::to_string)
            .or_else(|| field.content_type().map(str::to_string))
        else {
            continue; // a plain form field
        };
        let bytes = field.bytes().await.map_err(bad)?;
        return Ok((name, bytes));
    }
    Err(ApiError::bad_request(
        "the multipart upload has no file: send the question list as a file field (e.g. -F file=@faq.csv)",
    ))
}

async fn create(
    State(app): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    require(&actor, ROLES)?;
    // What tells the upload's format: the content type, or for a form upload the file's name.
    let mut format_hint = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut file_name = None;
    let body = if format_hint.starts_with("multipart/form-data") {
        let form = Multipart::from_request(request, &())
            .await
            .map_err(|e| unreadable_body(e.status(), "the multipart upload", e.body_text()))?;
        let (name, bytes) = uploaded_file(form).await?;
        format_hint = name.to_ascii_lowercase();
        file_name = Some(name);
        bytes
    } else {
        Bytes::from_request(request, &())
            .await
            .map_err(|e| unreadable_body(e.status(), "the upload", e.body_text()))?
    };
    let (questions, source) = if format_hint.starts_with("application/json") {
        let upload: JsonUpload = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("expected {{\"questions\": [\"…\" or {{\"question\": \"…\"}}]}}: {e}"),
            )
        })?;
        let qs = upload
            .questions
            .into_iter()
            .map(|q| match q {
                OneQuestion::Text(question) => Question {
                    question,
                    platform: None,
                    sku: None,
                },
                OneQuestion::Full(q) => q,
            })
            .map(|q| Question {
                question: q.question.trim().to_string(),
                ..q
            })
            .collect::<Vec<_>>();
        if let Some(i) = qs.iter().position(|q| q.question.is_empty()) {
            return Err(ApiError::bad_request(format!(
                "question {} is empty",
                i + 1
            )));
        }
        (qs, upload.source.unwrap_or_else(|| "upload.json".into()))
    } else {
        let format = Format::guess(&format_hint);
        let label = file_name.as_deref().unwrap_or("the upload");
        let qs = faq::input::parse(label, &body, format).map_err(FaqError::from)?;
        let name = match format {
            Some(Format::Jsonl) => "upload.jsonl",
            _ => "upload.csv",
        };
        (qs, file_name.unwrap_or_else(|| name.to_string()))
    };
    if questions.is_empty() {
        return Err(ApiError::bad_request("the upload has no questions"));
    }
    // Every upload is its own job; the hash is kept for reference only.
    let hash = faq::input_hash(&body, None);
    let job = faq::create_job(&app, &questions, &source, &hash, &actor).await?;
    faq::spawn_run(app.clone(), job.id.clone(), RunOptions::default());
    let progress = faq::progress(&app, &job.id).await?;
    Ok((StatusCode::ACCEPTED, Json(progress)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowQuery {
    #[serde(default)]
    results: bool,
}

async fn show(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&actor, ROLES)?;
    let progress = faq::progress(&app, &id).await?;
    let mut body = serde_json::to_value(&progress).unwrap_or(Value::Null);
    if q.results {
        let lines = faq::results(&app, &id).await?;
        body["summary"] = serde_json::to_value(faq::summarize(&id, &lines)).unwrap_or_default();
        body["results"] = serde_json::to_value(lines).unwrap_or_default();
    }
    Ok(Json(body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    #[serde(default)]
    retry_interrupted: bool,
    #[serde(default)]
    retry_failed: bool,
}

async fn run(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&actor, ROLES)?;
    let req: RunRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RunRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid run body: {e}")))?
    };
    faq::get_job(&app, &id).await?;
    let opts = RunOptions {
        retry_interrupted: req.retry_interrupted,
        retry_failed: req.retry_failed,
        ..RunOptions::default()
    };
    faq::spawn_run(app.clone(), id.clone(), opts);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "job_id": id, "running": true })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRequest {
    actions: Vec<ReviewAction>,
}

async fn review(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReviewRequest>,
) -> Result<Json<Value>, ApiError> {
    require(&actor, &[Role::Reviewer, Role::Compliance, Role::Admin])?;
    let outcomes = faq::review(&app, &id, &actor, req.actions).await?;
    let ok = outcomes.iter().filter(|o| o.ok).count();
    Ok(Json(json!({
        "applied": ok,
        "refused": outcomes.len() - ok,
        "outcomes": outcomes,
    })))
}

async fn export(
    State(app): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require(&actor, ROLES)?;
    let mut buf = Vec::new();
    faq::export_csv(&app, &id, &mut buf).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"faq-{id}.csv\""),
            ),
        ],
        buf,
    )
        .into_response())
}
