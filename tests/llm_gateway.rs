//! The LLM gateway against the fake provider: answers, retries, fallback, breaker, errors.

mod support;

use std::time::{Duration, Instant};

use kefu::config::ProviderConfig;
use kefu::llm::{BreakerState, ChatRequest, Gateway, Lane, LlmError};
use support::fake_provider::{Behaviour, FakeProvider, DEFAULT_REPLY, FAKE_MODEL};

fn req(user: &str) -> ChatRequest {
    ChatRequest {
        system: "你是暖居小家电旗舰店的客服。".into(),
        user: user.into(),
        max_tokens: 200,
        temperature: 0.3,
    }
}

fn gateway(providers: &[ProviderConfig]) -> Gateway {
    Gateway::from_config_with_env(providers, |_| None)
}

#[tokio::test]
async fn a_json_answer_records_provider_model_attempts_usage_and_latency() {
    let fake = FakeProvider::start().await;
    let gw = gateway(&[fake.provider_config("main")]);
    assert!(gw.is_configured());
    let g = gw
        .generate(&req("什么时候发货？"), Lane::Live, None)
        .await
        .unwrap();
    assert_eq!(g.text, DEFAULT_REPLY);
    assert_eq!(g.provider, "main");
    assert_eq!(g.model, FAKE_MODEL);
    assert_eq!(g.attempts, 1);
    let usage = g.usage.expect("usage reported by the fake");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert!(g.latency_ms < 5_000);
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn the_request_carries_model_messages_limits_and_extra_switches() {
    let fake = FakeProvider::start().await;
    let mut cfg = fake.provider_config("main");
    cfg.extra
        .insert("enable_thinking".into(), toml::Value::Boolean(false));
    let gw = gateway(&[cfg]);
    gw.generate(&req("能开发票吗？"), Lane::Bulk, None)
        .await
        .unwrap();
    let body = &fake.requests()[0].body;
    assert_eq!(body["model"], FAKE_MODEL);
    assert_eq!(body["stream"], false);
    assert_eq!(body["max_tokens"], 200);
    assert_eq!(body["enable_thinking"], false);
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(body["messages"][1]["content"], "能开发票吗？");
}

#[tokio::test]
async fn status_500_is_retried() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Status500);
    let gw = gateway(&[fake.provider_config("main")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(g.attempts, 2);
    assert_eq!(fake.calls(), 2);
    assert_eq!(g.text, DEFAULT_REPLY);
}

#[tokio::test]
async fn status_429_with_retry_after_is_retried_no_sooner_than_asked() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Status429 {
        retry_after_secs: Some(1),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(g.attempts, 2);
    let r = fake.requests();
    let gap = r[1].at.duration_since(r[0].at);
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert!(gap < Duration::from_millis(1500), "retried after {gap:?}");
}

#[tokio::test]
async fn status_429_until_attempts_run_out_is_unavailable_with_retry_after() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Status429 {
        retry_after_secs: Some(1),
    });
    let mut cfg = fake.provider_config("main");
    cfg.max_attempts = 2;
    let gw = gateway(&[cfg]);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    match err {
        LlmError::Unavailable { retry_after, .. } => {
            assert!(retry_after >= Duration::from_secs(1), "{retry_after:?}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(fake.calls(), 2);
}

#[tokio::test]
async fn status_401_is_not_retried() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Status(401));
    let gw = gateway(&[fake.provider_config("main")]);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LlmError::Failed { detail } if detail.contains("401")),
        "{err}"
    );
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn status_400_and_403_are_not_retried_either() {
    for status in [400, 403] {
        let fake = FakeProvider::start().await;
        fake.set_default(Behaviour::Status(status));
        let gw = gateway(&[fake.provider_config("main")]);
        assert!(gw.generate(&req("在吗"), Lane::Live, None).await.is_err());
        assert_eq!(fake.calls(), 1, "status {status}");
    }
}

