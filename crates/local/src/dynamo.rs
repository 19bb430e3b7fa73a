//! The embedded DynamoDB: dynoxide's HTTP server inside this process, on 127.0.0.1 and a port
//! the OS picks, stopped when dropped.

use crate::{LocalError, TableSpec};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use domain::ports::ConfigSeeder;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct EmbeddedDynamo {
    endpoint: String,
    db: dynoxide::Database,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), String>>>,
}

impl EmbeddedDynamo {
    /// An in-memory database (tests).
    pub async fn start_in_memory() -> Result<Self, LocalError> {
        let db = dynoxide::Database::memory().map_err(|e| LocalError::Dynamo(e.to_string()))?;
        Self::serve(db, "127.0.0.1:0").await
    }

    /// A database persisted in `path` (SQLite, WAL): survives restarts and crashes.
    pub async fn start_persistent(path: &std::path::Path, addr: &str) -> Result<Self, LocalError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let p = path
            .to_str()
            .ok_or_else(|| LocalError::Dynamo(format!("path is not UTF-8: {}", path.display())))?;
        let db = dynoxide::Database::new(p).map_err(|e| LocalError::Dynamo(e.to_string()))?;
        Self::serve(db, addr).await
    }

    async fn serve(db: dynoxide::Database, addr: &str) -> Result<Self, LocalError> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(dynoxide::server::serve_with_shutdown(
            listener,
            db.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(EmbeddedDynamo {
            endpoint,
            db,
            stop: Some(stop),
            server: Some(server),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The engine itself, for in-process calls the HTTP API lacks (TTL sweeps, stream reads).
    pub fn database(&self) -> &dynoxide::Database {
        &self.db
    }

    /// An SDK client pointed at this server (dummy credentials: dynoxide checks only their shape).
    pub fn client(&self) -> Client {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "local",
                "local",
                None,
                None,
                "local-stack",
            ))
            .endpoint_url(&self.endpoint)
            .build();
        Client::from_conf(conf)
    }

    /// Creates every table of `specs` (named by `name_of(logical_id)`) and seeds the config
    /// table. Both steps leave existing tables and rows alone.
    pub async fn provision(
        &self,
        specs: &[TableSpec],
        name_of: impl Fn(&str) -> String,
    ) -> Result<(), LocalError> {
        let client = self.client();
        for spec in specs {
            spec.create(&client, &name_of(&spec.logical_id)).await?;
        }
        if specs.iter().any(|s| s.logical_id == "ConfigTable") {
            seed_config(&client, &name_of("ConfigTable")).await?;
        }
        if specs.iter().any(|s| s.logical_id == "ProductsTable") {
            seed_catalog(&client, &name_of("ProductsTable")).await?;
        }
        Ok(())
    }

    /// Stops the server and waits for open connections to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for EmbeddedDynamo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Writes the catalogue seed's products (`domain::catalog::seed_products`: the menu's drinks and
/// the rest of the shop) that are not there yet.
async fn seed_catalog(client: &Client, table: &str) -> Result<(), LocalError> {
    let products =
        domain::catalog::seed_products().map_err(|e| LocalError::Template(e.to_string()))?;
    adapters::ProductTable::new(client.clone(), table)
        .seed_absent(&products)
        .await
        .map_err(|e| LocalError::Dynamo(e.to_string()))?;
    Ok(())
}

/// Writes the seed rows (`domain::seed`, shared with the deployed stack's `ConfigSeed`) that
/// are not there yet.
async fn seed_config(client: &Client, table: &str) -> Result<(), LocalError> {
    let seeder = adapters::ConfigTable::new(client.clone(), table);
    let rows = domain::seed::config_rows().map_err(|e| LocalError::Template(e.to_string()))?;
    for row in &rows {
        seeder
            .put_if_absent(row)
            .await
            .map_err(|e| LocalError::Dynamo(e.to_string()))?;
    }
    Ok(())
}
