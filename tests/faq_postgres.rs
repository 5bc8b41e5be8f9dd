//! Two real `kefu faq generate` processes share one job on PostgreSQL (claims with
//! `FOR UPDATE SKIP LOCKED`): both work, and no question is generated twice. Skipped with a
//! notice when `KEFU_TEST_DATABASE_URL` is unset.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fake_provider::FakeProvider;
use support::pg;
use support::serve::{faq_questions as questions, kefu, wait_output};

/// "… N processed in this run …" from the summary line.
fn processed_in_run(stderr: &str) -> usize {
    let at = stderr.find(" processed in this run").expect("summary line");
    stderr[..at]
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_a_job_without_generating_any_question_twice() {
    let Some(base) = pg::base_url("the two-process PostgreSQL FAQ test") else {
        return;
    };
    let schema = pg::Schema::create(&base, "kefu_faq").await;
    let url = schema.url.clone();

    let fake = FakeProvider::start().await;
    // Slow enough that the second process is up (index built) while the first still works.
    fake.set_latency(Duration::from_millis(500));
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::app::test_config(&dir.path().join("data"));
    config.storage.database_url = Some(url);
    let mut p = fake.provider_config("fake");
    p.max_concurrency = 3;
    config.providers = vec![p];
    let cfg = dir.path().join("kefu.toml");
    std::fs::write(&cfg, toml::to_string(&config).unwrap()).unwrap();
    let input = dir.path().join("questions.csv");
    let csv: String = std::iter::once("question".to_string())
        .chain(questions())
        .map(|q| q + "\n")
        .collect();
    std::fs::write(&input, csv).unwrap();
    let (a_out, b_out) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    let input_s = input.to_str().unwrap();

    // A creates the job; B, started once A is sending, resumes the same job.
    let a = kefu(
        &cfg,
        &["faq", "generate", input_s, "--out", a_out.to_str().unwrap()],
    )
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.calls() < 1 {
        assert!(
            Instant::now() < deadline,
            "the first process never got going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b = kefu(
        &cfg,
        &["faq", "generate", input_s, "--out", b_out.to_str().unwrap()],
    )
    .spawn()
    .unwrap();
    let (a, b) = tokio::join!(wait_output(a), wait_output(b));
    let (a_err, b_err) = (
        String::from_utf8_lossy(&a.stderr).to_string(),
        String::from_utf8_lossy(&b.stderr).to_string(),
    );
    assert_eq!(a.status.code(), Some(0), "{a_err}");
    assert_eq!(b.status.code(), Some(0), "{b_err}");
    assert!(b_err.contains("resuming job"), "{b_err}");

    let bodies: Vec<String> = fake.requests().iter().map(|r| r.body.to_string()).collect();
    for q in questions() {
        let n = bodies.iter().filter(|b| b.contains(&q)).count();
        assert_eq!(n, 1, "{q} was sent {n} times");
    }
    assert_eq!(fake.calls(), questions().len());
    let (sent_a, sent_b) = (processed_in_run(&a_err), processed_in_run(&b_err));
    assert_eq!(sent_a + sent_b, questions().len());
    assert!(
        sent_a > 0 && sent_b > 0,
        "both processes worked: {sent_a} + {sent_b}"
    );

    // Both results files are complete and agree.
    let read = |p: &Path| -> Vec<Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (ra, rb) = (read(&a_out), read(&b_out));
    assert_eq!(ra.len(), questions().len());
    assert!(ra.iter().all(|l| l["status"] == "done"));
    let ids = |r: &[Value]| r.iter().map(|l| l["draft_id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&ra), ids(&rb));
    drop(schema);
}
