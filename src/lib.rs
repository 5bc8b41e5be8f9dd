//! kefu drafts customer-service replies for Chinese e-commerce shops and never lets one reach a
//! customer before it is grounded, checked and approved by a person.
//!
//! The suggest pipeline, top to bottom, is [`pipeline::suggest`]; ARCHITECTURE.md maps the rest.

pub mod compliance;
pub mod config;
pub mod conversation;
pub mod drafts;
pub mod knowledge;
pub mod llm;
pub mod prompt;
pub mod redact;
pub mod scenario;
