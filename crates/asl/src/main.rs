//! `asl`: run an ASL state machine definition from the command line.

use asl::{
    BoxFuture, Engine, EngineError, ExecutionStatus, TaskCall, TaskError, TaskHandler, TokioClock,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

const HELP: &str = "\
asl - run an Amazon States Language state machine locally

USAGE:
    asl run <definition.json> [OPTIONS]
    asl validate <definition.json> [--sub Name=value ...]

OPTIONS:
    --input <file.json>            Execution input (default: {})
    --task STATE=<output.json>     The Task state named STATE returns the JSON in the
                                   file as its result (every time it runs, also
                                   inside Map/Parallel). Tasks without a stub return
                                   their input (after InputPath/Parameters) unchanged.
    --task-fail STATE=<error.json> The Task state named STATE fails with the error in
                                   the file: {\"Error\": \"X\", \"Cause\": \"y\"}.
    --sub Name=value               DefinitionSubstitutions: replaces ${Name}.
    --real-time                    Really wait in Wait states, retries and timeouts
                                   (default: time is simulated and nothing sleeps).
    -h, --help                     Show this help.

.waitForTaskToken tasks complete immediately with their stub output (or input),
or fail with their --task-fail error.

OUTPUT:
    Exactly one JSON document on stdout:
      success           the execution output, exit code 0
      failure           {\"Error\": \"...\", \"Cause\": \"...\"}, exit code 1
                        (also for TIMED_OUT, with Error States.Timeout)
    Invalid definition or usage: a message on stderr, exit code 2.
";

enum Stub {
    Output(Value),
    Fail(String, String),
}

struct CliHandler {
    stubs: HashMap<String, Stub>,
    engine: OnceLock<Engine>,
}

impl TaskHandler for CliHandler {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'static, Result<Value, TaskError>> {
        let result = match self.stubs.get(&call.state_name) {
            Some(Stub::Output(v)) => Ok(v.clone()),
            Some(Stub::Fail(e, c)) => Err(TaskError::new(e.clone(), c.clone())),
            None => Ok(call.input.clone()),
        };
        if let (Some(token), Some(engine)) = (&call.task_token, self.engine.get()) {
            // Complete the callback right away; the token is registered
            // before the handler is called, so this cannot be lost.
            let sent = match result {
                Ok(v) => engine.send_task_success(token, v),
                Err(e) => engine.send_task_failure(token, Some(&e.error), Some(&e.cause)),
            };
            return Box::pin(async move {
                sent.map(|_| Value::Null)
                    .map_err(|e| TaskError::new("States.Runtime", e.to_string()))
            });
        }
        Box::pin(async move { result })
    }
}

struct Args {
    command: String,
    definition: String,
    input: Option<String>,
    tasks: Vec<(String, String)>,
    task_fails: Vec<(String, String)>,
    subs: HashMap<String, String>,
    real_time: bool,
}

fn split_kv(s: &str, flag: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{flag} expects NAME=VALUE, got '{s}'"))
}

fn parse_args(argv: Vec<String>) -> Result<Option<Args>, String> {
    let mut it = argv.into_iter();
    let mut command = None;
    let mut definition = None;
    let mut a = Args {
        command: String::new(),
        definition: String::new(),
        input: None,
        tasks: Vec::new(),
        task_fails: Vec::new(),
        subs: HashMap::new(),
        real_time: false,
    };
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--input" => a.input = Some(value("--input")?),
            "--task" => a.tasks.push(split_kv(&value("--task")?, "--task")?),
            "--task-fail" => a
                .task_fails
                .push(split_kv(&value("--task-fail")?, "--task-fail")?),
            "--sub" => {
                let (k, v) = split_kv(&value("--sub")?, "--sub")?;
                a.subs.insert(k, v);
            }
            "--real-time" => a.real_time = true,
            s if s.starts_with('-') => return Err(format!("unknown option '{s}'")),
            s if command.is_none() => command = Some(s.to_string()),
            s if definition.is_none() => definition = Some(s.to_string()),
            s => return Err(format!("unexpected argument '{s}'")),
        }
    }
    a.command = command.ok_or("missing command (run or validate)")?;
    if a.command != "run" && a.command != "validate" {
        return Err(format!("unknown command '{}'", a.command));
    }
    a.definition = definition.ok_or("missing <definition.json>")?;
    Ok(Some(a))
}

fn read_json(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path} is not valid JSON: {e}"))
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("asl: {msg}\n\nRun 'asl --help' for usage.");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect()) {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return usage_error(&e),
    };
    let text = match std::fs::read_to_string(&args.definition) {
        Ok(t) => t,
        Err(e) => return usage_error(&format!("cannot read {}: {e}", args.definition)),
    };
    let text = match asl::substitute(&text, &args.subs) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("asl: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = asl::parse_definition(&text) {
        eprintln!("asl: invalid definition: {e}");
        return ExitCode::from(2);
    }
    if args.command == "validate" {
        println!("{}", json!({"valid": true}));
        return ExitCode::SUCCESS;
    }
    let input = match &args.input {
        Some(p) => match read_json(p) {
            Ok(v) => v,
            Err(e) => return usage_error(&e),
        },
        None => json!({}),
    };
    let mut stubs = HashMap::new();
    for (state, file) in &args.tasks {
        match read_json(file) {
            Ok(v) => stubs.insert(state.clone(), Stub::Output(v)),
            Err(e) => return usage_error(&e),
        };
    }
    for (state, file) in &args.task_fails {
        let v = match read_json(file) {
            Ok(v) => v,
            Err(e) => return usage_error(&e),
        };
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(error) = field("Error") else {
            return usage_error(&format!(
                "{file}: --task-fail needs {{\"Error\": ..., \"Cause\": ...}}"
            ));
        };
        stubs.insert(
            state.clone(),
            Stub::Fail(error, field("Cause").unwrap_or_default()),
        );
    }
    // Simulated time: a paused current-thread runtime auto-advances the
    // clock whenever everything is waiting on a timer.
    let rt = if args.real_time {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => return usage_error(&format!("cannot start runtime: {e}")),
    };
    rt.block_on(async move {
        let handler = Arc::new(CliHandler {
            stubs,
            engine: OnceLock::new(),
        });
        let engine = Engine::builder(handler.clone())
            .clock(Arc::new(TokioClock::new()))
            .build();
        let _ = handler.engine.set(engine.clone());
        let run = async {
            let sm = engine.create_state_machine("cli", &text)?;
            let arn = engine.start_execution(&sm, Some("cli-run"), input)?;
            engine.wait_for_execution(&arn).await
        };
        match run.await {
            Err(EngineError::InvalidDefinition(e)) => {
                eprintln!("asl: invalid definition: {e}");
                ExitCode::from(2)
            }
            Err(e) => {
                eprintln!("asl: {e}");
                ExitCode::from(2)
            }
            Ok(d) if d.status == ExecutionStatus::Succeeded => {
                println!("{}", d.output.unwrap_or(Value::Null));
                ExitCode::SUCCESS
            }
            Ok(d) => {
                println!(
                    "{}",
                    json!({"Error": d.error.unwrap_or_default(), "Cause": d.cause.unwrap_or_default()})
                );
                ExitCode::from(1)
            }
        }
    })
}
