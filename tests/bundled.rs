//! An installed kefu started outside the project folder still has the demo shop, the prompts
//! and the rules: the copies compiled into the binary (src/bundled.rs).

use std::process::Command;

fn kefu(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefu"));
    cmd.current_dir(dir);
    // Only this test's settings: no provider, no config from the caller's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("KEFU_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn suggest_outside_the_project_folder_uses_the_bundled_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = kefu(dir.path())
        .args(["suggest", "亲 我买的空气炸锅什么时候发货呀", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for folder in ["knowledge", "prompts", "rules"] {
        assert!(
            dir.path().join("data/bundled").join(folder).is_dir(),
            "{folder} not written; stderr: {stderr}"
        );
        assert!(
            stderr.contains(&format!("no `{folder}` folder here")),
            "{stderr}"
        );
    }
    let draft: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !draft["sources"].as_array().unwrap().is_empty(),
        "the bundled knowledge answered nothing: {draft}"
    );

    // An edited copy is kept: a second run does not overwrite it.
    let readme = dir.path().join("data/bundled/rules/README.md");
    std::fs::write(&readme, "edited").unwrap();
    let again = kefu(dir.path())
        .args(["check", "全网最低价，假一赔十"])
        .output()
        .unwrap();
    // The bundled rules block it: exit 1 and a BLOCK line.
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stdout).starts_with("BLOCK"),
        "{again:?}"
    );
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), "edited");
}

#[test]
fn a_present_folder_wins_over_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/only.toml"),
        "[[rule]]\nid = \"shop.only\"\ncategory = \"absolute_terms\"\nseverity = \"block\"\nterms = [\"独家秘方\"]\nmessage = \"m\"\n",
    )
    .unwrap();
    let out = kefu(dir.path())
        .args(["check", "独家秘方", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("shop.only"), "{out:?}");
    assert!(!dir.path().join("data/bundled/rules").exists());
}

/// Regression: every command wrote all three bundled folders into the working directory, so
/// `kefu check` run anywhere left a demo shop and the prompts behind. Each writes what it reads.
#[test]
fn a_command_writes_only_the_bundled_folders_it_reads() {
    for (args, wanted) in [
        (vec!["check", "您好"], "rules"),
        (vec!["search", "发货", "-k", "1"], "knowledge"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = kefu(dir.path()).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        for folder in ["knowledge", "prompts", "rules"] {
            let written = dir.path().join("data/bundled").join(folder).exists();
            let noticed = stderr.contains(&format!("no `{folder}` folder here"));
            assert_eq!(written, folder == wanted, "{args:?} {folder}: {stderr}");
            assert_eq!(noticed, folder == wanted, "{args:?} {folder}: {stderr}");
        }
    }
}

/// `kefu check --file big.txt | head -1` panicked in `println!` once `head` had closed the pipe
/// (session 13): the reader going away must end the command quietly.
#[test]
fn check_stops_quietly_when_the_reader_closes_the_pipe() {
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("replies.txt");
    let lines = "亲，这款是我们店里卖得最好的一款，加我微信 abc12345 给您优惠\n".repeat(20_000);
    std::fs::write(&file, lines).expect("case file writes");
    let mut child = kefu(dir.path())
        .args(["check", "--file"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kefu starts");
    // Read one line, then hang up, as `head -1` does.
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout piped"));
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).expect("first line");
    assert!(first.starts_with("BLOCK"), "{first}");
    drop(stdout);
    let out = child.wait_with_output().expect("kefu ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Blocked texts were found before the pipe closed: exit code 1, not a panic's 101.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
}

/// The other printing commands (`kefu eval …`, `kefu index`) still panicked in `println!` when
/// the reader had gone away (session 13's note): a closed pipe must end them quietly, with the
/// exit code of the work itself.
#[test]
fn eval_and_index_stay_quiet_when_stdout_is_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(
        &cases,
        "{\"text\": \"亲，加我微信 abc12345 给您优惠\", \"expect\": \"block\"}\n{\"text\": \"亲，明天发货哦\", \"expect\": \"pass\"}\n",
    )
    .expect("case file writes");
    let runs: [&[&str]; 3] = [
        &["eval", "compliance", "--cases", "cases.jsonl"],
        &["eval", "compliance", "--cases", "cases.jsonl", "--json"],
        &["index"],
    ];
    for args in runs {
        let (code, stderr) = with_stdout_closed(dir.path(), args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
    // The one-time token is the exception: lost in a closed pipe, the command fails.
    let (code, stderr) = with_stdout_closed(
        dir.path(),
        &["token", "new", "--user", "lin", "--role", "agent"],
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the token"), "{stderr}");
}

/// Runs kefu with `args` in `dir`, its stdout a pipe whose read end is gone before kefu starts
/// (so its first write finds the pipe closed); the exit code and stderr.
fn with_stdout_closed(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = kefu(dir)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("kefu runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
