//! The fake provider itself, driven with a plain HTTP client: the other LLM tests rely on
//! what is checked here.

mod support;

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use support::fake_provider::{Behaviour, FakeProvider, DEFAULT_REPLY};

fn body(stream: bool) -> Value {
    json!({
        "model": "fake-model",
        "stream": stream,
        "messages": [{"role": "user", "content": "我的手机号是 13812345678，什么时候发货？"}],
    })
}

async fn post(fake: &FakeProvider, stream: bool) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", fake.base_url()))
        .json(&body(stream))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn default_json_reply_is_fixed_and_request_is_recorded() {
    let fake = FakeProvider::start().await;
    let resp = post(&fake, false).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], DEFAULT_REPLY);
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(!v.to_string().contains("13812345678"));
    assert_eq!(fake.calls(), 1);
    assert!(fake.bodies_text().contains("13812345678"));
    assert_eq!(fake.requests()[0].body["stream"], false);
}

#[tokio::test]
async fn streaming_reply_ends_with_finish_reason_and_done() {
    let fake = FakeProvider::start().await;
    let text = post(&fake, true).await.text().await.unwrap();
    let events: Vec<&str> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let mut content = String::new();
    let mut finish = None;
    for e in &events[..events.len() - 1] {
        let v: Value = serde_json::from_str(e).unwrap();
        if let Some(c) = v["choices"][0]["delta"]["content"].as_str() {
            content.push_str(c);
        }
        if let Some(f) = v["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_string());
        }
    }
    assert_eq!(content, DEFAULT_REPLY);
    assert_eq!(finish.as_deref(), Some("stop"));
    assert_eq!(fake.completed(), 1);
}

#[tokio::test]
async fn script_is_used_in_order_then_default() {
    let fake = FakeProvider::start().await;
    fake.script([
        Behaviour::Status429 {
            retry_after_secs: Some(3),
        },
        Behaviour::Status500,
        Behaviour::Status(401),
    ]);
    let r = post(&fake, false).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    let r = post(&fake, false).await;
    assert_eq!(r.status(), 500);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    assert_eq!(post(&fake, false).await.status(), 401);
    assert_eq!(post(&fake, false).await.status(), 200);
}

#[tokio::test]
async fn quota_refuses_requests_over_the_limit() {
    let fake = FakeProvider::start().await;
    fake.set_quota(2, Duration::from_millis(300));
    assert_eq!(post(&fake, false).await.status(), 200);
    assert_eq!(post(&fake, false).await.status(), 200);
    assert_eq!(post(&fake, false).await.status(), 429);
    assert_eq!(fake.quota_rejections(), 1);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(post(&fake, false).await.status(), 200);
}

#[tokio::test]
async fn a_client_giving_up_on_a_hang_is_seen_as_abandoned() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Hang);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .post(format!("{}/chat/completions", fake.base_url()))
        .json(&body(false))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(fake.wait_abandoned(1, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn dropping_a_stream_midway_is_seen_as_abandoned() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::OkStream {
        chunks: vec!["一".into(), "二".into(), "三".into(), "四".into()],
        delay: Duration::from_millis(300),
    });
    let resp = post(&fake, true).await;
    let mut bytes = resp.bytes_stream();
    let first = bytes.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("一"));
    drop(bytes);
    assert!(fake.wait_abandoned(1, Duration::from_secs(2)).await);
    assert_eq!(fake.completed(), 0);
}

#[tokio::test]
async fn stream_cut_never_sends_finish_reason_or_done() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::StreamCut {
        chunks: vec!["亲".into(), "您好".into()],
    });
    let resp = post(&fake, true).await;
    let mut bytes = resp.bytes_stream();
    let mut seen = String::new();
    let mut failed = false;
    while let Some(item) = bytes.next().await {
        match item {
            Ok(b) => seen.push_str(&String::from_utf8_lossy(&b)),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body should end in an error, got {seen}");
    assert!(seen.contains("您好"));
    assert!(!seen.contains("[DONE]") && !seen.contains("finish_reason\":\"stop"));
}
