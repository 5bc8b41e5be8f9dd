//! Shared test support. Each test binary uses a part of it.
#![allow(dead_code)]

pub mod app;
pub mod fake_provider;
pub mod fs;
pub mod pg;
pub mod serve;
