//! The poller against an in-memory workflow starter that, like Step Functions, refuses a second
//! execution with the same name. Batches are built as JSON and read into `SqsEvent`, exactly as
//! the Lambda runtime delivers them.

use adapters::starter::RecordingStarter;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use domain::lifecycle::Pricing;
use serde_json::{Value, json};

const NOW: i64 = 1_795_300_000_000;
const PRICING: Pricing = Pricing {
    unit_price_cents: 375,
};

/// A `Validator.NewOrder` event as the bus rule puts it on the queue: the whole event.
fn qr_body(order_id: &str, user_id: &str) -> String {
    json!({
        "version": "0",
        "id": format!("evt-{order_id}"),
        "detail-type": "Validator.NewOrder",
        "source": "awsserverlessda.serverlesspresso",
        "account": "123456789012",
        "time": "2026-11-21T10:01:30Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "orderId": order_id,
            "userId": user_id,
            "Message": "A token is validated and an order ID is generated.",
            "bucket": {"PK": 5_984_184, "last_id": 5_984_184, "last_code": "Mz3xY7pQ1a", "availableTokens": 9}
        }
    })
    .to_string()
}

/// A direct `POST /orders` message: the client's order under `data`, the caller's `sub`.
fn direct_body(name: &str, quantity: u32, user_id: &str) -> String {
    json!({"data": {"name": name, "restaurantId": "Restaurant 99", "quantity": quantity}, "userId": user_id})
        .to_string()
}

fn record(message_id: &str, body: &str) -> Value {
    json!({
        "messageId": message_id,
        "receiptHandle": format!("handle-{message_id}"),
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795255301077"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:OrderQueue",
        "awsRegion": "us-east-1"
    })
}

fn batch(records: Vec<Value>) -> SqsEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

fn names(starter: &RecordingStarter) -> Vec<String> {
    starter.started().into_iter().map(|(n, _)| n).collect()
}

async fn run(event: SqsEvent, starter: &RecordingStarter) -> SqsBatchResponse {
    sqs_poller::handle(event, starter, PRICING, NOW).await
}

#[tokio::test]
async fn a_qr_message_starts_one_execution_named_by_its_order_id() {
    let starter = RecordingStarter::default();
    let response = run(
        batch(vec![record("m-qr", &qr_body("ord-qr-1", "cust-1"))]),
        &starter,
    )
    .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(
        names(&starter),
        ["ord-qr-1"],
        "named by the order id, not the message id"
    );
    let input = starter.input_of("ord-qr-1").unwrap();
    assert_eq!(input["userId"], "cust-1");
    assert_eq!(input["channel"], "qr");
    assert_eq!(input["needsDrink"], true);
    assert_eq!(input["amount"], 0, "QR coffee is free");
}

#[tokio::test]
async fn a_direct_message_is_named_by_its_message_id_and_priced() {
    let starter = RecordingStarter::default();
    let quantity = 2;
    let response = run(
        batch(vec![record(
            "m-direct",
            &direct_body("Latte to go", quantity, "cust-2"),
        )]),
        &starter,
    )
    .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(
        names(&starter),
        ["m-direct"],
        "ORDER_APP: the MessageId is the order id"
    );
    let input = starter.input_of("m-direct").unwrap();
    assert_eq!(input["orderId"], "m-direct");
    assert_eq!(input["userId"], "cust-2");
    assert_eq!(input["channel"], "direct");
    assert_eq!(input["needsDrink"], false);
    assert_eq!(
        input["amount"],
        u64::from(quantity) * PRICING.unit_price_cents
    );
    assert_eq!(
        input["item"],
        json!({"name": "Latte to go", "restaurantId": "Restaurant 99", "quantity": quantity})
    );
}

#[tokio::test]
async fn a_redelivered_message_starts_one_execution_and_is_not_a_failure() {
    let starter = RecordingStarter::default();
    let qr = record("m-qr", &qr_body("ord-dup", "cust-1"));
    let direct = record("m-direct-dup", &direct_body("Tea", 1, "cust-2"));
    // Standard queues may deliver a message twice, even within one batch...
    let first = run(
        batch(vec![qr.clone(), direct.clone(), qr.clone()]),
        &starter,
    )
    .await;
    assert!(failed_ids(&first).is_empty());
    // ...or again later, after a visibility timeout.
    let mut later = direct.clone();
    later["attributes"]["ApproximateReceiveCount"] = json!("2");
    let second = run(batch(vec![later, qr]), &starter).await;
    assert!(
        failed_ids(&second).is_empty(),
        "an existing execution is success"
    );
    assert_eq!(
        names(&starter),
        ["ord-dup", "m-direct-dup"],
        "one execution per order"
    );
}

