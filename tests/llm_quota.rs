//! The gateway's quota against a fake that enforces one: never exceeded, fail fast past the
//! deadline, live requests before bulk ones.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kefu::config::ProviderConfig;
use kefu::llm::{ChatRequest, Gateway, Lane, LlmError};
use support::fake_provider::FakeProvider;

fn req(user: &str) -> ChatRequest {
    ChatRequest {
        system: "你是客服。".into(),
        user: user.into(),
        max_tokens: 100,
        temperature: 0.3,
    }
}

fn gateway(providers: &[ProviderConfig]) -> Arc<Gateway> {
    Arc::new(Gateway::from_config_with_env(providers, |_| None))
}

async fn burst_of(gw: &Arc<Gateway>, n: usize, lane: Lane) -> Vec<Result<String, LlmError>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let gw = gw.clone();
            tokio::spawn(async move {
                gw.generate(&req(&format!("问题{i}")), lane, None)
                    .await
                    .map(|g| g.text)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_limiter_keeps_requests_under_the_providers_quota() {
    let fake = FakeProvider::start().await;
    // The provider allows 4 requests in any second; we configure 120 rpm (2/s, burst 2).
    fake.set_quota(4, Duration::from_secs(1));
    let mut cfg = fake.provider_config("main");
    cfg.rpm = 120;
    cfg.timeout_secs = 10;
    let gw = gateway(&[cfg]);
    let started = Instant::now();
    let results = burst_of(&gw, 8, Lane::Bulk).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(fake.quota_rejections(), 0);
    assert_eq!(fake.calls(), 8, "no request needed a retry");
    // Two at once, then one every 0.5 s.
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn control_without_a_matching_limit_the_fake_refuses_requests() {
    let fake = FakeProvider::start().await;
    fake.set_quota(4, Duration::from_secs(1));
    let mut cfg = fake.provider_config("main");
    cfg.rpm = 6000;
    cfg.max_attempts = 1;
    let gw = gateway(&[cfg]);
    let results = burst_of(&gw, 8, Lane::Bulk).await;
    assert!(fake.quota_rejections() > 0);
    assert!(results.iter().any(|r| r.is_err()));
}

#[tokio::test]
async fn a_quota_wait_past_the_deadline_fails_fast_as_unavailable() {
    let fake = FakeProvider::start().await;
    let mut cfg = fake.provider_config("main");
    cfg.rpm = 30; // one every 2 s, burst 1
    cfg.timeout_secs = 1;
    let gw = gateway(&[cfg]);
    gw.generate(&req("第一个"), Lane::Live, None).await.unwrap();
    let started = Instant::now();
    let err = gw
        .generate(&req("第二个"), Lane::Live, None)
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    match err {
        LlmError::Unavailable { retry_after, .. } => {
            assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}");
            assert!(retry_after <= Duration::from_secs(3), "{retry_after:?}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn a_busy_provider_passes_the_request_to_the_next_one() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    let mut a = first.provider_config("a");
    a.rpm = 30;
    a.timeout_secs = 1;
    let gw = gateway(&[a, second.provider_config("b")]);
    assert_eq!(
        gw.generate(&req("1"), Lane::Live, None)
            .await
            .unwrap()
            .provider,
        "a"
    );
    let g = gw.generate(&req("2"), Lane::Live, None).await.unwrap();
    assert_eq!((g.provider.as_str(), g.attempts), ("b", 1));
}

#[tokio::test]
async fn a_429_pauses_the_provider_for_other_requests_too() {
    let fake = FakeProvider::start().await;
    fake.push(support::fake_provider::Behaviour::Status429 {
        retry_after_secs: Some(1),
    });
    let mut cfg = fake.provider_config("main");
    cfg.max_attempts = 1;
    cfg.timeout_secs = 3;
    let gw = gateway(&[cfg]);
    assert!(gw.generate(&req("1"), Lane::Live, None).await.is_err());
    let started = Instant::now();
    gw.generate(&req("2"), Lane::Live, None).await.unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
}

#[tokio::test]
async fn live_requests_go_before_bulk_requests_waiting_for_the_same_quota() {
    let fake = FakeProvider::start().await;
    let mut cfg = fake.provider_config("main");
    cfg.rpm = 120; // burst 2, then one every 0.5 s
    cfg.timeout_secs = 10;
    let gw = gateway(&[cfg]);
    // Use up the burst.
    for i in 0..2 {
        gw.generate(&req(&format!("warm{i}")), Lane::Bulk, None)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..3 {
        let gw = gw.clone();
        tasks.push(tokio::spawn(async move {
            gw.generate(&req(&format!("bulk{i}")), Lane::Bulk, None)
                .await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let live = {
        let gw = gw.clone();
        tokio::spawn(async move { gw.generate(&req("live"), Lane::Live, None).await })
    };
    live.await.unwrap().unwrap();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let order: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| {
            r.body["messages"][1]["content"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(order[..2], ["warm0", "warm1"]);
    assert_eq!(order[2], "live", "order: {order:?}");
    assert_eq!(
        order[3..],
        ["bulk0", "bulk1", "bulk2"],
        "bulk keeps its own order"
    );
}

#[tokio::test]
async fn the_concurrency_cap_holds_requests_beyond_it() {
    let fake = FakeProvider::start().await;
    fake.set_latency(Duration::from_millis(300));
    let mut cfg = fake.provider_config("main");
    cfg.max_concurrency = 2;
    let gw = gateway(&[cfg]);
    let started = Instant::now();
    let results = burst_of(&gw, 4, Lane::Live).await;
    assert!(results.iter().all(|r| r.is_ok()));
    let r = fake.requests();
    // The third request starts only when one of the first two has finished.
    let third = r[2].at.duration_since(r[0].at);
    assert!(third >= Duration::from_millis(280), "{third:?}");
    assert!(started.elapsed() >= Duration::from_millis(590));
}

#[tokio::test]
async fn unused_token_reservations_are_not_lost_after_the_next_request() {
    let fake = FakeProvider::start().await;
    let mut cfg = fake.provider_config("main");
    // 6000 tokens a minute: a burst of 1000, then 100 a second. Each request reserves its
    // prompt estimate plus max_tokens (400); the fake reports far less.
    cfg.tpm = 6000;
    cfg.timeout_secs = 3;
    let gw = gateway(&[cfg]);
    let mut r = req("运费谁出？");
    r.max_tokens = 400;
    let started = Instant::now();
    for _ in 0..6 {
        gw.generate(&r, Lane::Live, None).await.unwrap();
    }
    // Without settlement the third request would wait about 2 s and the fourth fail.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.calls(), 6);
}

#[tokio::test]
async fn the_token_budget_holds_requests_when_it_is_spent() {
    let fake = FakeProvider::start().await;
    // The fake reports usage in characters; a long answer uses most of the reservation.
    fake.set_default(support::fake_provider::Behaviour::Ok("好".repeat(380)));
    let mut cfg = fake.provider_config("main");
    cfg.tpm = 6000;
    cfg.timeout_secs = 1;
    cfg.max_attempts = 1;
    let gw = gateway(&[cfg]);
    let mut r = req("运费谁出？");
    r.max_tokens = 400;
    gw.generate(&r, Lane::Live, None).await.unwrap();
    gw.generate(&r, Lane::Live, None).await.unwrap();
    let err = gw.generate(&r, Lane::Live, None).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Unavailable { detail, .. } if detail.contains("token")),
        "{err:?}"
    );
    assert_eq!(fake.calls(), 2);
}