#[tokio::test]
async fn fallback_follows_the_configured_order() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    let third = FakeProvider::start().await;
    first.set_default(Behaviour::Status500);
    second.set_default(Behaviour::Status(401));
    third.set_default(Behaviour::Ok("第三家的回答".into()));
    let mut a = first.provider_config("a");
    a.max_attempts = 2;
    let gw = gateway(&[a, second.provider_config("b"), third.provider_config("c")]);
    assert_eq!(gw.provider_names(), ["a", "b", "c"]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(g.provider, "c");
    assert_eq!(g.text, "第三家的回答");
    assert_eq!(g.attempts, 4, "2 to a, 1 to b, 1 to c");
    assert_eq!((first.calls(), second.calls(), third.calls()), (2, 1, 1));
}

#[tokio::test]
async fn a_healthy_first_provider_means_the_second_is_never_called() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    let gw = gateway(&[first.provider_config("a"), second.provider_config("b")]);
    for _ in 0..3 {
        assert_eq!(
            gw.generate(&req("在吗"), Lane::Live, None)
                .await
                .unwrap()
                .provider,
            "a"
        );
    }
    assert_eq!(second.calls(), 0);
}

#[tokio::test]
async fn every_provider_failing_is_reported_per_provider() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    first.set_default(Behaviour::Status(401));
    second.set_default(Behaviour::Status(403));
    let gw = gateway(&[first.provider_config("a"), second.provider_config("b")]);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    let LlmError::Failed { detail } = err else {
        panic!("expected Failed, got {err:?}");
    };
    assert!(
        detail.contains("a: HTTP 401") && detail.contains("b: HTTP 403"),
        "{detail}"
    );
}

#[tokio::test]
async fn malformed_json_is_retried_and_reported_when_it_persists() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::MalformedJson);
    let gw = gateway(&[fake.provider_config("main")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(g.attempts, 2);

    fake.set_default(Behaviour::MalformedJson);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
}

#[tokio::test]
async fn a_hang_past_the_timeout_fails_and_the_request_is_abandoned() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Hang);
    let mut cfg = fake.provider_config("main");
    cfg.timeout_secs = 1;
    cfg.max_attempts = 1;
    let gw = gateway(&[cfg]);
    let started = Instant::now();
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1800),
        "{took:?}"
    );
    assert!(fake.wait_abandoned(1, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_slow_answer_within_the_timeout_is_accepted() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::SlowFirstByte(Duration::from_millis(600)));
    let gw = gateway(&[fake.provider_config("main")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(g.attempts, 1);
    assert!(g.latency_ms >= 600);
}

#[tokio::test]
async fn consecutive_failures_open_the_breaker_and_a_half_open_probe_closes_it() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Status500);
    let mut cfg = fake.provider_config("main");
    cfg.max_attempts = 1;
    cfg.breaker_failures = 2;
    cfg.breaker_cooldown_secs = 1;
    let gw = gateway(&[cfg]);
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::Closed));
    assert!(gw.generate(&req("1"), Lane::Live, None).await.is_err());
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::Closed));
    assert!(gw.generate(&req("2"), Lane::Live, None).await.is_err());
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::Open));

    // Open: refused without a request, as unavailable with the remaining cool-down.
    let err = gw.generate(&req("3"), Lane::Live, None).await.unwrap_err();
    match &err {
        LlmError::Unavailable {
            retry_after,
            detail,
        } => {
            assert!(*retry_after <= Duration::from_secs(1), "{retry_after:?}");
            assert!(detail.contains("circuit breaker"), "{detail}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(fake.calls(), 2);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::HalfOpen));
    // The probe fails: open again.
    assert!(gw.generate(&req("4"), Lane::Live, None).await.is_err());
    assert_eq!(fake.calls(), 3);
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::Open));

    tokio::time::sleep(Duration::from_millis(1100)).await;
    fake.set_default(Behaviour::Ok("恢复了".into()));
    let g = gw.generate(&req("5"), Lane::Live, None).await.unwrap();
    assert_eq!(g.text, "恢复了");
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::Closed));
    assert_eq!(gw.breaker_state("nope"), None);
}

