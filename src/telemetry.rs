//! Logging to stderr, filtered by `RUST_LOG` (default `info`). Log lines never carry tokens,
//! keys or unmasked customer text: callers log ids, counts and masked text only.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tantivy=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
