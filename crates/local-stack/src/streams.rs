//! Table streams delivered to the functions the template subscribes, like Lambda's DynamoDB
//! event source mapping: batches in order, a failed batch (or a reported failed item) retried
//! from where it failed, so later changes never overtake it.
//!
//! With a data directory the position survives a restart (a cursor file per table, written
//! after each delivered batch): a row written just before a crash is delivered after the
//! restart, as the 24-hour stream retention guarantees in AWS. An orders-API order depends on
//! it, since its new row is what starts its workflow.

use crate::hub::Hub;
use local::template::EventSource;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long an idle stream reader waits before looking again.
const POLL_IDLE: Duration = Duration::from_millis(50);
/// A cursor that says "from the stream's beginning" (it was empty when first opened).
const FROM_START: &str = "TRIM_HORIZON";

/// Where a table's stream was read up to: `<data dir>/streams/<table>.cursor`, holding the
/// last delivered sequence number, or [`FROM_START`].
pub struct Cursor {
    path: PathBuf,
}

impl Cursor {
    pub fn new(data_dir: &Path, table: &str) -> Cursor {
        Cursor {
            path: data_dir.join("streams").join(format!("{table}.cursor")),
        }
    }

    fn load(&self) -> Option<String> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// Writes the position durably (temp file, fsync, rename), so a crash leaves the old or
    /// the new position, never a torn one.
    fn save(&self, position: &str) -> std::io::Result<()> {
        use std::io::Write;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("cursor.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(position.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

/// One blocking call into the embedded engine's stream API, in JSON (its request and response
/// types are serde types shaped like the DynamoDB Streams API).
async fn stream_call<Req, Resp, E>(
    db: &dynoxide::Database,
    call: fn(&dynoxide::Database, Req) -> Result<Resp, E>,
    request: Value,
) -> Result<Value, String>
where
    Req: serde::de::DeserializeOwned + Send + 'static,
    Resp: serde::Serialize + Send + 'static,
    E: std::fmt::Display + 'static,
{
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        let req: Req = serde_json::from_value(request).map_err(|e| e.to_string())?;
        let resp = call(&db, req).map_err(|e| e.to_string())?;
        serde_json::to_value(resp).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// A table's stream, opened at the saved position (or at its end, like the template's
/// `LATEST` mappings, when there is no saved position).
pub struct StreamReader {
    db: dynoxide::Database,
    arn: String,
    iterator: String,
    cursor: Option<Cursor>,
}

impl StreamReader {
    pub async fn open(
        db: &dynoxide::Database,
        table: &str,
        cursor: Option<Cursor>,
    ) -> Result<StreamReader, String> {
        let streams = stream_call(
            db,
            dynoxide::Database::list_streams,
            json!({ "TableName": table }),
        )
        .await?;
        let arn = text(
            &streams["Streams"][0]["StreamArn"],
            "the table has no stream",
        )?;
        let described = stream_call(
            db,
            dynoxide::Database::describe_stream,
            json!({ "StreamArn": arn }),
        )
        .await?;
        let shard = text(
            &described["StreamDescription"]["Shards"][0]["ShardId"],
            "the stream has no shard",
        )?;
        let mut reader = StreamReader {
            db: db.clone(),
            arn,
            iterator: String::new(),
            cursor,
        };
        let position = match &reader.cursor {
            None => None,
            Some(cursor) => match cursor.load() {
                Some(saved) => Some(saved),
                None => Some(reader.remember_end(&shard).await?),
            },
        };
        let mut request = json!({ "StreamArn": reader.arn, "ShardId": shard });
        match position.as_deref() {
            Some(FROM_START) => request["ShardIteratorType"] = json!("TRIM_HORIZON"),
            Some(sequence) => {
                request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                request["SequenceNumber"] = json!(sequence);
            }
            None => request["ShardIteratorType"] = json!("LATEST"),
        }
        let it = stream_call(db, dynoxide::Database::get_shard_iterator, request).await?;
        reader.iterator = text(&it["ShardIterator"], "no shard iterator")?;
        Ok(reader)
    }

    /// On first opening, saves where "from now on" begins (the newest record so far, or
    /// [`FROM_START`] for an empty stream), so a change made before the first batch is
    /// delivered is not skipped by a restart, as `LATEST` would. Reads the stream once, only
    /// the first time a data directory's stream is opened.
    async fn remember_end(&self, shard: &str) -> Result<String, String> {
        let Some(cursor) = &self.cursor else {
            return Ok(FROM_START.to_owned());
        };
        let it = stream_call(
            &self.db,
            dynoxide::Database::get_shard_iterator,
            json!({ "StreamArn": self.arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON" }),
        )
        .await?;
        let mut iterator = it["ShardIterator"].as_str().map(str::to_owned);
        let mut last = FROM_START.to_owned();
        while let Some(current) = iterator {
            let page = stream_call(
                &self.db,
                dynoxide::Database::get_records,
                json!({ "ShardIterator": current, "Limit": 1000 }),
            )
            .await?;
            match page["Records"].as_array().and_then(|r| r.last()) {
                Some(r) => last = text(&r["dynamodb"]["SequenceNumber"], "no sequence number")?,
                None => break,
            }
            iterator = page["NextShardIterator"].as_str().map(str::to_owned);
        }
        cursor.save(&last).map_err(|e| e.to_string())?;
        Ok(last)
    }

    /// Delivers the stream to `source.function` until the stack stops.
    pub async fn feed(mut self, hub: Arc<Hub>, source: EventSource) {
        loop {
            let page = match stream_call(
                &self.db,
                dynoxide::Database::get_records,
                json!({ "ShardIterator": self.iterator, "Limit": source.batch_size }),
            )
            .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(table = %source.source, error = %e, "reading the stream failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let records: Vec<Value> = page["Records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut r| {
                    r["eventSourceARN"] = json!(self.arn);
                    r
                })
                .collect();
            if !records.is_empty() && !self.deliver(&hub, &source, &records).await {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue; // same iterator: the same records again
            }
            match page["NextShardIterator"].as_str() {
                Some(next) => self.iterator = next.to_owned(),
                None => return,
            }
            if records.is_empty() {
                tokio::time::sleep(POLL_IDLE).await;
            }
        }
    }

    /// Invokes the function with one batch; `true` when every record was handled (and the
    /// position saved past them).
    async fn deliver(&self, hub: &Hub, source: &EventSource, records: &[Value]) -> bool {
        let outcome = hub
            .functions
            .invoke(&source.function, json!({ "Records": records }))
            .await;
        let failed = match &outcome {
            Ok(resp) => resp["batchItemFailures"]
                .as_array()
                .is_some_and(|f| !f.is_empty()),
            Err(_) => true,
        };
        if failed {
            tracing::warn!(table = %source.source, function = %source.function, "stream batch failed; retrying it");
            return false;
        }
        let last = records
            .last()
            .and_then(|r| r["dynamodb"]["SequenceNumber"].as_str());
        if let (Some(cursor), Some(sequence)) = (&self.cursor, last)
            && let Err(e) = cursor.save(sequence)
        {
            // Delivered but not remembered: after a restart the batch comes again, which the
            // functions handle (starts and events are idempotent).
            tracing::error!(table = %source.source, error = %e, "saving the stream position failed");
        }
        true
    }
}

fn text(v: &Value, missing: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| missing.to_owned())
}
