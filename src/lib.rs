//! kefu drafts customer-service replies for Chinese e-commerce shops and never lets one reach a
//! customer before it is grounded, checked and approved by a person.
//!
//! The suggest pipeline reads top to bottom in [`pipeline::suggest`]; ARCHITECTURE.md maps the
//! modules and the invariants they keep.

pub mod app;
pub mod auth;
pub mod bundled;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod conversation;
pub mod drafts;
pub mod faq;
pub mod han;
pub mod http;
pub mod knowledge;
pub mod llm;
pub mod pipeline;
pub mod prompt;
pub mod redact;
pub mod review;
pub mod scenario;
pub mod startup;
pub mod telemetry;
pub mod watch;
