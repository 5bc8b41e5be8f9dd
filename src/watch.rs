//! Hot reload: watches the knowledge, rules and prompts folders and reloads when files change.
//! Bursts of events (an editor saving, a `git pull`) are coalesced into one reload.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::app::App;
use crate::drafts::{Actor, Role};

/// How long the folders must be quiet before a reload starts.
const SETTLE: Duration = Duration::from_millis(500);

/// Starts the watcher on a background task. A folder that cannot be watched is logged and
/// left to the admin reload endpoint.
pub fn spawn(app: Arc<App>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher =
        match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(e) = event {
                if e.kind.is_modify() || e.kind.is_create() || e.kind.is_remove() {
                    let _ = tx.send(());
                }
            }
        }) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!("file watching unavailable ({e}); use POST /v1/admin/reload");
                return;
            }
        };
    for dir in [
        &app.config.knowledge.dir,
        &app.config.rules.dir,
        &app.config.prompts.dir,
    ] {
        if let Err(e) = watcher.watch(dir, RecursiveMode::Recursive) {
            tracing::warn!(
                "cannot watch {} ({e}); use POST /v1/admin/reload",
                dir.display()
            );
        }
    }
    let system = Actor {
        name: "file-watcher".into(),
        role: Role::Admin,
    };
    tokio::spawn(async move {
        let _watcher = watcher; // lives as long as this task
        while rx.recv().await.is_some() {
            // Coalesce: wait until no event arrived for SETTLE.
            while let Ok(Some(())) = tokio::time::timeout(SETTLE, rx.recv()).await {}
            let report = app.reload_all(&system).await;
            tracing::info!(%report, "reloaded after file change");
        }
    });
}
