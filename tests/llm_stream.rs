//! Streaming through the gateway: deltas, watchdogs, cut streams, cancellation.

mod support;

use std::time::{Duration, Instant};

use kefu::config::ProviderConfig;
use kefu::llm::{ChatRequest, Gateway, Generation, Lane, LlmError, Usage};
use support::fake_provider::{Behaviour, FakeProvider, DEFAULT_REPLY};
use tokio::sync::mpsc;

fn req() -> ChatRequest {
    ChatRequest {
        system: "你是客服。".into(),
        user: "什么时候发货？".into(),
        max_tokens: 200,
        temperature: 0.3,
    }
}

fn gateway(providers: &[ProviderConfig]) -> Gateway {
    Gateway::from_config_with_env(providers, |_| None)
}

/// Runs a streaming generation and collects what reached the listener.
async fn run(gw: &Gateway) -> (Result<Generation, LlmError>, Vec<String>) {
    let (tx, mut rx) = mpsc::channel(64);
    let collector = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(d) = rx.recv().await {
            got.push(d);
        }
        got
    });
    let result = gw.generate(&req(), Lane::Live, Some(tx)).await;
    (result, collector.await.unwrap())
}

#[tokio::test]
async fn deltas_arrive_as_streamed_and_the_whole_text_is_returned() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::OkStream {
        chunks: vec![
            "亲，".into(),
            "您好！".into(),
            "今天下单".into(),
            "明天发货。".into(),
        ],
        delay: Duration::from_millis(20),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (g, deltas) = run(&gw).await;
    let g = g.unwrap();
    assert_eq!(deltas, ["亲，", "您好！", "今天下单", "明天发货。"]);
    assert_eq!(g.text, "亲，您好！今天下单明天发货。");
    assert_eq!(g.attempts, 1);
    assert!(g.usage.is_some());
    assert_eq!(fake.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn the_first_delta_is_forwarded_before_the_stream_ends() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::OkStream {
        chunks: vec!["一".into(), "二".into(), "三".into()],
        delay: Duration::from_millis(300),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (tx, mut rx) = mpsc::channel(64);
    let started = Instant::now();
    let r = req();
    let gen = gw.generate(&r, Lane::Live, Some(tx));
    tokio::pin!(gen);
    let first = tokio::select! {
        d = rx.recv() => d,
        r = &mut gen => panic!("finished before the first delta: {r:?}"),
    };
    assert_eq!(first.as_deref(), Some("一"));
    assert!(
        started.elapsed() < Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
    let g = gen.await.unwrap();
    assert_eq!(g.text, "一二三");
}

#[tokio::test]
async fn a_slow_first_token_past_the_watchdog_is_retried_keepalives_do_not_count() {
    let fake = FakeProvider::start().await;
    // Headers at once, then keep-alive comments for 3 s before any token.
    fake.push(Behaviour::SlowFirstByte(Duration::from_secs(3)));
    let mut cfg = fake.provider_config("main");
    cfg.first_token_timeout_secs = 1;
    let gw = gateway(&[cfg]);
    let started = Instant::now();
    let (g, deltas) = run(&gw).await;
    let g = g.unwrap();
    let took = started.elapsed();
    assert_eq!(g.attempts, 2);
    assert_eq!(g.text, DEFAULT_REPLY);
    assert_eq!(deltas.concat(), DEFAULT_REPLY);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    assert!(fake.wait_abandoned(1, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_slow_first_token_within_the_watchdog_is_fine() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::SlowFirstByte(Duration::from_millis(500)));
    let gw = gateway(&[fake.provider_config("main")]);
    let (g, _) = run(&gw).await;
    assert_eq!(g.unwrap().attempts, 1);
}

#[tokio::test]
async fn a_hang_before_headers_trips_the_first_token_watchdog() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Hang);
    let mut cfg = fake.provider_config("main");
    cfg.first_token_timeout_secs = 1;
    cfg.max_attempts = 1;
    let gw = gateway(&[cfg]);
    let started = Instant::now();
    let (r, deltas) = run(&gw).await;
    let err = r.unwrap_err();
    assert!(err.to_string().contains("first-token"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1800));
    assert!(deltas.is_empty());
}

#[tokio::test]
async fn a_stream_cut_after_text_is_truncated_and_not_retried() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::StreamCut {
        chunks: vec!["亲，".into(), "这款".into()],
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (r, deltas) = run(&gw).await;
    let err = r.unwrap_err();
    assert!(matches!(err, LlmError::Truncated { .. }), "{err:?}");
    assert_eq!(deltas.concat(), "亲，这款");
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn a_stream_ending_cleanly_without_finish_reason_is_truncated() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Raw {
        status: 200,
        content_type: "text/event-stream".into(),
        body: "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"亲，\"}}]}\n\n".into(),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (r, _) = run(&gw).await;
    assert!(matches!(r, Err(LlmError::Truncated { .. })), "{r:?}");
}

#[tokio::test]
async fn a_stream_cut_before_any_text_is_retried() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::StreamCut { chunks: vec![] });
    let gw = gateway(&[fake.provider_config("main")]);
    let (g, deltas) = run(&gw).await;
    let g = g.unwrap();
    assert_eq!(g.attempts, 2);
    assert_eq!(
        deltas.concat(),
        DEFAULT_REPLY,
        "nothing from the cut attempt"
    );
}

#[tokio::test]
async fn an_error_sent_mid_stream_after_text_is_truncated() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::StreamError {
        chunks: vec!["亲，".into()],
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (r, _) = run(&gw).await;
    let err = r.unwrap_err();
    assert!(
        matches!(&err, LlmError::Truncated { detail } if detail.contains("upstream overloaded")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_error_sent_as_the_first_event_is_retried() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::StreamError { chunks: vec![] });
    let gw = gateway(&[fake.provider_config("main")]);
    let (g, _) = run(&gw).await;
    assert_eq!(g.unwrap().attempts, 2);
}

#[tokio::test]
async fn a_malformed_chunk_after_text_is_truncated() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::MalformedJson);
    let gw = gateway(&[fake.provider_config("main")]);
    let (r, _) = run(&gw).await;
    assert!(matches!(r, Err(LlmError::Truncated { .. })), "{r:?}");
}

