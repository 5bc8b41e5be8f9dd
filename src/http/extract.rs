//! Request extractors whose failures are API errors with stable codes, not axum's plain text.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};

use super::{ApiError, AppState};
use crate::drafts::Actor;

/// `Json<T>` whose rejections are JSON errors that say what was wrong with the body.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A body that could not be read: too large (413, one code for every route) or malformed.
pub fn unreadable_body(status: StatusCode, what: &str, detail: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            status,
            "payload_too_large",
            "the request body is larger than server.max_body_bytes allows",
        );
    }
    ApiError::bad_request(format!("cannot read {what}: {detail}"))
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return unreadable_body(status, "the body", rejection.body_text());
        }
        let code = match rejection {
            JsonRejection::MissingJsonContentType(_) => "bad_request",
            _ => "invalid_json",
        };
        ApiError::new(StatusCode::BAD_REQUEST, code, rejection.body_text())
    }
}

/// The authenticated caller (the local actor in local-only mode).
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        app.users
            .authenticate(header)
            .map(Caller)
            .map_err(ApiError::from)
    }
}
