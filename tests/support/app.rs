//! Spawns the real application on 127.0.0.1:0 with the repository's knowledge, prompts and rules,
//! a fresh data folder, and optionally fake providers. PostgreSQL is used instead of SQLite when
//! the test asks for it and `KEFU_TEST_DATABASE_URL` is set.

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

pub async fn spawn(configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(data_dir.path());
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
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}
