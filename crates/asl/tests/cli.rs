//! Tests of the `asl` command-line runner.

use serde_json::{Value, json};
use std::process::Command;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn asl(dir: &std::path::Path, args: &[&str]) -> Out {
    let o = Command::new(env!("CARGO_BIN_EXE_asl"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn write(dir: &std::path::Path, name: &str, v: &str) {
    std::fs::write(dir.join(name), v).unwrap();
}

fn json_out(o: &Out) -> Value {
    assert_eq!(o.stdout.lines().count(), 1, "stdout: {}", o.stdout);
    serde_json::from_str(&o.stdout).unwrap()
}

#[test]
fn runs_with_stubs_waits_and_token_tasks() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "def.json",
        r#"{"StartAt":"Get","States":{
          "Get":{"Type":"Task","Resource":"${Fn}","ResultPath":"$.got","Next":"Wait"},
          "Wait":{"Type":"Wait","Seconds":86400,"Next":"Echo"},
          "Echo":{"Type":"Task","Resource":"arn:aws:lambda:echo","Parameters":{"n.$":"States.MathAdd($.n, 2)"},"ResultPath":"$.echo","Next":"Cb"},
          "Cb":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","HeartbeatSeconds":5,"ResultPath":"$.cb","End":true}}}"#,
    );
    write(d.path(), "in.json", r#"{"n": 1}"#);
    write(d.path(), "get.json", r#"{"price": 9.5}"#);
    write(d.path(), "cb.json", r#"["called", "back"]"#);
    let start = std::time::Instant::now();
    let o = asl(
        d.path(),
        &[
            "run",
            "def.json",
            "--input",
            "in.json",
            "--task",
            "Get=get.json",
            "--task",
            "Cb=cb.json",
            "--sub",
            "Fn=arn:aws:lambda:get",
        ],
    );
    assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    assert_eq!(
        json_out(&o),
        json!({"n": 1, "got": {"price": 9.5}, "echo": {"n": 3}, "cb": ["called", "back"]})
    );
    // The one-day wait was simulated.
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn task_failure_gives_error_document_and_exit_1() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "def.json",
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
            "Retry":[{"ErrorEquals":["Flaky"],"IntervalSeconds":3600,"MaxAttempts":2}]}}}"#,
    );
    write(
        d.path(),
        "err.json",
        r#"{"Error":"Flaky","Cause":"always"}"#,
    );
    let o = asl(d.path(), &["run", "def.json", "--task-fail", "T=err.json"]);
    assert_eq!(o.code, 1);
    assert_eq!(json_out(&o), json!({"Error": "Flaky", "Cause": "always"}));

    // A Fail state.
    write(
        d.path(),
        "fail.json",
        r#"{"StartAt":"F","States":{"F":{"Type":"Fail","Error":"E","Cause":"C"}}}"#,
    );
    let o = asl(d.path(), &["run", "fail.json"]);
    assert_eq!(o.code, 1);
    assert_eq!(json_out(&o), json!({"Error": "E", "Cause": "C"}));
}

#[test]
fn unstubbed_task_returns_its_input_and_default_input_is_empty_object() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "def.json",
        r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","Parameters":{"a":1},"End":true}}}"#,
    );
    let o = asl(d.path(), &["run", "def.json"]);
    assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    assert_eq!(json_out(&o), json!({"a": 1}));
}

#[test]
fn definition_errors_exit_2_with_message_on_stderr() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "def.json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}"#,
    );
    let o = asl(d.path(), &["run", "def.json"]);
    assert_eq!(o.code, 2);
    assert!(o.stdout.is_empty());
    assert!(o.stderr.contains("State 'A'"), "stderr: {}", o.stderr);
    // Undefined substitution.
    write(d.path(), "sub.json", r#"{"StartAt":"${X}","States":{}}"#);
    let o = asl(d.path(), &["run", "sub.json"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains('X'));
    // Usage errors.
    assert_eq!(asl(d.path(), &["run"]).code, 2);
    let help = asl(d.path(), &["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("--task-fail"));
}

#[test]
fn subcommand_help_and_bad_flag_values() {
    let d = tempfile::tempdir().unwrap();
    let help = asl(d.path(), &["run", "--help"]);
    assert_eq!(help.code, 0);
    for flag in ["--input", "--task", "--task-fail", "--sub", "--real-time"] {
        assert!(
            help.stdout.contains(flag),
            "missing {flag}: {}",
            help.stdout
        );
    }
    write(
        d.path(),
        "def.json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}"#,
    );
    // A stub without '=' is refused before anything runs.
    let o = asl(d.path(), &["run", "def.json", "--task", "A"]);
    assert_eq!(o.code, 2);
    assert!(o.stdout.is_empty());
    assert!(o.stderr.contains("NAME=VALUE"), "stderr: {}", o.stderr);
    // Unknown flags and commands are usage errors too.
    assert_eq!(asl(d.path(), &["run", "def.json", "--bogus"]).code, 2);
    assert_eq!(asl(d.path(), &["frobnicate", "def.json"]).code, 2);
    // validate checks without running.
    let o = asl(d.path(), &["validate", "def.json", "--sub", "X=1"]);
    assert_eq!(o.code, 0, "stderr: {}", o.stderr);
    assert_eq!(json_out(&o), json!({"valid": true}));
    write(
        d.path(),
        "bad.json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass"}}}"#,
    );
    let o = asl(d.path(), &["validate", "bad.json"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("State 'A'"), "stderr: {}", o.stderr);
}
