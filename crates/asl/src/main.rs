//! `asl`: run an ASL state machine definition from the command line.

use asl::{
    BoxFuture, Engine, EngineError, ExecutionStatus, TaskCall, TaskError, TaskHandler, TokioClock,
};
use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

const AFTER_HELP: &str = "\
.waitForTaskToken tasks complete immediately with their stub output (or input),
or fail with their --task-fail error.

Output: exactly one JSON document on stdout:
  success   the execution output, exit code 0
  failure   {\"Error\": \"...\", \"Cause\": \"...\"}, exit code 1
            (also for TIMED_OUT, with Error States.Timeout)
Invalid definition or usage: a message on stderr, exit code 2.";

/// asl - run an Amazon States Language state machine locally.
#[derive(Parser)]
#[command(name = "asl", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a state machine and prints its output (or its error).
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
    /// Checks a definition without running it; prints {"valid": true}.
    Validate(DefinitionArgs),
}

#[derive(Args)]
struct DefinitionArgs {
    /// The state machine definition (JSON).
    #[arg(value_name = "definition.json")]
    definition: PathBuf,
    /// DefinitionSubstitutions: replaces ${Name} with value.
    #[arg(long = "sub", value_name = "Name=value", value_parser = parse_pair)]
    subs: Vec<(String, String)>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    definition: DefinitionArgs,
    /// Execution input (default: {}).
    #[arg(long, value_name = "file.json")]
    input: Option<PathBuf>,
    /// The Task state named STATE returns the JSON in the file as its
    /// result (every time it runs, also inside Map/Parallel). Tasks without
    /// a stub return their input (after InputPath/Parameters) unchanged.
    #[arg(long = "task", value_name = "STATE=output.json", value_parser = parse_pair)]
    tasks: Vec<(String, String)>,
    /// The Task state named STATE fails with the error in the file:
    /// {"Error": "X", "Cause": "y"}.
    #[arg(long = "task-fail", value_name = "STATE=error.json", value_parser = parse_pair)]
    task_fails: Vec<(String, String)>,
    /// Really wait in Wait states, retries and timeouts (default: time is
    /// simulated and nothing sleeps).
    #[arg(long)]
    real_time: bool,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got '{s}'")),
    }
}

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

/// A failure before anything ran: reported on stderr with exit code 2.
struct UsageError(String);

fn read_json(path: &Path) -> Result<Value, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("{} is not valid JSON: {e}", path.display())))
}

/// Reads, substitutes and validates the definition.
fn load_definition(args: &DefinitionArgs) -> Result<String, UsageError> {
    let path = &args.definition;
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    let subs: HashMap<String, String> = args.subs.iter().cloned().collect();
    let text = asl::substitute(&text, &subs).map_err(|e| UsageError(e.to_string()))?;
    asl::parse_definition(&text).map_err(|e| UsageError(format!("invalid definition: {e}")))?;
    Ok(text)
}

fn load_stubs(args: &RunArgs) -> Result<HashMap<String, Stub>, UsageError> {
    let mut stubs = HashMap::new();
    for (state, file) in &args.tasks {
        stubs.insert(state.clone(), Stub::Output(read_json(Path::new(file))?));
    }
    for (state, file) in &args.task_fails {
        let v = read_json(Path::new(file))?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(error) = field("Error") else {
            return Err(UsageError(format!(
                "{file}: --task-fail needs {{\"Error\": ..., \"Cause\": ...}}"
            )));
        };
        stubs.insert(
            state.clone(),
            Stub::Fail(error, field("Cause").unwrap_or_default()),
        );
    }
    Ok(stubs)
}

/// Runs the execution to its end and prints the result.
fn run(args: &RunArgs) -> Result<ExitCode, UsageError> {
    let text = load_definition(&args.definition)?;
    let input = match &args.input {
        Some(p) => read_json(p)?,
        None => json!({}),
    };
    let stubs = load_stubs(args)?;
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
    let rt = rt.map_err(|e| UsageError(format!("cannot start runtime: {e}")))?;
    rt.block_on(execute(&text, input, stubs))
}

async fn execute(
    text: &str,
    input: Value,
    stubs: HashMap<String, Stub>,
) -> Result<ExitCode, UsageError> {
    let handler = Arc::new(CliHandler {
        stubs,
        engine: OnceLock::new(),
    });
    // The CLI never reads the history: it is not kept.
    let engine = Engine::builder(handler.clone())
        .clock(Arc::new(TokioClock::new()))
        .store(Arc::new(asl::MemoryStore::records_only()))
        .build();
    let _ = handler.engine.set(engine.clone());
    let run = async {
        let sm = engine.create_state_machine("cli", text)?;
        let arn = engine.start_execution(&sm, Some("cli-run"), input)?;
        engine.wait_for_execution(&arn).await
    };
    match run.await {
        Err(EngineError::InvalidDefinition(e)) => {
            Err(UsageError(format!("invalid definition: {e}")))
        }
        Err(e) => Err(UsageError(e.to_string())),
        Ok(d) if d.status == ExecutionStatus::Succeeded => {
            println!("{}", d.output.unwrap_or(Value::Null));
            Ok(ExitCode::SUCCESS)
        }
        Ok(d) => {
            println!(
                "{}",
                json!({"Error": d.error.unwrap_or_default(), "Cause": d.cause.unwrap_or_default()})
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn main() -> ExitCode {
    // clap prints help and usage errors itself (usage errors exit with 2).
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(args) => run(args),
        Command::Validate(args) => load_definition(args).map(|_| {
            println!("{}", json!({"valid": true}));
            ExitCode::SUCCESS
        }),
    };
    result.unwrap_or_else(|UsageError(msg)| {
        eprintln!("asl: {msg}");
        ExitCode::from(2)
    })
}
