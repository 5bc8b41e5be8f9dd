//! Spawns the real application on 127.0.0.1:0 with the repository's knowledge, prompts and rules,
//! a fresh data folder, and optionally fake providers. The store is a fresh SQLite file, or a
//! fresh PostgreSQL schema for tests declared with [`on_both_stores!`] when
//! `KEFU_TEST_DATABASE_URL` is set.

use std::path::PathBuf;
use std::sync::Arc;

use kefu::app::App;
use kefu::config::Config;
use kefu::startup::Server;
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: Arc<App>,
    pub data_dir: tempfile::TempDir,
    /// Dropped (with the schema) after everything above.
    pub schema: Option<super::pg::Schema>,
}

/// Which store a test's app runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server's URL (`KEFU_TEST_DATABASE_URL`).
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when configured; `None` after a notice otherwise.
    pub fn postgres() -> Option<Backend> {
        super::pg::base_url("PostgreSQL API test").map(Backend::Postgres)
    }
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A configuration over the repository's data with a throwaway data folder.
pub fn test_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.server.addr = "127.0.0.1:0".into();
    config.storage.data_dir = data_dir.to_path_buf();
    config.knowledge.dir = repo_path("knowledge");
    config.prompts.dir = repo_path("prompts");
    config.rules.dir = repo_path("rules");
    config
}

/// The app on a fresh SQLite file.
pub async fn spawn(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_on(Backend::Sqlite, configure).await
}

/// The app on the given store (a fresh schema for PostgreSQL).
pub async fn spawn_on(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(data_dir.path());
    let schema = match backend {
        Backend::Sqlite => None,
        Backend::Postgres(base) => {
            let schema = super::pg::Schema::create(&base, "kefu_api").await;
            config.storage.database_url = Some(schema.url.clone());
            Some(schema)
        }
    };
    configure(&mut config);
    let server = Server::build(config).await.expect("server builds");
    let base = format!("http://{}", server.addr());
    let app = server.app();
    tokio::spawn(server.run());
    TestApp {
        base,
        client: reqwest::Client::new(),
        app,
        data_dir,
        schema,
    }
}

/// Declares each test twice, on SQLite and on PostgreSQL (skipped with a notice when
/// `KEFU_TEST_DATABASE_URL` is unset): `on_both_stores! { async fn name(backend) { … } }`,
/// where the body spawns its app with `spawn_on(backend, …)`.
#[macro_export]
macro_rules! on_both_stores {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $backend = $crate::support::app::Backend::Sqlite;
                $body
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some($backend) = $crate::support::app::Backend::postgres() else {
                    return;
                };
                $body
            }
        }
    )*};
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request; the status and the body as text.
    async fn send_text(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        let r = request.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    /// Sends a request; the status and the body as JSON (`Null` when it is none).
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let (status, text) = self.send_text(request).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// POST with `Authorization: Bearer <token>`.
    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(token)
                .json(body),
        )
        .await
    }

    /// GET with `Authorization: Bearer <token>`; the body as text.
    pub async fn get_text_as(&self, token: &str, path: &str) -> (u16, String) {
        self.send_text(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    /// GET with `Authorization: Bearer <token>`.
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        self.send(self.client.get(self.url(path))).await
    }

    /// Runs SQL on the app's database behind its back, as someone with direct access would.
    pub async fn raw_sql(&self, sql: &str) {
        use sqlx::Connection;
        match &self.schema {
            None => {
                let file = self.app.config.storage.data_dir.join("kefu.db");
                let mut c =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                        .await
                        .expect("open the SQLite file");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw SQL");
                c.close().await.ok();
            }
            Some(schema) => {
                let mut c = sqlx::PgConnection::connect(&schema.url)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::raw_sql(sql).execute(&mut c).await.expect("raw SQL");
                c.close().await.ok();
            }
        }
    }
}

/// The actions of an `/v1/audit/events` answer, in order.
pub fn actions(events: &Value) -> Vec<String> {
    events["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["action"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A configured user whose bearer token is `token` (stored hashed, as in `kefu.toml`).
pub fn user(name: &str, role: kefu::drafts::Role, token: &str) -> kefu::config::UserConfig {
    kefu::config::UserConfig {
        name: name.into(),
        role,
        token_sha256: kefu::auth::hash_token(token),
    }
}
