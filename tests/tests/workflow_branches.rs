//! The project's order workflow on the `asl` engine, with stub tasks, along every branch.
//! Time is Tokio's paused clock: heartbeats of 300 s and 900 s pass instantly but in order.
//!
//! Each stub answers per state; `Finish`'s input tells which outcome the branch reached, and
//! the history tells how many states an order goes through (the README's transition counts).

use asl::{BoxFuture, Engine, ExecutionStatus, TaskCall, TaskError, TaskHandler, TokioClock};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use system_tests::workflow_text;

/// What a stubbed state does.
#[derive(Clone)]
enum Stub {
    Ok(Value),
    Fail(&'static str, &'static str),
    /// A `.waitForTaskToken` task: answer through the engine with this output (or never).
    Callback(Option<Value>),
    /// manage-state's `finish` as it answers when the order ends the way the path says:
    /// a refund is due when the order was paid and the outcome is not "completed".
    Finish,
}

#[derive(Clone, Default)]
struct Script {
    stubs: Arc<Mutex<HashMap<String, Stub>>>,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    tokens: Arc<Mutex<Vec<(String, String)>>>,
}

impl Script {
    fn with(pairs: &[(&str, Stub)]) -> Script {
        let s = Script::default();
        // Defaults: a happy QR order.
        let mut stubs = HashMap::from([
            (
                "Admit".to_owned(),
                Stub::Ok(
                    json!({"Payload": {"admitted": true, "reason": null, "graceSeconds": 30}}),
                ),
            ),
            (
                "WaitForDrink".to_owned(),
                Stub::Callback(Some(
                    json!({"orderId": "o1", "drinkOrder": {"drink": "Latte"}}),
                )),
            ),
            (
                "NumberOrder".to_owned(),
                Stub::Ok(json!({"Payload": {"orderNumber": 7}})),
            ),
            (
                "TakePayment".to_owned(),
                Stub::Ok(json!({"Payload": {"chargeId": "ch_1", "amount": 900}})),
            ),
            (
                "SendToRestaurant".to_owned(),
                Stub::Ok(json!({"Payload": {"accepted": true}})),
            ),
            (
                "SendToBarista".to_owned(),
                Stub::Callback(Some(json!({"cancelled": false}))),
            ),
            (
                "Refund".to_owned(),
                Stub::Ok(json!({"Payload": {"refunded": true}})),
            ),
            ("Finish".to_owned(), Stub::Finish),
            (
                "ParkRefund".to_owned(),
                Stub::Ok(json!({"MessageId": "m", "MD5OfMessageBody": "x"})),
            ),
            ("Notify".to_owned(), Stub::Ok(json!({"MessageId": "m"}))),
            (
                "EmitOrderFinished".to_owned(),
                Stub::Ok(json!({"Entries": [], "FailedEntryCount": 0})),
            ),
        ]);
        for (name, stub) in pairs {
            stubs.insert((*name).to_owned(), stub.clone());
        }
        *s.stubs.lock().unwrap() = stubs;
        s
    }

    fn calls_to(&self, state: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == state)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl TaskHandler for Script {
    fn invoke(&self, call: TaskCall) -> BoxFuture<'static, Result<Value, TaskError>> {
        self.calls
            .lock()
            .unwrap()
            .push((call.state_name.clone(), call.input.clone()));
        let stub = self.stubs.lock().unwrap().get(&call.state_name).cloned();
        if let (Some(token), Some(Stub::Callback(_))) = (&call.task_token, &stub) {
            self.tokens
                .lock()
                .unwrap()
                .push((call.state_name.clone(), token.clone()));
        }
        let paid = !self.calls_to("TakePayment").is_empty()
            && matches!(
                self.stubs.lock().unwrap().get("TakePayment"),
                Some(Stub::Ok(_))
            );
        Box::pin(async move {
            match stub {
                Some(Stub::Finish) => {
                    let completed = call.input["Payload"]["outcome"] == "completed";
                    Ok(
                        json!({"Payload": {"state": "X", "status": "Y", "notification": "n",
                                          "refundDue": paid && !completed}}),
                    )
                }
                Some(Stub::Ok(v)) => Ok(v),
                Some(Stub::Fail(e, c)) => Err(TaskError::new(e, c)),
                Some(Stub::Callback(_)) => Ok(json!({})),
                None => Err(TaskError::new("Unstubbed", call.state_name)),
            }
        })
    }
}

