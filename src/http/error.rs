//! The one mapping from domain errors to HTTP: every error is a JSON body
//! `{"error": {"code", "message"}}` with a stable code, and the status that goes with it.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::drafts::StoreError;
use crate::llm::LlmError;
use crate::pipeline::SuggestError;
use crate::review::ReviewError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// The JSON body, also used for SSE `error` events.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error": { "code": self.code, "message": self.message } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, "{}", self.message);
        }
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(after) = self.retry_after {
            let secs = after.as_secs().max(1).to_string();
            if let Ok(v) = HeaderValue::from_str(&secs) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ApiError::not_found(format!("draft {id} not found")),
            StoreError::Conflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            StoreError::Forbidden(_) => ApiError::forbidden(e.to_string()),
            StoreError::Invalid(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            }
            other => ApiError::internal(format!("storage failed: {other}")),
        }
    }
}

impl From<crate::auth::AuthError> for ApiError {
    fn from(e: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match e {
            AuthError::Forbidden { .. } => ApiError::forbidden(e.to_string()),
            AuthError::Config { .. } => ApiError::internal(e.to_string()),
            _ => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()),
        }
    }
}

impl From<LlmError> for ApiError {
    fn from(e: LlmError) -> Self {
        match e {
            LlmError::Unavailable { retry_after, .. } => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "provider_unavailable",
                message: format!("{e}. The agent can write the reply by hand meanwhile."),
                retry_after: Some(retry_after),
            },
            other => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "provider_unavailable",
                message: format!("{other}. The agent can write the reply by hand meanwhile."),
                retry_after: Some(Duration::from_secs(5)),
            },
        }
    }
}

impl From<SuggestError> for ApiError {
    fn from(e: SuggestError) -> Self {
        match e {
            SuggestError::NoMessage => ApiError::bad_request(e.to_string()),
            SuggestError::Llm(e) => e.into(),
            SuggestError::Store(e) => e.into(),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<ReviewError> for ApiError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::Store(e) => e.into(),
            ReviewError::Blocked { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "blocked", e.to_string())
            }
            ReviewError::Forbidden(_) => ApiError::forbidden(e.to_string()),
            ReviewError::Invalid(_) => ApiError::bad_request(e.to_string()),
        }
    }
}