#[tokio::test]
async fn reasoning_content_never_reaches_the_deltas_or_the_text() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::ReasoningContent {
        reasoning: "用户想知道发货时间，应先核对库存。".into(),
        text: "亲，现货48小时内发出～".into(),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (g, deltas) = run(&gw).await;
    let g = g.unwrap();
    assert_eq!(g.text, "亲，现货48小时内发出～");
    assert_eq!(deltas.concat(), g.text);
}

#[tokio::test]
async fn an_empty_streamed_completion_is_empty() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Empty);
    let gw = gateway(&[fake.provider_config("main")]);
    let (r, deltas) = run(&gw).await;
    assert!(matches!(r, Err(LlmError::Empty { .. })), "{r:?}");
    assert!(deltas.is_empty());
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn kimi_usage_inside_the_choice_and_unknown_fields_are_read() {
    let fake = FakeProvider::start().await;
    let body = [
        r#"data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"好的"},"finish_reason":null}],"service_tier":"unheard_of"}"#,
        r#"data: {"id":"1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":21,"completion_tokens":2,"total_tokens":23}}]}"#,
        "data: [DONE]",
    ]
    .join("\n\n")
        + "\n\n";
    fake.push(Behaviour::Raw {
        status: 200,
        content_type: "text/event-stream".into(),
        body,
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (g, _) = run(&gw).await;
    let g = g.unwrap();
    assert_eq!(g.text, "好的");
    assert_eq!(
        g.usage,
        Some(Usage {
            prompt_tokens: 21,
            completion_tokens: 2
        })
    );
}

#[tokio::test]
async fn the_whole_request_deadline_cuts_a_slow_stream() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::OkStream {
        chunks: (0..20).map(|i| format!("{i}。")).collect(),
        delay: Duration::from_millis(200),
    });
    let mut cfg = fake.provider_config("main");
    cfg.timeout_secs = 1;
    let gw = gateway(&[cfg]);
    let started = Instant::now();
    let (r, deltas) = run(&gw).await;
    assert!(matches!(r, Err(LlmError::Truncated { .. })), "{r:?}");
    assert!(!deltas.is_empty());
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(fake.wait_abandoned(1, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn dropping_the_future_closes_the_upstream_stream() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::OkStream {
        chunks: (0..20).map(|i| format!("{i}。")).collect(),
        delay: Duration::from_millis(200),
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (tx, mut rx) = mpsc::channel(64);
    {
        let r = req();
        let gen = gw.generate(&r, Lane::Live, Some(tx));
        tokio::pin!(gen);
        tokio::select! {
            d = rx.recv() => assert!(d.is_some()),
            r = &mut gen => panic!("finished early: {r:?}"),
        }
        // `gen` is dropped here, mid-stream.
    }
    assert!(fake.wait_abandoned(1, Duration::from_secs(2)).await);
    assert_eq!(fake.completed(), 0);
}

#[tokio::test]
async fn dropping_the_future_while_waiting_for_headers_closes_the_connection() {
    let fake = FakeProvider::start().await;
    fake.set_default(Behaviour::Hang);
    let gw = gateway(&[fake.provider_config("main")]);
    let (tx, _rx) = mpsc::channel(64);
    let r = tokio::time::timeout(
        Duration::from_millis(300),
        gw.generate(&req(), Lane::Live, Some(tx)),
    )
    .await;
    assert!(r.is_err(), "still waiting when dropped");
    assert!(fake.wait_abandoned(1, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn a_listener_that_goes_away_does_not_stop_the_generation() {
    let fake = FakeProvider::start().await;
    let gw = gateway(&[fake.provider_config("main")]);
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let g = gw.generate(&req(), Lane::Live, Some(tx)).await.unwrap();
    assert_eq!(g.text, DEFAULT_REPLY);
}

#[tokio::test]
async fn a_429_before_the_stream_starts_is_retried() {
    let fake = FakeProvider::start().await;
    fake.push(Behaviour::Status429 {
        retry_after_secs: None,
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (g, deltas) = run(&gw).await;
    assert_eq!(g.unwrap().attempts, 2);
    assert_eq!(deltas.concat(), DEFAULT_REPLY);
}

#[tokio::test]
async fn insufficient_system_resource_after_text_is_truncated() {
    let fake = FakeProvider::start().await;
    let body = [
        r#"data: {"choices":[{"index":0,"delta":{"content":"亲，"},"finish_reason":null}]}"#,
        r#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"insufficient_system_resource"}]}"#,
        "data: [DONE]",
    ]
    .join("\n\n")
        + "\n\n";
    fake.push(Behaviour::Raw {
        status: 200,
        content_type: "text/event-stream".into(),
        body,
    });
    let gw = gateway(&[fake.provider_config("main")]);
    let (r, _) = run(&gw).await;
    let err = r.unwrap_err();
    assert!(
        matches!(&err, LlmError::Truncated { detail } if detail.contains("insufficient_system_resource")),
        "{err:?}"
    );
}

#[tokio::test]
async fn reasoning_deltas_keep_the_first_token_watchdog_satisfied() {
    let fake = FakeProvider::start().await;
    let reasoning = |t: &str| {
        format!(
            r#"{{"choices":[{{"index":0,"delta":{{"content":null,"reasoning_content":"{t}"}},"finish_reason":null}}]}}"#
        )
    };
    let content = |t: &str, finish: &str| {
        format!(
            r#"{{"choices":[{{"index":0,"delta":{{"content":"{t}"}},"finish_reason":{finish}}}]}}"#
        )
    };
    let step = Duration::from_millis(400);
    fake.push(Behaviour::TimedEvents(vec![
        (step, reasoning("先看")),
        (step, reasoning("库存")),
        (step, reasoning("再答")),
        (step, content("亲，有货哦", "null")),
        (Duration::ZERO, content("", "\"stop\"")),
        (Duration::ZERO, "[DONE]".into()),
    ]));
    let mut cfg = fake.provider_config("main");
    cfg.first_token_timeout_secs = 1;
    let gw = gateway(&[cfg]);
    let (g, deltas) = run(&gw).await;
    let g = g.unwrap();
    assert_eq!((g.attempts, g.text.as_str()), (1, "亲，有货哦"));
    assert_eq!(deltas.concat(), "亲，有货哦");
}

#[tokio::test]
async fn a_pause_between_chunks_within_the_deadline_is_fine() {
    let fake = FakeProvider::start().await;
    let chunk = |t: &str, finish: &str| {
        format!(
            r#"{{"choices":[{{"index":0,"delta":{{"content":"{t}"}},"finish_reason":{finish}}}]}}"#
        )
    };
    fake.push(Behaviour::TimedEvents(vec![
        (Duration::ZERO, chunk("亲，", "null")),
        (Duration::from_millis(1500), chunk("在的", "\"stop\"")),
    ]));
    let mut cfg = fake.provider_config("main");
    cfg.first_token_timeout_secs = 1;
    let gw = gateway(&[cfg]);
    let (g, _) = run(&gw).await;
    assert_eq!(g.unwrap().text, "亲，在的");
}

#[tokio::test]
async fn a_listener_that_stops_reading_cannot_hold_the_request_past_its_deadline() {
    let fake = FakeProvider::start().await;
    let mut cfg = fake.provider_config("main");
    cfg.timeout_secs = 1;
    let gw = gateway(&[cfg]);
    // Room for one delta, and nobody reads it.
    let (tx, _rx) = mpsc::channel(1);
    let started = Instant::now();
    let r = gw.generate(&req(), Lane::Live, Some(tx)).await;
    assert!(matches!(r, Err(LlmError::Truncated { .. })), "{r:?}");
    assert!(started.elapsed() < Duration::from_millis(1500));
}