const QR: &str =
    r#"{"orderId":"o1","userId":"u1","channel":"qr","needsDrink":true,"amount":0,"acceptedAt":1}"#;
const DIRECT: &str = r#"{"orderId":"o1","userId":"u1","channel":"direct","needsDrink":false,"amount":900,"acceptedAt":1}"#;

struct Run {
    status: ExecutionStatus,
    /// The outcome `Finish` was asked for (None if never reached).
    outcome: Option<String>,
    detail: Value,
    states: Vec<String>,
    script: Script,
}

async fn run(input: &str, pairs: &[(&str, Stub)]) -> Run {
    let script = Script::with(pairs);
    let engine = Arc::new(
        Engine::builder(Arc::new(script.clone()))
            .clock(Arc::new(TokioClock::new()))
            .build(),
    );
    let subs: HashMap<String, String> = [
        "ManageStateFunctionArn",
        "CountingFunctionArn",
        "ProcessPaymentFunctionArn",
        "SendToRestaurantFunctionArn",
    ]
    .iter()
    .map(|k| {
        (
            k.to_string(),
            format!("arn:aws:lambda:local:000000000000:function:{k}"),
        )
    })
    .chain([
        ("EventBusName".to_owned(), "Serverlesspresso".to_owned()),
        (
            "OrderTopicArn".to_owned(),
            "arn:aws:sns:local:0:t".to_owned(),
        ),
        (
            "RefundParkedQueueUrl".to_owned(),
            "https://sqs.local/0/RefundParkedQueue".to_owned(),
        ),
    ])
    .collect();
    let def = asl::substitute(&workflow_text(), &subs).unwrap();
    let sm = engine.create_state_machine("OrderProcessor", &def).unwrap();
    let exec = engine
        .start_execution(&sm, Some("o1"), serde_json::from_str(input).unwrap())
        .unwrap();

    // Answer callbacks as their tasks start (customer, then barista), like the order manager.
    let answering = {
        let (engine, script) = (engine.clone(), script.clone());
        tokio::spawn(async move {
            let mut answered = 0;
            loop {
                let pending: Vec<_> = script
                    .tokens
                    .lock()
                    .unwrap()
                    .iter()
                    .skip(answered)
                    .cloned()
                    .collect();
                for (state, token) in pending {
                    answered += 1;
                    if let Some(Stub::Callback(Some(out))) =
                        script.stubs.lock().unwrap().get(&state).cloned()
                    {
                        let _ = engine.send_task_success(&token, out);
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
    };
    let done = engine.wait_for_execution(&exec).await.unwrap();
    answering.abort();
    let history = engine.get_execution_history(&exec).unwrap();
    let states = history
        .iter()
        .filter(|e| format!("{:?}", e.event_type).ends_with("StateEntered"))
        .filter_map(|e| serde_json::to_value(e).ok())
        .filter_map(|v| {
            v.pointer("/details/name")
                .or_else(|| v.pointer("/stateEnteredEventDetails/name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    let finish = script.calls_to("Finish").last().cloned();
    Run {
        status: done.status,
        outcome: finish
            .as_ref()
            .and_then(|f| f["Payload"]["outcome"].as_str().map(str::to_owned)),
        detail: finish
            .map(|f| f["Payload"]["detail"].clone())
            .unwrap_or(Value::Null),
        states,
        script,
    }
}

#[tokio::test(start_paused = true)]
async fn a_qr_order_completed_by_the_barista() {
    let r = run(QR, &[]).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.outcome.as_deref(), Some("completed"));
    // The customer's wait announces the token; the barista hand-off carries number and token.
    let wait = &r.script.calls_to("WaitForDrink")[0]["Entries"][0];
    assert_eq!(wait["DetailType"], "OrderProcessor.WorkflowStarted");
    assert!(
        wait["Detail"]["TaskToken"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let barista = &r.script.calls_to("SendToBarista")[0]["Payload"];
    assert_eq!(barista["orderNumber"], 7);
    assert!(barista["taskToken"].is_string());
    assert!(
        r.script.calls_to("TakePayment").is_empty(),
        "QR coffee is free"
    );
    let emitted = &r.script.calls_to("EmitOrderFinished")[0]["Entries"][0];
    assert_eq!(emitted["DetailType"], "OrderProcessor.orderFinished");
    assert_eq!(
        emitted["Detail"],
        json!({"Message": "The order is finished.", "userId": "u1", "orderId": "o1"})
    );
    assert_eq!(
        r.script.calls_to("Notify")[0]["Message"],
        "n",
        "the notification text comes from Finish"
    );
    println!(
        "QR order, completed: {} states entered: {:?}",
        r.states.len(),
        r.states
    );
    assert_eq!(r.states.len(), 14, "{:?}", r.states);
}

#[tokio::test(start_paused = true)]
async fn a_direct_order_paid_and_accepted() {
    let r = run(DIRECT, &[]).await;
    assert_eq!(
        (r.status, r.outcome.as_deref()),
        (ExecutionStatus::Succeeded, Some("completed"))
    );
    assert_eq!(
        r.script.calls_to("TakePayment").len(),
        1,
        "charged once, then NextStep moves on"
    );
    assert!(
        r.script.calls_to("WaitForDrink").is_empty()
            && r.script.calls_to("SendToBarista").is_empty()
    );
    assert!(r.script.calls_to("Refund").is_empty());
    println!(
        "direct order, completed: {} states entered: {:?}",
        r.states.len(),
        r.states
    );
    assert_eq!(r.states.len(), 13, "{:?}", r.states);
}

#[tokio::test(start_paused = true)]
async fn a_closed_shop_ends_the_order_unavailable() {
    let admit = Stub::Ok(
        json!({"Payload": {"admitted": false, "reason": "the shop is closed", "graceSeconds": 30}}),
    );
    let r = run(QR, &[("Admit", admit)]).await;
    assert_eq!(
        (r.status, r.outcome.as_deref()),
        (ExecutionStatus::Succeeded, Some("shop-unavailable"))
    );
    assert_eq!(r.detail, "the shop is closed");
    assert!(r.script.calls_to("WaitForDrink").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_customer_who_never_chooses_times_out_after_300_seconds() {
    let started = tokio::time::Instant::now();
    let r = run(QR, &[("WaitForDrink", Stub::Callback(None))]).await;
    assert_eq!(
        (r.status, r.outcome.as_deref()),
        (ExecutionStatus::Succeeded, Some("customer-timeout"))
    );
    let waited = started.elapsed().as_secs();
    assert!((300..=301).contains(&waited), "waited {waited} s");
    assert!(r.script.calls_to("NumberOrder").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_customer_who_cancels_while_choosing() {
    let r = run(
        QR,
        &[(
            "WaitForDrink",
            Stub::Callback(Some(json!({"cancelled": true}))),
        )],
    )
    .await;
    assert_eq!(r.outcome.as_deref(), Some("cancelled"));
    assert!(
        r.script.calls_to("NumberOrder").is_empty(),
        "no number for a cancelled order"
    );
}

#[tokio::test(start_paused = true)]
async fn a_barista_who_never_finishes_times_out_after_900_seconds() {
    let started = tokio::time::Instant::now();
    let r = run(QR, &[("SendToBarista", Stub::Callback(None))]).await;
    assert_eq!(r.outcome.as_deref(), Some("barista-timeout"));
    // 30 s grace + 900 s heartbeat.
    assert!(
        (930..=932).contains(&started.elapsed().as_secs()),
        "{}",
        started.elapsed().as_secs()
    );
}

#[tokio::test(start_paused = true)]
async fn a_paid_order_cancelled_at_the_barista_is_refunded() {
    let qr_paid = r#"{"orderId":"o1","userId":"u1","channel":"qr","needsDrink":true,"amount":300,"acceptedAt":1}"#;
    let r = run(
        qr_paid,
        &[(
            "SendToBarista",
            Stub::Callback(Some(json!({"cancelled": true}))),
        )],
    )
    .await;
    assert_eq!(r.outcome.as_deref(), Some("cancelled"));
    assert_eq!(r.script.calls_to("TakePayment").len(), 1);
    assert_eq!(r.script.calls_to("Refund").len(), 1);
    assert_eq!(
        r.script.calls_to("Refund")[0]["Payload"],
        json!({"action": "refund", "orderId": "o1"})
    );
}

#[tokio::test(start_paused = true)]
async fn a_declined_payment_fails_the_order_without_a_refund() {
    let r = run(
        DIRECT,
        &[(
            "TakePayment",
            Stub::Fail("PaymentDeclined", "card declined"),
        )],
    )
    .await;
    assert_eq!(r.outcome.as_deref(), Some("payment-declined"));
    assert_eq!(r.detail["Cause"], "card declined");
    assert_eq!(
        r.script.calls_to("TakePayment").len(),
        1,
        "a decline is not retried"
    );
    assert!(
        r.script.calls_to("Refund").is_empty() && r.script.calls_to("SendToRestaurant").is_empty()
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejected_order_is_refunded() {
    let r = run(
        DIRECT,
        &[(
            "SendToRestaurant",
            Stub::Fail("RestaurantRejected", "'Pizza' is not on the menu"),
        )],
    )
    .await;
    assert_eq!(r.outcome.as_deref(), Some("restaurant-rejected"));
    assert_eq!(r.script.calls_to("Refund").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_order_cancelled_during_the_grace_period_is_not_sent() {
    let r = run(
        QR,
        &[(
            "SendToBarista",
            Stub::Fail("OrderClosed", "The order is already CANCELLED"),
        )],
    )
    .await;
    assert_eq!(r.outcome.as_deref(), Some("cancelled"));
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_then_the_order_fails_cleanly() {
    let r = run(
        QR,
        &[(
            "NumberOrder",
            Stub::Fail("Transient", "counter table unavailable"),
        )],
    )
    .await;
    assert_eq!(
        r.status,
        ExecutionStatus::Succeeded,
        "the execution still ends normally"
    );
    assert_eq!(r.outcome.as_deref(), Some("failed"));
    assert_eq!(
        r.script.calls_to("NumberOrder").len(),
        7,
        "1 try + 6 retries"
    );
    assert_eq!(r.detail["Error"], "Transient");
}

#[tokio::test(start_paused = true)]
async fn an_unexpected_error_anywhere_still_finishes_the_order() {
    for state in ["Admit", "NumberOrder", "SendToBarista", "WaitForDrink"] {
        let r = run(QR, &[(state, Stub::Fail("Boom", "unexpected"))]).await;
        assert_eq!(r.outcome.as_deref(), Some("failed"), "{state}");
        assert_eq!(r.status, ExecutionStatus::Succeeded, "{state}");
    }
}

#[tokio::test(start_paused = true)]
async fn notification_trouble_does_not_fail_a_finished_order() {
    let r = run(
        QR,
        &[("Notify", Stub::Fail("SNS.AmazonSNSException", "down"))],
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(r.script.calls_to("EmitOrderFinished").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_order_that_cannot_be_finished_fails_the_execution_visibly() {
    let r = run(
        QR,
        &[("Finish", Stub::Fail("Transient", "table unavailable"))],
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.script.calls_to("Finish").len(), 11, "1 try + 10 retries");
    assert!(r.script.calls_to("Notify").is_empty());
}

fn finished_as(state: &str, refund_due: bool) -> Stub {
    Stub::Ok(
        json!({"Payload": {"state": state, "status": "S", "notification": "n",
                                "refundDue": refund_due}}),
    )
}

#[tokio::test(start_paused = true)]
async fn a_direct_order_cancelled_after_the_restaurant_check_is_refunded() {
    // The customer cancelled between send-to-restaurant's check and the end: the path says
    // "completed", the row says CANCELLED and paid, and the row decides.
    let r = run(DIRECT, &[("Finish", finished_as("CANCELLED", true))]).await;
    assert_eq!(r.outcome.as_deref(), Some("completed"));
    assert_eq!(r.script.calls_to("Refund").len(), 1);
    assert_eq!(
        r.script.calls_to("Refund")[0]["Payload"],
        json!({"action": "refund", "orderId": "o1"})
    );
    assert_eq!(r.script.calls_to("Notify").len(), 1);
    assert_eq!(r.status, ExecutionStatus::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_barista_timeout_never_refunds_an_order_the_barista_completed() {
    let qr_paid = r#"{"orderId":"o1","userId":"u1","channel":"qr","needsDrink":true,"amount":300,"acceptedAt":1}"#;
    let r = run(
        qr_paid,
        &[
            ("SendToBarista", Stub::Callback(None)),
            ("Finish", finished_as("COMPLETED", false)),
        ],
    )
    .await;
    assert_eq!(r.outcome.as_deref(), Some("barista-timeout"));
    assert_eq!(r.script.calls_to("TakePayment").len(), 1);
    assert!(r.script.calls_to("Refund").is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_refund_that_keeps_failing_is_parked_for_an_operator() {
    let r = run(
        DIRECT,
        &[
            (
                "SendToRestaurant",
                Stub::Fail("RestaurantRejected", "'Pizza' is not on the menu"),
            ),
            ("Refund", Stub::Fail("Transient", "provider down")),
        ],
    )
    .await;
    assert_eq!(r.script.calls_to("Refund").len(), 13, "1 try + 12 retries");
    let parked = r.script.calls_to("ParkRefund");
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0]["QueueUrl"],
        "https://sqs.local/0/RefundParkedQueue"
    );
    let body = &parked[0]["MessageBody"];
    assert_eq!(
        (&body["action"], &body["orderId"]),
        (&json!("refund"), &json!("o1"))
    );
    assert_eq!(body["error"]["Error"], "Transient");
    assert_eq!(
        r.script.calls_to("Notify").len(),
        1,
        "the customer is still told"
    );
    assert_eq!(r.status, ExecutionStatus::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_refund_neither_made_nor_parked_fails_the_execution_visibly() {
    let r = run(
        DIRECT,
        &[
            ("Finish", finished_as("CANCELLED", true)),
            ("Refund", Stub::Fail("InvalidInput", "bug")),
            ("ParkRefund", Stub::Fail("SQS.AmazonSQSException", "down")),
        ],
    )
    .await;
    assert_eq!(r.script.calls_to("Refund").len(), 1, "a bug is not retried");
    assert_eq!(
        r.script.calls_to("ParkRefund").len(),
        6,
        "1 try + 5 retries"
    );
    assert_eq!(r.status, ExecutionStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn finish_gets_the_user_so_an_order_never_saved_is_still_recorded() {
    let r = run(DIRECT, &[("Admit", Stub::Fail("Boom", "table gone"))]).await;
    assert_eq!(r.outcome.as_deref(), Some("failed"));
    let finish = &r.script.calls_to("Finish")[0]["Payload"];
    assert_eq!(finish["userId"], "u1", "{finish}");
    assert_eq!(finish["orderId"], "o1");
}
