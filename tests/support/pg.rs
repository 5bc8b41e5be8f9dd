//! A fresh PostgreSQL schema per test, on the server named by `KEFU_TEST_DATABASE_URL`.
//!
//! Every test gets its own schema (the store's migrations run inside it), so tests run in
//! parallel on one database and leave nothing behind: the schema is dropped when the guard is.
#![allow(dead_code)]

use sqlx::Connection;

pub const PG_ENV: &str = "KEFU_TEST_DATABASE_URL";

/// The server's URL, or `None` after a notice saying how to run the skipped test.
pub fn base_url(what: &str) -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // straight to stderr: the harness captures eprintln! of passing tests
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "notice: {what} skipped; set {PG_ENV} (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
            );
            None
        }
    }
}

/// A schema created for one test; `url` selects it through `search_path`.
pub struct Schema {
    pub base: String,
    pub name: String,
    pub url: String,
}

impl Schema {
    pub async fn create(base: &str, prefix: &str) -> Schema {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(base)
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .expect("create schema");
        conn.close().await.ok();
        Schema {
            url: schema_url(base, &name),
            base: base.to_string(),
            name,
        }
    }
}

impl Drop for Schema {
    /// Drops the schema from a thread of its own, so this works inside and outside a runtime.
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut c) = sqlx::PgConnection::connect(&base).await {
                    // A server still holding a lock must not hang the test run.
                    let _ = sqlx::query("SET lock_timeout = '5s'").execute(&mut c).await;
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&mut c)
                        .await;
                    let _ = c.close().await;
                }
            });
        })
        .join();
    }
}

/// `base` with `search_path` set to `schema` for every connection.
pub fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}
