//! `coffee-local`: run the whole backend on this machine.
//!
//! ```text
//! coffee-local up [--port 3000] [--data-dir .local-data] [--in-memory] [--time-scale 1]
//!                  [--mqtt-port 1883] [--mqtt-ws-port 9001]
//! coffee-local token <user> [--admin] [--data-dir .local-data]
//! ```

use local_stack::mqtt::MqttBroker;
use local_stack::{Stack, StackOptions, auth_key, serve};
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage:
  coffee-local up [--port 3000] [--data-dir .local-data] [--in-memory] [--time-scale 1] [--dynamo-port 0]
                  [--mqtt-port 1883] [--mqtt-ws-port 9001]
      Starts every service on 127.0.0.1: the API on --port, DynamoDB on --dynamo-port (0: any free port),
      the realtime MQTT broker on --mqtt-port (TCP) and --mqtt-ws-port (WebSocket, path /mqtt).
      --time-scale 0.01 makes the workflow's waits and timeouts 100 times shorter.
      --in-memory keeps nothing (the default keeps state in --data-dir across restarts).
  coffee-local token <user> [--admin] [--data-dir .local-data]
      Prints a bearer token for <user> (a member of the admin group with --admin), valid 12 hours.";

struct Args {
    words: Vec<String>,
}

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        let found = self.words.iter().position(|w| w == name);
        if let Some(i) = found {
            self.words.remove(i);
        }
        found.is_some()
    }

    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(i) = self.words.iter().position(|w| w == name) else {
            return Ok(None);
        };
        if i + 1 >= self.words.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = self.words.remove(i + 1);
        self.words.remove(i);
        Ok(Some(v))
    }

    fn parsed<T: std::str::FromStr>(&mut self, name: &str, default: T) -> Result<T, String> {
        match self.value(name)? {
            Some(v) => v.parse().map_err(|_| format!("{name}: '{v}' is not valid")),
            None => Ok(default),
        }
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("coffee-local: {e}\n\n{USAGE}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), String> {
    let mut args = Args {
        words: std::env::args().skip(1).collect(),
    };
    let command = if args.words.is_empty() {
        String::new()
    } else {
        args.words.remove(0)
    };
    let data_dir = PathBuf::from(
        args.value("--data-dir")?
            .unwrap_or_else(|| ".local-data".to_owned()),
    );
    match command.as_str() {
        "up" => {
            let port: u16 = args.parsed("--port", 3000)?;
            let dynamo_port: u16 = args.parsed("--dynamo-port", 0)?;
            let mqtt_port: u16 = args.parsed("--mqtt-port", 1883)?;
            let mqtt_ws_port: u16 = args.parsed("--mqtt-ws-port", 9001)?;
            let time_scale: f64 = args.parsed("--time-scale", 1.0)?;
            let in_memory = args.flag("--in-memory");
            if !args.words.is_empty() {
                return Err(format!("unexpected arguments: {:?}", args.words));
            }
            if !(time_scale.is_finite() && time_scale > 0.0) {
                return Err("--time-scale must be a positive number".into());
            }
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
            let mqtt = MqttBroker::start(
                ([127, 0, 0, 1], mqtt_port).into(),
                ([127, 0, 0, 1], mqtt_ws_port).into(),
                &stack.hub.realtime,
            )?;
            println!("coffee-local is up");
            println!("  API       http://{addr}   (also under /Prod, as in AWS)");
            println!(
                "  DynamoDB  {}   (any AWS SDK or CLI, dummy credentials)",
                stack.dynamo.endpoint()
            );
            println!(
                "  MQTT      mqtt://{}   {}   (realtime topics, no authentication)",
                mqtt.tcp_addr,
                mqtt.ws_url()
            );
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
                "  tokens    cargo run -p local-stack -- token alice   (add --admin for a barista)"
            );
            let server = serve(listener, &stack, &key);
            tokio::select! {
                r = server => r.map_err(|e| e.to_string())?,
                _ = tokio::signal::ctrl_c() => println!("stopping"),
            }
            stack.stop().await;
            Ok(())
        }
        "token" => {
            let admin = args.flag("--admin");
            let user = args
                .words
                .first()
                .cloned()
                .ok_or("token needs a user name")?;
            let key = auth_key(&data_dir).map_err(|e| e.to_string())?;
            let groups: &[&str] = if admin { &["admin"] } else { &[] };
            let token = key
                .mint(&user, groups, Duration::from_secs(12 * 3600))
                .map_err(|e| e.to_string())?;
            println!("{token}");
            Ok(())
        }
        "" | "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command '{other}'")),
    }
}