#[tokio::test]
async fn an_open_breaker_sends_requests_to_the_next_provider() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    first.set_default(Behaviour::Status500);
    let mut a = first.provider_config("a");
    a.max_attempts = 1;
    a.breaker_failures = 1;
    a.breaker_cooldown_secs = 60;
    let gw = gateway(&[a, second.provider_config("b")]);
    assert_eq!(
        gw.generate(&req("1"), Lane::Live, None)
            .await
            .unwrap()
            .provider,
        "b"
    );
    assert_eq!(gw.breaker_state("a"), Some(BreakerState::Open));
    let g = gw.generate(&req("2"), Lane::Live, None).await.unwrap();
    assert_eq!((g.provider.as_str(), g.attempts), ("b", 1));
    assert_eq!(first.calls(), 1, "no request while the breaker is open");
}

#[tokio::test]
async fn an_empty_or_filtered_completion_is_empty_and_not_retried() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Empty);
    let gw = gateway(&[fake.provider_config("main")]);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Empty { .. }), "{err:?}");
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn reasoning_content_never_enters_the_text() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::ReasoningContent {
        reasoning: "用户在问发货时间，先查知识库。".into(),
        text: "亲，48小时内发货哦～".into(),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(g.text, "亲，48小时内发货哦～");
}

#[tokio::test]
async fn think_tags_from_local_reasoning_models_are_dropped() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Ok(
        "<think>\n先想想\n</think>\n\n亲，在的～".into(),
    ));
    let gw = gateway(&[fake.provider_config("main")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(g.text, "亲，在的～");
}

#[tokio::test]
async fn a_provider_whose_key_variable_is_missing_is_skipped_and_a_present_key_is_sent() {
    let fake = FakeProvider::start().await;
    let mut cfg = fake.provider_config("keyed");
    cfg.api_key_env = "KEFU_TEST_FAKE_KEY".into();
    let gw = Gateway::from_config_with_env(std::slice::from_ref(&cfg), |_| None);
    assert!(!gw.is_configured());
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no LLM provider"), "{err}");

    let gw = Gateway::from_config_with_env(&[cfg], |var| {
        (var == "KEFU_TEST_FAKE_KEY").then(|| "sk-test-123".to_string())
    });
    assert!(gw.is_configured());
    gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!(
        fake.requests()[0].authorization.as_deref(),
        Some("Bearer sk-test-123")
    );
}

#[tokio::test]
async fn a_bad_base_url_skips_the_provider() {
    let fake = FakeProvider::start().await;
    let mut cfg = fake.provider_config("bad");
    cfg.base_url = "127.0.0.1:1/v1".into();
    let gw = gateway(&[cfg, fake.provider_config("good")]);
    assert_eq!(gw.provider_names(), ["good"]);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_falls_back() {
    // A port nobody listens on: bind, note the port, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fake = FakeProvider::start().await;
    let mut dead = fake.provider_config("dead");
    dead.base_url = format!("http://127.0.0.1:{port}/v1");
    dead.max_attempts = 2;
    let gw = gateway(&[dead, fake.provider_config("alive")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!((g.provider.as_str(), g.attempts), ("alive", 3));
}

#[tokio::test]
async fn deepseeks_insufficient_system_resource_is_retried_like_a_5xx() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Raw {
        status: 200,
        content_type: "application/json".into(),
        body: r#"{"id":"x","object":"chat.completion","model":"deepseek-chat","choices":[{"index":0,"message":{"role":"assistant","content":"亲，"},"finish_reason":"insufficient_system_resource"}]}"#.into(),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let g = gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    assert_eq!((g.attempts, g.text.as_str()), (2, DEFAULT_REPLY));
}

#[tokio::test]
async fn provider_status_lists_providers_in_order_with_their_breakers() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    first.set_default(Behaviour::Status500);
    let mut a = first.provider_config("a");
    a.max_attempts = 1;
    a.breaker_failures = 1;
    let gw = gateway(&[a, second.provider_config("b")]);
    gw.generate(&req("在吗"), Lane::Live, None).await.unwrap();
    let status = gw.provider_status();
    let summary: Vec<(&str, &str, BreakerState)> = status
        .iter()
        .map(|s| (s.name.as_str(), s.model.as_str(), s.breaker))
        .collect();
    assert_eq!(
        summary,
        [
            ("a", FAKE_MODEL, BreakerState::Open),
            ("b", FAKE_MODEL, BreakerState::Closed)
        ]
    );
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json[0]["breaker"], "open");
}

#[tokio::test]
async fn all_providers_rate_limited_is_unavailable_with_the_shortest_wait() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    first.set_default(Behaviour::Status429 {
        retry_after_secs: Some(7),
    });
    second.set_default(Behaviour::Status429 {
        retry_after_secs: Some(3),
    });
    let mut a = first.provider_config("a");
    a.max_attempts = 1;
    let mut b = second.provider_config("b");
    b.max_attempts = 1;
    let gw = gateway(&[a, b]);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    match err {
        LlmError::Unavailable {
            retry_after,
            detail,
        } => {
            assert_eq!(retry_after, Duration::from_secs(3));
            assert!(detail.contains("a: ") && detail.contains("b: "), "{detail}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn one_provider_failing_for_real_makes_it_a_failure_not_unavailable() {
    let first = FakeProvider::start().await;
    let second = FakeProvider::start().await;
    first.set_default(Behaviour::Status(401));
    second.set_default(Behaviour::Status429 {
        retry_after_secs: Some(3),
    });
    let mut b = second.provider_config("b");
    b.max_attempts = 1;
    let gw = gateway(&[first.provider_config("a"), b]);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Failed { .. }), "{err:?}");
}

#[tokio::test]
async fn a_half_open_breaker_lets_exactly_one_probe_through() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Status500);
    let mut cfg = fake.provider_config("main");
    cfg.max_attempts = 1;
    cfg.breaker_failures = 1;
    cfg.breaker_cooldown_secs = 1;
    let gw = std::sync::Arc::new(gateway(&[cfg]));
    assert!(gw.generate(&req("0"), Lane::Live, None).await.is_err());
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::Open));
    tokio::time::sleep(Duration::from_millis(1100)).await;

    fake.set_latency(Duration::from_millis(300));
    let tasks: Vec<_> = (0..3)
        .map(|i| {
            let gw = gw.clone();
            tokio::spawn(async move { gw.generate(&req(&i.to_string()), Lane::Live, None).await })
        })
        .collect();
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(LlmError::Unavailable { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (1, 2));
    assert_eq!(fake.calls(), 2, "the failure and the one probe");
    assert_eq!(gw.breaker_state("main"), Some(BreakerState::Closed));
}

