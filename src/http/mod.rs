//! HTTP over the domain: thin handlers that parse, authorize, call one domain function and
//! map its result. Routes are listed in [`router`]; errors map in [`error`].

mod audit;
pub mod console;
pub mod error;
mod extract;
mod faq;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::app::App;

pub use error::ApiError;

pub type AppState = Arc<App>;

/// Every route of the service. Bodies above `server.max_body_bytes` are refused with 413.
pub fn router(app: AppState) -> Router {
    let limit = app.config.server.max_body_bytes;
    Router::new()
        .merge(console::router())
        .route("/healthz", get(routes::healthz))
        .route("/v1/me", get(routes::me))
        .route("/v1/suggest", post(routes::suggest))
        .route("/v1/check", post(routes::check))
        .route("/v1/drafts", get(routes::list_drafts))
        .route("/v1/drafts/{id}", get(routes::get_draft))
        .route("/v1/drafts/{id}/approve", post(routes::approve))
        .route("/v1/drafts/{id}/reject", post(routes::reject))
        .route("/v1/knowledge/snippets/{id}", get(routes::snippet))
        .route("/v1/audit/events", get(audit::events))
        .route("/v1/audit/export", get(audit::export))
        .route("/v1/audit/verify", get(audit::verify))
        .route("/v1/admin/reload", post(routes::reload))
        .route("/v1/admin/purge", post(routes::purge))
        .merge(faq::routes())
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}
