//! `kefu faq generate` killed with SIGKILL mid-run and started again: no question reaches the
//! provider twice, none is lost, the results file is complete and valid. Questions that were
//! with the provider when the process died are answered from the knowledge (the default) or,
//! with the fallback off, reported `interrupted` and sent once more only on
//! `--retry-interrupted`.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fake_provider::FakeProvider;
use support::serve::{faq_questions as questions, kefu, wait_output};

/// A config file for the real binary: the repository's data, a fresh data folder, the fake.
fn write_config(dir: &Path, fake: &FakeProvider, extractive_fallback: bool) -> std::path::PathBuf {
    let mut config = support::app::test_config(&dir.join("data"));
    config.review.extractive_fallback = extractive_fallback;
    let mut p = fake.provider_config("fake");
    p.max_concurrency = 4;
    p.timeout_secs = 10;
    config.providers = vec![p];
    let path = dir.join("kefu.toml");
    std::fs::write(&path, toml::to_string(&config).expect("config as TOML")).unwrap();
    path
}

/// How many requests carried each question.
fn sent(fake: &FakeProvider) -> HashMap<String, usize> {
    let bodies: Vec<String> = fake.requests().iter().map(|r| r.body.to_string()).collect();
    questions()
        .into_iter()
        .map(|q| {
            let n = bodies.iter().filter(|b| b.contains(&q)).count();
            (q, n)
        })
        .collect()
}

/// [`sent`], asserting that no question was sent twice.
fn sent_at_most_once(fake: &FakeProvider) -> HashMap<String, usize> {
    let counts = sent(fake);
    assert!(
        counts.values().all(|&n| n <= 1),
        "no question sent twice: {counts:?}"
    );
    counts
}

fn read_results(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("results file");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines.len(), questions().len(), "one line per question");
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"], i as i64);
        assert_eq!(l["question"], questions()[i].as_str());
    }
    lines
}

/// A `kefu faq generate` run killed with SIGKILL once a third of the questions were sent,
/// then started again and left to finish.
struct Killed {
    fake: FakeProvider,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    args: Vec<String>,
    out: std::path::PathBuf,
    second: std::process::Output,
    calls_at_kill: usize,
}