#[tokio::test]
async fn a_malformed_message_and_a_failed_start_each_fail_alone() {
    let starter = RecordingStarter::default();
    starter.fail_for("m-unlucky");
    let event = batch(vec![
        record("m-1", &qr_body("ord-1", "cust-1")),
        record("m-garbage", "this is not JSON"),
        record("m-unlucky", &direct_body("Mocha", 1, "cust-3")),
        record("m-bad-quantity", &direct_body("Mocha", 0, "cust-3")),
        record("m-2", &direct_body("Flat white", 3, "cust-4")),
        record("m-bad-name", &qr_body("ord/with/slashes", "cust-5")),
    ]);
    let response = run(event, &starter).await;
    assert_eq!(
        failed_ids(&response),
        ["m-garbage", "m-unlucky", "m-bad-quantity", "m-bad-name"],
        "exactly the records that did not start, by message id"
    );
    assert_eq!(
        names(&starter),
        ["ord-1", "m-2"],
        "the rest of the batch started"
    );

    // The failed start is retried by redelivery and succeeds once the service is back.
    starter.recover("m-unlucky");
    let retry = run(
        batch(vec![record(
            "m-unlucky",
            &direct_body("Mocha", 1, "cust-3"),
        )]),
        &starter,
    )
    .await;
    assert!(failed_ids(&retry).is_empty());
    assert_eq!(names(&starter), ["ord-1", "m-2", "m-unlucky"]);
}

#[tokio::test]
async fn a_record_without_a_body_is_a_failure() {
    let starter = RecordingStarter::default();
    let mut empty = record("m-empty", "");
    empty.as_object_mut().unwrap().remove("body");
    let response = run(
        batch(vec![empty, record("m-ok", &direct_body("Tea", 1, "u"))]),
        &starter,
    )
    .await;
    assert_eq!(failed_ids(&response), ["m-empty"]);
    assert_eq!(names(&starter), ["m-ok"]);
}

#[tokio::test]
async fn the_execution_input_is_the_one_workflow_shape() {
    let starter = RecordingStarter::default();
    let with_card = json!({"data": {"name": "Tea", "restaurantId": "R1", "quantity": 1, "card": "tok_visa"}, "userId": "cust-9"}).to_string();
    run(
        batch(vec![
            record("m-qr", &qr_body("ord-shape", "cust-8")),
            record("m-card", &with_card),
        ]),
        &starter,
    )
    .await;

    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let qr = starter.input_of("ord-shape").unwrap();
    assert_eq!(
        keys(&qr),
        [
            "acceptedAt",
            "amount",
            "channel",
            "needsDrink",
            "orderId",
            "userId"
        ],
        "no item and no card on a QR order"
    );
    assert_eq!(qr["orderId"], "ord-shape");
    let event_time = chrono::DateTime::parse_from_rfc3339("2026-11-21T10:01:30Z")
        .unwrap()
        .timestamp_millis();
    assert_eq!(
        qr["acceptedAt"], event_time,
        "a QR order was accepted when it was scanned"
    );

    let direct = starter.input_of("m-card").unwrap();
    assert_eq!(
        keys(&direct),
        [
            "acceptedAt",
            "amount",
            "card",
            "channel",
            "item",
            "needsDrink",
            "orderId",
            "userId"
        ]
    );
    assert_eq!(direct["card"], "tok_visa");
    assert_eq!(direct["item"]["restaurantId"], "R1");
}

