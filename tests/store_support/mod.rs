//! Shared fixtures for the store tests: a fresh SQLite file per test, or a fresh PostgreSQL
//! schema per test when `KEFU_TEST_DATABASE_URL` is set (skipped with a notice otherwise).
#![allow(dead_code)]

use std::path::PathBuf;

use kefu::compliance::{Finding, Severity, Verdict};
use kefu::config::StorageConfig;
use kefu::conversation::{Platform, Turn};
use kefu::drafts::{Actor, Mode, NewDraft, Role, SourceRef, Store};
use sqlx::Connection;

#[path = "../support/pg.rs"]
mod pg;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A store on a fresh database, and what a test needs to reach behind its back.
pub struct TestDb {
    pub kind: Kind,
    pub cfg: StorageConfig,
    pub store: Store,
    dir: tempfile::TempDir,
    pg: Option<pg::Schema>,
}

pub fn storage(dir: PathBuf) -> StorageConfig {
    StorageConfig {
        data_dir: dir,
        database_url: None,
        draft_ttl_hours: 24,
        raw_retention_days: 0,
    }
}

impl TestDb {
    /// `None` (after printing why) when PostgreSQL is requested but not configured.
    pub async fn new(kind: Kind, tune: impl FnOnce(&mut StorageConfig)) -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = storage(dir.path().join("data"));
        tune(&mut cfg);
        let mut schema_guard = None;
        if kind == Kind::Postgres {
            let base = pg::base_url("PostgreSQL store test")?;
            let schema = pg::Schema::create(&base, "kefu_t").await;
            cfg.database_url = Some(schema.url.clone());
            schema_guard = Some(schema);
        }
        let store = Store::open(&cfg).await.expect("open store");
        Some(TestDb {
            kind,
            cfg,
            store,
            dir,
            pg: schema_guard,
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A second, independent store on the same database (another process, another replica).
    pub async fn reopen(&self) -> Store {
        Store::open(&self.cfg).await.expect("reopen store")
    }

    /// Runs SQL directly on the database, as someone with file or superuser access would.
    pub async fn raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self.kind {
            Kind::Sqlite => {
                let url = format!("sqlite://{}", self.data_dir().join("kefu.db").display());
                let mut c = sqlx::SqliteConnection::connect(&url).await?;
                let n = sqlx::raw_sql(sql).execute(&mut c).await?.rows_affected();
                c.close().await?;
                Ok(n)
            }
            Kind::Postgres => {
                let url = self.cfg.database_url.clone().expect("pg url");
                let mut c = sqlx::PgConnection::connect(&url).await?;
                let n = sqlx::raw_sql(sql).execute(&mut c).await?.rows_affected();
                c.close().await?;
                Ok(n)
            }
        }
    }

    /// SQL that lets the next statements change audit rows (the app's guard removed).
    pub fn drop_guard_sql(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite => {
                "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;"
            }
            Kind::Postgres => "DROP TRIGGER audit_events_no_change ON audit_events;",
        }
    }

    /// Closes the store before its schema (if any) is dropped.
    pub async fn finish(self) {
        self.store.close().await;
    }
}

pub fn agent(name: &str) -> Actor {
    Actor {
        name: name.into(),
        role: Role::Agent,
    }
}

pub fn actor(name: &str, role: Role) -> Actor {
    Actor {
        name: name.into(),
        role,
    }
}

pub fn finding(category: &str, severity: Severity, matched: &str) -> Finding {
    Finding {
        rule: format!("test.{category}").into(),
        category: category.into(),
        severity,
        start: 0,
        end: matched.chars().count(),
        matched: matched.into(),
        message: "test finding".into(),
        suggestion: None,
    }
}

pub fn new_draft(text: &str) -> NewDraft {
    NewDraft {
        conversation: vec![Turn::customer("请问退货运费谁出？我的电话是[PHONE_1]")],
        platform: Some(Platform::Taobao),
        sku: Some("KF-100".into()),
        scenario: "aftersale".into(),
        text: text.into(),
        mode: Mode::Model,
        needs_human: false,
        verdict: Verdict::Pass,
        findings: vec![],
        sources: vec![SourceRef {
            id: "policy/returns#2".into(),
            doc_id: "policy/returns".into(),
            title: "退换货政策 / 运费".into(),
            expired: false,
        }],
        provider: Some("fake".into()),
        model: Some("fake-model".into()),
        attempts: 1,
        usage: None,
        latency_ms: 12,
        template: "aftersale".into(),
        template_hash: "abc123".into(),
        ruleset_version: "rules-1".into(),
        knowledge_version: "kb-1".into(),
    }
}

pub fn approve(text: &str) -> kefu::drafts::Decision {
    kefu::drafts::Decision::Approve {
        final_text: text.into(),
        verdict: Verdict::Pass,
        findings: vec![],
        ruleset_version: "rules-1".into(),
        override_reason: None,
    }
}

/// Declares one test per backend: `store_test!(name, |db| async move { ... })`.
#[macro_export]
macro_rules! store_test {
    ($name:ident, $tune:expr, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = store_support::TestDb::new(store_support::Kind::Sqlite, $tune)
                    .await
                    .unwrap();
                ($body)(db).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) =
                    store_support::TestDb::new(store_support::Kind::Postgres, $tune).await
                {
                    ($body)(db).await;
                }
            }
        }
    };
}
