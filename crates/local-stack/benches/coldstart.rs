//! Lambda cold start: the time from exec to the first
//! `GET /2018-06-01/runtime/invocation/next`, for each function's binary and
//! for a hello-world `lambda_runtime` binary (`examples/hello_lambda.rs`),
//! against a loopback Runtime API. Run through `benches/coldstart.sh`, which
//! builds the binaries and sets `COLDSTART_BIN_DIR` and
//! `COLDSTART_FUNCTIONS`; without them this prints how and stops.
//!
//! The environment is what Lambda sets (region, static session credentials,
//! function name, ...) plus the functions' own variables, with no home
//! directory and no `AWS_ENDPOINT_URL`, as in AWS.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RUNS: usize = 30;
const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";

/// The functions' own variables (dummy values: nothing is called before
/// the first poll).
const APP_ENV: &[(&str, &str)] = &[
    ("CONFIG_TABLE", "config"),
    ("COUNTING_TABLE", "counting"),
    ("EVENT_BUS_NAME", "bus"),
    (
        "IOT_DATA_ENDPOINT",
        "https://example-ats.iot.us-east-1.amazonaws.com",
    ),
    ("ORDERS_API_TABLE", "orders-api"),
    ("ORDER_TABLE", "orders"),
    (
        "STATE_MACHINE_ARN",
        "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
    ),
    ("VALIDATOR_TABLE", "validator"),
];

/// Starts `bin` and returns the time until it polls for its first event.
fn cold_start(bin: &Path, listener: &TcpListener) -> Result<Duration, String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (tx, rx) = mpsc::channel();
    let accept = listener.try_clone().map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        // Accept until the first `next` poll (the runtime makes no other
        // request before it).
        while let Ok((stream, _)) = accept.accept() {
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            if line.starts_with(NEXT) {
                let _ = tx.send((Instant::now(), stream));
                return;
            }
        }
    });
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "ASIABENCHBENCHBENCH0")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_SESSION_TOKEN", "bench-token")
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .envs(APP_ENV.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let polled = rx.recv_timeout(Duration::from_secs(10));
    let _ = child.kill();
    let _ = child.wait();
    match polled {
        Ok((at, _stream)) => Ok(at - start),
        Err(_) => Err(format!(
            "{} never polled for an event (exited early?)",
            bin.display()
        )),
    }
}

/// Median and 90th percentile of `RUNS` cold starts, in ms.
fn measure(bin: &Path, listener: &TcpListener) -> Result<(f64, f64), String> {
    // One unmeasured run loads the binary into the page cache.
    cold_start(bin, listener)?;
    let mut ms = (0..RUNS)
        .map(|_| cold_start(bin, listener).map(|d| d.as_secs_f64() * 1e3))
        .collect::<Result<Vec<f64>, String>>()?;
    ms.sort_by(f64::total_cmp);
    Ok((ms[RUNS / 2], ms[RUNS * 9 / 10]))
}

fn main() {
    let (Ok(dir), Ok(functions)) = (
        std::env::var("COLDSTART_BIN_DIR"),
        std::env::var("COLDSTART_FUNCTIONS"),
    ) else {
        println!(
            "cold start: run crates/local-stack/benches/coldstart.sh (it builds the binaries)"
        );
        return;
    };
    let dir = PathBuf::from(dir);
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback listener");
    let hello = dir.join("examples").join("hello_lambda");
    let (hello_p50, hello_p90) = measure(&hello, &listener).expect("hello world");
    println!("cold start, exec to first `next` poll, median (p90) of {RUNS} runs");
    println!(
        "{:<20} {:>8.2} ms ({:>5.2})",
        "hello world", hello_p50, hello_p90
    );
    for f in functions.split_whitespace() {
        match measure(&dir.join(f), &listener) {
            Ok((p50, p90)) => println!(
                "{f:<20} {p50:>8.2} ms ({p90:>5.2})  {:.1}x hello world",
                p50 / hello_p50
            ),
            Err(e) => println!("{f:<20} failed: {e}"),
        }
    }
}