#[tokio::test]
async fn a_direct_order_is_accepted_when_the_queue_accepted_it() {
    let starter = RecordingStarter::default();
    let sent = record("m-sent", &direct_body("Tea", 1, "u"));
    let sent_at: i64 = sent["attributes"]["SentTimestamp"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut unstamped = record("m-unstamped", &direct_body("Tea", 1, "u"));
    unstamped["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("SentTimestamp");
    run(batch(vec![sent, unstamped]), &starter).await;
    assert_eq!(starter.input_of("m-sent").unwrap()["acceptedAt"], sent_at);
    assert_eq!(
        starter.input_of("m-unstamped").unwrap()["acceptedAt"],
        NOW,
        "without the attribute, the poller's clock"
    );
}

/// `events/sqs-poller-batch.json` (for `sam local invoke`) holds one QR and one direct order:
/// both start, named as each path names its orders.
#[tokio::test]
async fn the_sample_batch_starts_every_order() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/sqs-poller-batch.json"
    );
    let raw: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut expected = Vec::new();
    for r in raw["Records"].as_array().unwrap() {
        let body: Value = serde_json::from_str(r["body"].as_str().unwrap()).unwrap();
        expected.push(match body["detail"]["orderId"].as_str() {
            Some(order_id) => order_id.to_owned(),
            None => r["messageId"].as_str().unwrap().to_owned(),
        });
    }
    assert_eq!(expected.len(), 2);

    let starter = RecordingStarter::default();
    let response = run(serde_json::from_value(raw).unwrap(), &starter).await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(names(&starter), expected);
    let channels: Vec<Value> = starter
        .started()
        .iter()
        .map(|(_, input)| input["channel"].clone())
        .collect();
    assert_eq!(channels, [json!("qr"), json!("direct")]);
}

// ------------------------------------------------------------------ orders-API table stream

fn stream_sample() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/sqs-poller-orders-api-stream.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `events/sqs-poller-orders-api-stream.json`: a new orders-API row starts the workflow named
/// by its lifecycle id, charging its grand total, for its user.
#[tokio::test]
async fn a_new_orders_api_row_starts_its_workflow_once() {
    let raw = stream_sample();
    let Ok(sqs_poller::Invocation::Stream(rows)) = sqs_poller::Invocation::classify(raw.clone())
    else {
        panic!("a DynamoDB stream event is classified as such");
    };
    let starter = RecordingStarter::default();
    let response = sqs_poller::handle_stream(rows.clone(), &starter).await;
    assert!(response.batch_item_failures.is_empty());
    let input = starter
        .input_of("Lx3kP0b9QmZ7tY2wV8sRa")
        .expect("started by lifecycle id");
    assert_eq!(input["channel"], "api");
    assert_eq!(input["amount"], 11000);
    assert_eq!(input["userId"], "user01");
    assert_eq!(input["needsDrink"], false);
    assert_eq!(input["acceptedAt"], 1_763_750_000_000_i64);
    // The batch again (a retry): the execution exists, nothing new starts, nothing fails.
    let response = sqs_poller::handle_stream(rows, &starter).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(starter.started().len(), 1);
}

#[tokio::test]
async fn a_stream_batch_stops_at_the_first_failure_and_reports_it() {
    let mut raw = stream_sample();
    let first = raw["Records"][0].clone();
    let mut second = first.clone();
    second["dynamodb"]["NewImage"]["lifecycle_id"] = json!({"S": "second-order"});
    second["dynamodb"]["SequenceNumber"] = json!("000000000000000000002");
    let mut modify = first.clone();
    modify["eventName"] = json!("MODIFY");
    modify["dynamodb"]["NewImage"]["lifecycle_id"] = json!({"S": "not-a-new-order"});
    raw["Records"] = json!([modify, first, second]);
    let rows: aws_lambda_events::dynamodb::Event = serde_json::from_value(raw).unwrap();

    let starter = RecordingStarter::default();
    starter.fail_for("Lx3kP0b9QmZ7tY2wV8sRa");
    let response = sqs_poller::handle_stream(rows.clone(), &starter).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap_or_default())
        .collect();
    // The failed row is reported and the one after it waits (records of a shard stay in order);
    // a changed row is not a new order.
    assert_eq!(failed, ["000000000000000000001"]);
    assert!(starter.started().is_empty());

    starter.recover("Lx3kP0b9QmZ7tY2wV8sRa");
    let response = sqs_poller::handle_stream(rows, &starter).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(names(&starter), ["Lx3kP0b9QmZ7tY2wV8sRa", "second-order"]);
}

#[tokio::test]
async fn a_row_that_is_not_an_order_is_reported_not_dropped() {
    let mut raw = stream_sample();
    raw["Records"][0]["dynamodb"]["NewImage"]
        .as_object_mut()
        .unwrap()
        .remove("grand_total_cents");
    let rows = serde_json::from_value(raw).unwrap();
    let starter = RecordingStarter::default();
    let response = sqs_poller::handle_stream(rows, &starter).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert!(starter.started().is_empty());
}
