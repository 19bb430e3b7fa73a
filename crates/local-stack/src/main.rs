//! `coffee-local`: run the whole backend on this machine.
//!
//! ```text
//! coffee-local up [--port 3000] [--data-dir .local-data] [--in-memory] [--time-scale 1]
//!                  [--dynamo-port 0] [--mqtt-port 1883] [--mqtt-ws-port 9001]
//! coffee-local token <user> [--admin]
//! coffee-local token <client> --store <store_id>...
//! ```
//! `coffee-local --help` and `coffee-local <command> --help` describe every flag.

use clap::{Args, Parser, Subcommand};
use domain::orders_api::{STORE_SCOPE_PREFIX, STORES_SCOPE};
use local::gateway::Throttle;
use local_stack::mqtt::MqttBroker;
use local_stack::{Stack, StackOptions, auth_key, serve};
use std::path::PathBuf;
use std::time::Duration;

/// Run the whole coffee-order backend on this machine, with no AWS account and no Docker.
#[derive(Parser)]
#[command(name = "coffee-local", version, about)]
struct Cli {
    /// Where state is kept (DynamoDB file, queue, workflow checkpoints, outboxes, signing key).
    #[arg(long, global = true, default_value = ".local-data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service on 127.0.0.1: the API, DynamoDB, the workflow, the queue, the bus
    /// and the realtime MQTT broker.
    Up(UpArgs),
    /// Print a bearer token (valid 12 hours) for a customer, a barista (--admin) or a store's
    /// system (--store).
    Token(TokenArgs),
}

#[derive(Args)]
struct UpArgs {
    /// Port of the API.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Port of the embedded DynamoDB (0: any free port).
    #[arg(long, default_value_t = 0)]
    dynamo_port: u16,
    /// Port of the MQTT broker (TCP).
    #[arg(long, default_value_t = 1883)]
    mqtt_port: u16,
    /// Port of the MQTT broker's WebSocket listener (path /mqtt).
    #[arg(long, default_value_t = 9001)]
    mqtt_ws_port: u16,
    /// Multiplies the workflow's waits and timeouts: 0.01 makes them 100 times shorter.
    #[arg(long, default_value_t = 1.0, value_parser = positive_scale)]
    time_scale: f64,
    /// Keep nothing (the default keeps state in --data-dir across restarts).
    #[arg(long)]
    in_memory: bool,
    /// Lift the template's API throttling (for fuzzing and load tests; AWS throttles).
    #[arg(long)]
    unthrottled: bool,
}

#[derive(Args)]
struct TokenArgs {
    /// The user (the token's sub) or, with --store, the store system's app client id.
    name: String,
    /// A member of the admin group (a barista).
    #[arg(long, conflicts_with = "store")]
    admin: bool,
    /// A store's system (client-credentials token) allowed to act for this store in the orders
    /// API; repeat for several stores.
    #[arg(long = "store", value_name = "STORE_ID")]
    store: Vec<String>,
}

fn positive_scale(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("'{v}' is not a positive number")),
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up(args, cli.data_dir).await,
        Command::Token(args) => token(args, &cli.data_dir),
    };
    if let Err(e) = result {
        eprintln!("coffee-local: {e}");
        std::process::exit(1);
    }
}

/// The scopes of a store system's token: the orders API's and one per store.
fn store_scopes(stores: &[String]) -> Vec<String> {
    std::iter::once(STORES_SCOPE.to_owned())
        .chain(stores.iter().map(|s| format!("{STORE_SCOPE_PREFIX}{s}")))
        .collect()
}

fn token(args: TokenArgs, data_dir: &std::path::Path) -> Result<(), String> {
    let key = auth_key(data_dir).map_err(|e| e.to_string())?;
    let ttl = Duration::from_secs(12 * 3600);
    let claims = if args.store.is_empty() {
        let groups: &[&str] = if args.admin { &["admin"] } else { &[] };
        key.claims(&args.name, groups, ttl)
    } else {
        key.client_claims(&args.name, &store_scopes(&args.store), ttl)
    };
    println!("{}", key.sign(&claims).map_err(|e| e.to_string())?);
    Ok(())
}

async fn up(args: UpArgs, data_dir: PathBuf) -> Result<(), String> {
    let UpArgs {
        port,
        dynamo_port,
        mqtt_port,
        mqtt_ws_port,
        time_scale,
        in_memory,
        unthrottled,
    } = args;
    local_stack::init_logging();
    let options = StackOptions {
        data_dir: (!in_memory).then(|| data_dir.clone()),
        time_scale,
        dynamo_addr: format!("127.0.0.1:{dynamo_port}"),
    };
    let stack = Stack::start(options).await.map_err(|e| e.to_string())?;
    let key = auth_key(&data_dir).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // After the stack, so that the realtime log it forwards exists.
    // Only holders of a local token (as the MQTT password) may connect.
    let mqtt = MqttBroker::start_authenticated(
        ([127, 0, 0, 1], mqtt_port).into(),
        ([127, 0, 0, 1], mqtt_ws_port).into(),
        &stack.hub.realtime,
        key.clone(),
    )?;
    println!("coffee-local is up");
    println!("  API       http://{addr}   (also under /Prod, as in AWS)");
    println!(
        "  DynamoDB  {}   (any AWS SDK or CLI, dummy credentials)",
        stack.dynamo.endpoint()
    );
    println!(
        "  MQTT      mqtt://{}   {}   (realtime topics; MQTT password: a token)",
        mqtt.tcp_addr,
        mqtt.ws_url()
    );
    println!("  docs      http://{addr}/docs   (the API: routes, auth, parameters, bodies)");
    println!(
        "  local     http://{addr}/local/notifications, /local/realtime, /local/orders/<id>/execution"
    );
    println!(
        "  state     {}",
        if in_memory {
            "in memory".to_owned()
        } else {
            data_dir.display().to_string()
        }
    );
    println!(
        "  tokens    cargo run -p local-stack -- token alice   (--admin: a barista; --store store01: a store's system)"
    );
    let unlimited = Throttle {
        rate_per_second: f64::MAX,
        burst: u32::MAX,
    };
    let server = serve(listener, &stack, &key, unthrottled.then_some(unlimited));
    tokio::select! {
        r = server => r.map_err(|e| e.to_string())?,
        _ = tokio::signal::ctrl_c() => println!("stopping"),
    }
    stack.stop().await;
    Ok(())
}
