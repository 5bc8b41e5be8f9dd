//! Builds the shared state from configuration: knowledge, rules, prompts, providers, store.
//! Everything a request needs hangs off [`App`]; nothing is global.

use std::sync::{Arc, RwLock};

use crate::auth::Users;
use crate::compliance::{Compliance, RulesError};
use crate::config::Config;
use crate::drafts::{Store, StoreError};
use crate::knowledge::{KnowledgeBase, KnowledgeError, LoadReport};
use crate::llm::Gateway;
use crate::prompt::{PromptError, Prompts};

pub struct App {
    pub config: Config,
    pub knowledge: Arc<KnowledgeBase>,
    pub compliance: Arc<Compliance>,
    prompts: RwLock<Arc<Prompts>>,
    pub gateway: Gateway,
    pub store: Store,
    pub users: Users,
    /// Background FAQ job runs, drained on shutdown.
    pub faq_runs: crate::faq::Runs,
    /// Searches running at once, one per core. Unbounded, a burst of requests puts one
    /// blocking thread per request on the CPU and starves the async workers that forward
    /// streamed deltas and the store's writer; queued in order, earlier requests finish first.
    pub search_slots: Arc<tokio::sync::Semaphore>,
    /// The share of `search_slots` FAQ work may hold: all but one.
    pub bulk_search_slots: Arc<tokio::sync::Semaphore>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("knowledge: {0}")]
    Knowledge(#[from] KnowledgeError),
    #[error("rules: {0}")]
    Rules(#[from] RulesError),
    #[error("prompts: {0}")]
    Prompts(#[from] PromptError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("users: {0}")]
    Users(#[from] crate::auth::AuthError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("refusing to listen on {addr} without [[users]]: local-only mode (no tokens) binds to loopback only; configure users with tokens or use 127.0.0.1")]
    Insecure { addr: String },
}

impl App {
    /// Loads everything and fails with a message naming the file at fault.
    pub async fn build(config: Config) -> Result<(App, LoadReport), StartupError> {
        let prompts = Prompts::load(&config.prompts.dir)?;
        let compliance = Compliance::load(&config.rules.dir)?;
        let dir = config.knowledge.dir.clone();
        let (knowledge, report) = tokio::task::spawn_blocking(move || KnowledgeBase::open(&dir))
            .await
            .map_err(|e| KnowledgeError::Index(format!("index build task failed: {e}")))??;
        for err in &report.errors {
            tracing::warn!("knowledge file skipped: {err}");
        }
        let gateway = Gateway::from_config(&config.providers);
        let store = Store::open(&config.storage)
            .await?
            .with_second_approval_categories(&config.review.second_approval_categories);
        let users = Users::new(&config.users)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let app = App {
            users,
            prompts: RwLock::new(Arc::new(prompts)),
            knowledge: Arc::new(knowledge),
            compliance: Arc::new(compliance),
            gateway,
            store,
            config,
            faq_runs: Default::default(),
            search_slots: Arc::new(tokio::sync::Semaphore::new(cores)),
            bulk_search_slots: Arc::new(tokio::sync::Semaphore::new(
                cores.saturating_sub(1).max(1),
            )),
        };
        Ok((app, report))
    }

    /// The prompts in force; a reload swaps them whole.
    pub fn prompts(&self) -> Arc<Prompts> {
        match self.prompts.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn knowledge_handle(&self) -> Arc<KnowledgeBase> {
        self.knowledge.clone()
    }

    /// Recompiles the prompts; on error the previous ones stay in force.
    pub fn reload_prompts(&self) -> Result<(), PromptError> {
        let fresh = Arc::new(Prompts::load(&self.config.prompts.dir)?);
        match self.prompts.write() {
            Ok(mut p) => *p = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(())
    }
}

impl App {
    /// Reloads knowledge, rules and prompts, each atomically; a part that fails keeps its
    /// previous version and the failure is reported, not raised. Every reload is audited.
    pub async fn reload_all(&self, actor: &crate::drafts::Actor) -> serde_json::Value {
        use serde_json::json;
        let knowledge = self.knowledge_handle();
        let knowledge = match tokio::task::spawn_blocking(move || knowledge.reload()).await {
            Ok(Ok(report)) => {
                json!({ "ok": true, "version": self.knowledge.version(), "report": report })
            }
            Ok(Err(e)) => json!({ "ok": false, "error": e.to_string() }),
            Err(e) => json!({ "ok": false, "error": format!("reload task failed: {e}") }),
        };
        // Loading rules compiles large regexes and trains the classifier: a blocking thread's job.
        let compliance = self.compliance.clone();
        let rules = match tokio::task::spawn_blocking(move || compliance.reload()).await {
            Ok(Ok(version)) => json!({ "ok": true, "version": version }),
            Ok(Err(e)) => json!({ "ok": false, "error": e.to_string() }),
            Err(e) => json!({ "ok": false, "error": format!("reload task failed: {e}") }),
        };
        let prompts = match self.reload_prompts() {
            Ok(()) => json!({ "ok": true }),
            Err(e) => json!({ "ok": false, "error": e.to_string() }),
        };
        let report = json!({ "knowledge": knowledge, "rules": rules, "prompts": prompts });
        for (action, part) in [
            ("knowledge_reloaded", &report["knowledge"]),
            ("rules_reloaded", &report["rules"]),
        ] {
            if let Err(e) = self.store.record(actor, action, part.clone()).await {
                tracing::error!("could not audit {action}: {e}");
            }
        }
        report
    }
}
