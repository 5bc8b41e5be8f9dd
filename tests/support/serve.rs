//! The real `kefu` binary as a child process: `kefu serve` started on a config file, its address
//! read from what it reports, everything it logs kept for the test to read; and one-shot
//! commands (`kefu faq generate …`) run to completion.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `kefu serve`, its address, and everything it has written to stderr so far.
pub struct Served {
    pub child: Child,
    pub base: String,
    pub log: Arc<Mutex<String>>,
}

pub fn serve(config: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        // As much logging as there is: none of it may carry a token or a phone number.
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kefu serve");
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split('/').next().unwrap_or_default().to_string();
                let _ = tx.send(addr);
            }
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|_| {
            panic!(
                "kefu serve never reported its address:\n{}",
                log.lock().unwrap()
            )
        });
    Served {
        child,
        base: format!("http://{addr}"),
        log,
    }
}

impl Served {
    /// SIGTERM, as a service manager stops it; waits for the exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for kefu serve")
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// `kefu --config CONFIG ARGS…` with stdout and stderr captured.
pub fn kefu(config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefu"));
    cmd.arg("--config").arg(config).args(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Waits (up to two minutes, off the async threads) for a command started with [`kefu`].
pub async fn wait_output(mut child: std::process::Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        while child.try_wait().expect("wait").is_none() {
            assert!(std::time::Instant::now() < deadline, "kefu did not finish");
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("output")
    })
    .await
    .unwrap()
}

/// The 40 distinct FAQ questions of the bulk-run process tests.
pub fn faq_questions() -> Vec<String> {
    distinct_questions(40)
}

/// `n` distinct FAQ questions (at most 100: 10 products × 10 aspects), none a duplicate of
/// another after normalization.
pub fn distinct_questions(n: usize) -> Vec<String> {
    const PRODUCTS: [&str; 10] = [
        "空气炸锅",
        "电饭煲",
        "破壁机",
        "电水壶",
        "加湿器",
        "吸尘器",
        "电风扇",
        "烤箱",
        "咖啡机",
        "榨汁杯",
    ];
    const ASPECTS: [&str; 10] = [
        "保修", "清洗", "噪音", "耗电", "包装", "颜色", "尺寸", "重量", "安装", "售后",
    ];
    assert!(n <= PRODUCTS.len() * ASPECTS.len(), "at most 100 questions");
    (0..n)
        .map(|i| format!("{}的{}怎么样", PRODUCTS[i % 10], ASPECTS[i / 10]))
        .collect()
}
