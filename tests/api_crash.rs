//! Crash safety of the real server: approvals run under load against `kefu serve`, the process
//! is killed with SIGKILL mid-run, and after a restart every approval that was answered 200 is
//! there and the audit chain verifies. On SQLite and PostgreSQL. The server's own log of the
//! whole run is checked for bearer tokens and unmasked personal data.

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu::drafts::Role;
use serde_json::{json, Value};
use support::app::{test_config, user, Backend};
use support::pg::Schema;
use support::serve::serve;

const AGENT: &str = "kefu_crash_agent_token_7f3a9c";
const REVIEWERS: [&str; 2] = [
    "kefu_crash_reviewer_token_1b2c",
    "kefu_crash_reviewer_token_9d8e",
];
const PHONE: &str = "13912345678";
const CLIENTS: usize = 32;
const DRAFTS: usize = 400;

async fn post(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    body: Value,
) -> Option<(u16, Value)> {
    let r = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.unwrap_or(Value::Null)))
}

async fn get(client: &reqwest::Client, base: &str, token: &str, path: &str) -> (u16, Value) {
    let r = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request after restart");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn approvals_answered_ok_survive_sigkill(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir.path().join("data"));
    let _schema = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(base) => {
            let schema = Schema::create(base, "kefu_crash").await;
            config.storage.database_url = Some(schema.url.clone());
            Some(schema)
        }
    };
    config.users = vec![
        user("xiaomei", Role::Agent, AGENT),
        user("laozhang", Role::Reviewer, REVIEWERS[0]),
        user("lisi", Role::Reviewer, REVIEWERS[1]),
    ];
    let config_file = dir.path().join("kefu.toml");
    std::fs::write(&config_file, toml::to_string(&config).unwrap()).unwrap();
    let client = reqwest::Client::new();

    let mut server = serve(&config_file);
    let base = server.base.clone();
    let mut ids = Vec::new();
    for i in 0..DRAFTS {
        let message = format!("退货运费谁出？我的电话{PHONE}，订单{i}");
        let (status, draft) = post(
            &client,
            &base,
            AGENT,
            "/v1/suggest",
            json!({"message": message}),
        )
        .await
        .expect("suggest");
        assert_eq!(status, 200, "{draft}");
        ids.push(draft["id"].as_str().unwrap().to_string());
    }

    // CLIENTS reviewers approve from a shared queue; the kill lands while they are busy.
    let queue = Arc::new(Mutex::new(ids.clone()));
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (queue, acknowledged, client, base) = (
            queue.clone(),
            acknowledged.clone(),
            client.clone(),
            base.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(id) = queue.lock().unwrap().pop() else {
                    return;
                };
                let token = REVIEWERS[c % 2];
                match post(
                    &client,
                    &base,
                    token,
                    &format!("/v1/drafts/{id}/approve"),
                    json!({}),
                )
                .await
                {
                    Some((200, d)) => {
                        assert_eq!(d["status"], "approved", "{d}");
                        acknowledged.lock().unwrap().push(id);
                    }
                    Some((status, body)) => panic!("approve {id}: {status} {body}"),
                    None => return, // the server is gone
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < DRAFTS / 4 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "approvals never got going"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.child.kill().expect("SIGKILL"); // SIGKILL on Unix
    server.child.wait().unwrap();
    for t in tasks {
        t.await.expect("client task");
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let left = queue.lock().unwrap().len();
    assert!(
        left > 0,
        "the kill came after the last approval; the test proved nothing"
    );

    let restarted = serve(&config_file);
    let base = restarted.base.clone();
    for id in &acknowledged {
        let (status, d) = get(&client, &base, REVIEWERS[0], &format!("/v1/drafts/{id}")).await;
        assert_eq!(status, 200, "{d}");
        assert_eq!(
            d["status"], "approved",
            "approval of {id} was answered 200 and lost: {d}"
        );
    }
    // The restarted server accepts work: one of the drafts nobody got to.
    let remaining = queue.lock().unwrap().first().cloned().unwrap();
    let (status, d) = post(
        &client,
        &base,
        REVIEWERS[1],
        &format!("/v1/drafts/{remaining}/approve"),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{d}");

    let mut after = restarted;
    after.child.kill().ok();
    after.child.wait().ok();
    let verify = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["--config", config_file.to_str().unwrap(), "audit", "verify"])
        .output()
        .expect("kefu audit verify");
    assert!(
        verify.status.success(),
        "chain broken after SIGKILL: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    let logs = format!(
        "{}{}",
        server.log.lock().unwrap(),
        after.log.lock().unwrap()
    );
    assert!(
        logs.contains("POST") || logs.contains("/v1/"),
        "the server logged no requests; the check below would prove nothing:\n{logs}"
    );
    for secret in [AGENT, REVIEWERS[0], REVIEWERS[1], PHONE] {
        assert!(
            !logs.contains(secret),
            "`{secret}` appears in the server log"
        );
    }
    eprintln!(
        "{} approvals answered before SIGKILL, {} drafts left pending",
        acknowledged.len(),
        left
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_approvals_answered_ok_survive_sigkill() {
    approvals_answered_ok_survive_sigkill(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_approvals_answered_ok_survive_sigkill() {
    if let Some(backend) = Backend::postgres() {
        approvals_answered_ok_survive_sigkill(backend).await;
    }
}