#[tokio::test]
async fn a_huge_error_body_is_summarized_not_carried_along() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Raw {
        status: 502,
        content_type: "text/html".into(),
        body: "<p>bad gateway</p>".repeat(100_000),
    });
    let mut cfg = fake.provider_config("main");
    cfg.max_attempts = 1;
    let gw = gateway(&[cfg]);
    let err = gw
        .generate(&req("在吗"), Lane::Live, None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("HTTP 502") && text.contains("bad gateway"),
        "{text}"
    );
    assert!(text.chars().count() < 400, "{} chars", text.chars().count());
}

/// async-openai's default transport retries 429 and 5xx on its own (three times, honouring
/// Retry-After); the gateway replaces it so that every request is one of its attempts.
#[tokio::test]
async fn async_openai_built_in_retries_are_off() {
    for behaviour in [
        Behaviour::Status500,
        Behaviour::Status429 {
            retry_after_secs: Some(1),
        },
    ] {
        let fake = FakeProvider::start().await;
        fake.set_default(behaviour);
        let mut cfg = fake.provider_config("main");
        cfg.max_attempts = 1;
        let gw = gateway(&[cfg]);
        assert!(gw.generate(&req("在吗"), Lane::Live, None).await.is_err());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(fake.calls(), 1);
    }
}