async fn kill_midway_and_resume(extractive_fallback: bool) -> Killed {
    let fake = FakeProvider::start().await;
    fake.set_latency(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, extractive_fallback);
    let input = dir.path().join("questions.jsonl");
    let jsonl: String = questions()
        .iter()
        .map(|q| format!("{}\n", serde_json::json!({ "question": q })))
        .collect();
    std::fs::write(&input, jsonl).unwrap();
    let out = dir.path().join("answers.jsonl");
    let args: Vec<String> = [
        "faq",
        "generate",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--stale-after",
        "1",
    ]
    .map(String::from)
    .to_vec();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();

    let mut first = kefu(&config, &argv).spawn().expect("start kefu");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.calls() < 14 {
        assert!(Instant::now() < deadline, "the first run never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let calls_at_kill = fake.calls();
    assert!(!out.exists(), "no half-written results file");

    let second = wait_output(kefu(&config, &argv).spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("resuming job"), "{stderr}");
    assert!(fake.calls() >= calls_at_kill);
    Killed {
        fake,
        _dir: dir,
        config,
        args,
        out,
        second,
        calls_at_kill,
    }
}

impl Killed {
    fn argv(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// A further run: it must send nothing and exit 0.
    async fn rerun_sends_nothing(&self) {
        let before = self.fake.calls();
        let run = wait_output(kefu(&self.config, &self.argv()).spawn().unwrap()).await;
        assert_eq!(run.status.code(), Some(0));
        assert_eq!(self.fake.calls(), before);
    }
}

/// The default: the questions the kill caught with the provider are answered from the
/// knowledge on resume — not sent again, not lost — and say so in their result lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumes_without_sending_any_question_twice() {
    let k = kill_midway_and_resume(true).await;
    let stderr = String::from_utf8_lossy(&k.second.stderr);
    assert_eq!(k.second.status.code(), Some(0), "{stderr}");
    let lines = read_results(&k.out);
    assert!(
        lines.iter().all(|l| l["status"] == "done"),
        "every question is answered: {stderr}"
    );
    let (caught, model): (Vec<&Value>, Vec<&Value>) =
        lines.iter().partition(|l| l["note"].is_string());
    assert!(
        !caught.is_empty(),
        "the kill caught questions in flight: {stderr}"
    );
    assert!(caught.len() <= 4, "at most one per worker was in flight");
    assert!(stderr.contains("answered from the knowledge"), "{stderr}");
    let counts = sent_at_most_once(&k.fake);
    for l in &model {
        assert_eq!(counts[l["question"].as_str().unwrap()], 1, "{l}");
        assert_eq!(l["mode"], "model", "{l}");
        assert!(l["draft_id"].is_string() && l["answer"].is_string());
    }
    for l in &caught {
        assert_eq!(l["mode"], "extractive", "{l}");
        assert_eq!(l["draft_status"], "pending", "it waits for review: {l}");
        assert!(l["answer"].as_str().is_some_and(|a| !a.is_empty()), "{l}");
        assert!(l["note"]
            .as_str()
            .unwrap()
            .contains("instead of sending it twice"));
        assert_eq!(l["attempts"], 1, "claimed once, never re-sent: {l}");
    }
    let caught_sent = caught
        .iter()
        .filter(|l| counts[l["question"].as_str().unwrap()] == 1)
        .count();
    assert_eq!(k.fake.calls(), model.len() + caught_sent);
    assert!(k.calls_at_kill >= caught_sent);
    k.rerun_sends_nothing().await;
}

/// With `review.extractive_fallback` off the caught questions stay `interrupted` (exit 1);
/// `--retry-interrupted` sends exactly those once more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_without_fallback_reports_interrupted_and_retries_on_request() {
    let k = kill_midway_and_resume(false).await;
    let stderr = String::from_utf8_lossy(&k.second.stderr);
    let lines = read_results(&k.out);
    let done: Vec<&Value> = lines.iter().filter(|l| l["status"] == "done").collect();
    let interrupted: Vec<&Value> = lines
        .iter()
        .filter(|l| l["status"] == "interrupted")
        .collect();
    assert_eq!(
        done.len() + interrupted.len(),
        lines.len(),
        "every question is answered or reported interrupted: {stderr}"
    );
    assert!(
        interrupted.len() <= 4,
        "at most one per worker was in flight"
    );
    assert!(
        !interrupted.is_empty(),
        "the kill caught questions in flight: {stderr}"
    );
    let counts = sent_at_most_once(&k.fake);
    for l in &done {
        assert_eq!(counts[l["question"].as_str().unwrap()], 1, "{l}");
        assert!(l["draft_id"].is_string() && l["answer"].is_string());
        assert!(l["note"].is_null(), "{l}");
    }
    for l in &interrupted {
        assert!(l["error"].as_str().unwrap().contains("interrupted"));
        assert!(l["draft_id"].is_null(), "{l}");
    }
    assert_eq!(
        k.fake.calls(),
        done.len()
            + interrupted
                .iter()
                .filter(|l| counts[l["question"].as_str().unwrap()] == 1)
                .count(),
    );
    assert_eq!(k.second.status.code(), Some(1), "{stderr}");

    // --retry-interrupted sends exactly the interrupted ones once more.
    let before = k.fake.calls();
    let mut retry_args = k.argv();
    retry_args.push("--retry-interrupted");
    let third = wait_output(kefu(&k.config, &retry_args).spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert_eq!(third.status.code(), Some(0), "{stderr}");
    assert_eq!(k.fake.calls(), before + interrupted.len(), "{stderr}");
    let lines = read_results(&k.out);
    assert!(lines.iter().all(|l| l["status"] == "done"), "{lines:?}");
    for l in &interrupted {
        let seq = l["seq"].as_u64().unwrap() as usize;
        assert_eq!(lines[seq]["attempts"], 2, "a re-send is counted");
        assert_eq!(lines[seq]["mode"], "model");
    }
    k.rerun_sends_nothing().await;
}

/// SIGTERM (or Ctrl-C) drains: the questions already with the provider are answered and
/// recorded, nothing new is sent, and the next run finishes the job. Nothing is interrupted,
/// lost or sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_drains_and_resumes_with_nothing_lost_or_sent_twice() {
    let fake = FakeProvider::start().await;
    fake.set_latency(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, true);
    let input = dir.path().join("questions.csv");
    let csv: String = std::iter::once("question".to_string())
        .chain(questions())
        .map(|q| q + "\n")
        .collect();
    std::fs::write(&input, csv).unwrap();
    let out = dir.path().join("answers.jsonl");
    let args = [
        "faq",
        "generate",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];

    let first = kefu(&config, &args).spawn().expect("start kefu");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.calls() < 10 {
        assert!(Instant::now() < deadline, "the first run never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let term = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let first = wait_output(first).await;
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "unfinished: {stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");
    let lines = read_results(&out);
    assert!(
        lines.iter().all(|l| l["status"] != "interrupted"),
        "a drained stop interrupts nothing: {lines:?}"
    );
    let answered_first = lines.iter().filter(|l| l["status"] == "done").count();
    assert_eq!(
        answered_first,
        fake.calls(),
        "every question sent was recorded"
    );
    assert!(
        answered_first < questions().len(),
        "the stop came too late to prove anything"
    );

    let second = wait_output(kefu(&config, &args).spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    let lines = read_results(&out);
    assert!(lines.iter().all(|l| l["status"] == "done"), "{lines:?}");
    let counts = sent(&fake);
    assert!(
        counts.values().all(|&n| n == 1),
        "each question sent exactly once: {counts:?}"
    );
    assert_eq!(fake.calls(), questions().len());
}

/// `kefu serve` stopped with SIGTERM while a job uploaded over HTTP runs: the server answers
/// what it sent before exiting, resumes the job when it starts again, and the job ends with
/// every question answered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_job_drains_and_resumes_it_on_start() {
    let fake = FakeProvider::start().await;
    fake.set_latency(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &fake, true);
    let client = reqwest::Client::new();

    let first = support::serve::serve(&config);
    let body = serde_json::json!({ "questions": questions() });
    let r = client
        .post(format!("{}/v1/faq/jobs", first.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let job: Value = r.json().await.unwrap();
    let id = job["job"]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.calls() < 10 {
        assert!(Instant::now() < deadline, "the job never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = first.log.clone();
    let status = first.terminate();
    assert!(status.success(), "{status:?}: {}", log.lock().unwrap());
    let sent_before_restart = fake.calls();
    assert!(
        sent_before_restart < questions().len(),
        "the stop came too late"
    );

    let second = support::serve::serve(&config);
    let deadline = Instant::now() + Duration::from_secs(90);
    let progress = loop {
        let p: Value = client
            .get(format!("{}/v1/faq/jobs/{id}?results=true", second.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if p["job"]["status"] == "finished" {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "the job was not resumed: {p}\n{}",
            second.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let summary = &progress["summary"];
    assert_eq!(summary["interrupted"], 0, "{summary}");
    assert_eq!(summary["done"], questions().len(), "{summary}");
    let counts = sent(&fake);
    assert!(
        counts.values().all(|&n| n == 1),
        "each question sent exactly once: {counts:?}"
    );
    assert_eq!(fake.calls(), questions().len());
    second.terminate();
}
