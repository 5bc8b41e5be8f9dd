//! Measures bulk FAQ generation against a fake provider that enforces a quota and answers in
//! 200–800 ms (uniformly random): how much of the quota is used and how many 429s are seen.
//!
//! ```text
//! cargo run --example faq_bulk -- [QUESTIONS=1000] [QUOTA_RPM=600] [CONFIG_RPM=QUOTA_RPM]
//! ```
//!
//! The baseline is the quota itself: QUESTIONS at exactly QUOTA_RPM would take
//! QUESTIONS / QUOTA_RPM minutes; the ratio reported is achieved rate / quota.

#[allow(dead_code)]
#[path = "../tests/support/fake_provider.rs"]
mod fake_provider;

use std::time::{Duration, Instant};

use fake_provider::{Behaviour, FakeProvider};
use kefu::app::App;
use kefu::config::Config;
use kefu::drafts::{Actor, Role};
use kefu::faq::{self, Question, RunOptions};
use rand::Rng;

#[tokio::main]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numeric arguments"))
        .collect();
    let n = args.first().copied().unwrap_or(1000) as usize;
    let quota = args.get(1).copied().unwrap_or(600) as usize;
    let config_rpm = args.get(2).copied().unwrap_or(quota as u64) as u32;

    let fake = FakeProvider::start().await;
    fake.set_quota(quota, Duration::from_secs(60));
    let mut rng = rand::thread_rng();
    fake.script(
        (0..n * 2)
            .map(|_| Behaviour::SlowFirstByte(Duration::from_millis(rng.gen_range(200..=800)))),
    );

    let data = tempfile_dir();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut config = Config::default();
    config.storage.data_dir = data.clone();
    config.knowledge.dir = root.join("knowledge");
    config.prompts.dir = root.join("prompts");
    config.rules.dir = root.join("rules");
    let mut p = fake.provider_config("fake");
    p.rpm = config_rpm;
    p.max_concurrency = 16;
    p.timeout_secs = 30;
    config.providers = vec![p];
    let (app, _) = App::build(config).await.expect("app builds");

    let products = ["空气炸锅", "电饭煲", "破壁机", "电水壶", "加湿器"];
    let questions: Vec<Question> = (0..n)
        .map(|i| Question {
            question: format!("{}型号{}的保修怎么算", products[i % products.len()], i),
            platform: None,
            sku: None,
        })
        .collect();
    let actor = Actor {
        name: "bench".into(),
        role: Role::Reviewer,
    };
    let job = faq::create_job(&app, &questions, "bench", "bench", &actor)
        .await
        .expect("job");
    let workers = faq::default_workers(&app);
    let started = Instant::now();
    let report = faq::run_job(&app, &job.id, &RunOptions::default(), &|_| {})
        .await
        .expect("run");
    let elapsed = started.elapsed().as_secs_f64();

    let reqs = fake.requests();
    let first = reqs.first().map(|r| r.at).expect("requests");
    let last = reqs.last().map(|r| r.at).expect("requests");
    let span = last.duration_since(first).as_secs_f64();
    let accepted = reqs.len() - fake.quota_rejections();
    // n requests span n-1 intervals
    let achieved_rpm = (accepted.saturating_sub(1)) as f64 / span * 60.0;
    let ideal_secs = n as f64 / quota as f64 * 60.0;
    println!("questions            {n}");
    println!("quota (fake)         {quota} requests / 60 s sliding window");
    println!("gateway rpm          {config_rpm}, max_concurrency 16, workers {workers}");
    println!("latency              200-800 ms uniform");
    println!(
        "done / failed        {} / {}",
        report.progress.counts.done, report.progress.counts.failed
    );
    println!(
        "provider requests    {} (429: {})",
        reqs.len(),
        fake.quota_rejections()
    );
    println!("wall time            {elapsed:.1} s (first→last request {span:.1} s)");
    println!("baseline (at quota)  {ideal_secs:.1} s");
    println!("achieved rate        {achieved_rpm:.1} rpm");
    println!(
        "quota used           {:.1} %",
        achieved_rpm / quota as f64 * 100.0
    );
    println!("wall time / baseline {:.3}", elapsed / ideal_secs);
    app.store.close().await;
    let _ = std::fs::remove_dir_all(&data);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kefu-faq-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
