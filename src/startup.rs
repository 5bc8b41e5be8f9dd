//! Builds the application, binds its port and reports it, so `kefu serve` and the integration
//! tests start exactly the same server (tests bind port 0 and read the port back).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::{App, StartupError};
use crate::config::Config;
use crate::drafts::Actor;
use crate::http;

pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    app: Arc<App>,
    /// FAQ jobs left unfinished by an earlier process, found at build time (not jobs created
    /// after start-up, which their creator runs).
    unfinished_jobs: Vec<String>,
}

impl Server {
    /// Loads everything, binds `server.addr`. Local-only mode (no users) refuses a non-loopback
    /// address: without tokens anyone who can reach the port could approve drafts.
    pub async fn build(config: Config) -> Result<Server, StartupError> {
        let wanted = config.server.addr.clone();
        let (app, report) = App::build(config).await?;
        let listener = TcpListener::bind(&wanted)
            .await
            .map_err(|e| StartupError::Bind {
                addr: wanted.clone(),
                source: e,
            })?;
        let addr = listener.local_addr().map_err(|e| StartupError::Bind {
            addr: wanted.clone(),
            source: e,
        })?;
        if app.users.is_local_only() && !addr.ip().is_loopback() {
            return Err(StartupError::Insecure { addr: wanted });
        }
        tracing::info!(
            snippets = report.snippets,
            files = report.files,
            skipped = report.errors.len(),
            "knowledge loaded"
        );
        if app.users.is_local_only() {
            tracing::warn!("local-only mode: no [[users]] configured, no tokens required; bound to loopback {addr} only");
        }
        if !app.gateway.is_configured() {
            tracing::warn!("no language model configured: drafts are extractive (assembled from knowledge snippets), marked \"mode\": \"extractive\"");
        }
        let unfinished_jobs = app
            .store
            .faq_unfinished_jobs()
            .await?
            .into_iter()
            .map(|j| j.id)
            .collect();
        Ok(Server {
            listener,
            addr,
            app: Arc::new(app),
            unfinished_jobs,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }

    /// Serves until the process is stopped (Ctrl-C or SIGTERM ends it gracefully).
    pub async fn run(self) -> std::io::Result<()> {
        crate::watch::spawn(self.app.clone());
        spawn_sweeps(self.app.clone());
        if !self.unfinished_jobs.is_empty() {
            tracing::info!(
                "resuming {} unfinished FAQ job(s)",
                self.unfinished_jobs.len()
            );
        }
        for job in self.unfinished_jobs {
            crate::faq::spawn_run(self.app.clone(), job, crate::faq::RunOptions::default());
        }
        let app = self.app.clone();
        let router = http::router(self.app);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await;
        // FAQ runs answer what they have sent (up to a provider's timeout), then stop.
        let grace = app
            .config
            .providers
            .iter()
            .map(|p| p.timeout_secs)
            .max()
            .unwrap_or(5);
        if !app
            .faq_runs
            .drain(std::time::Duration::from_secs(grace))
            .await
        {
            tracing::warn!("FAQ runs still busy after {grace} s; their in-flight questions will be reported interrupted");
        }
        served
    }
}

/// Every minute: expire stale pending drafts and purge raw conversations past retention
/// (both audited by the store).
fn spawn_sweeps(app: Arc<App>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = chrono::Utc::now();
            if let Err(e) = app.store.expire_stale(now).await {
                tracing::error!("expiry sweep failed: {e}");
            }
            if let Err(e) = app.store.purge_raw(&Actor::system(), now).await {
                tracing::error!("retention purge failed: {e}");
            }
        }
    });
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn shutdown_signal() {
    stop_signal().await;
    tracing::info!("shutting down");
}
