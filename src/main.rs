//! `kefu`: see `kefu --help`. All the work is in the library; this only starts the runtime.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    kefu::telemetry::init();
    kefu::cli::run(kefu::cli::Cli::parse()).await
}
