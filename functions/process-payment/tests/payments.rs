//! process-payment against a real DynamoDB engine, with the deterministic local provider and a
//! provider that counts its calls.

use adapters::OrderTable;
use adapters::payment::{DECLINED_CARD, LocalPaymentProvider, PROCESSING_ERROR_CARD};
use domain::lifecycle::{OrderRequest, Pricing};
use domain::order::{OrderCommand, OrderState};
use domain::ports::{
    Charge, OrderReader, OrderWriter, PaymentError, PaymentProvider, apply_command,
};
use local::testing::TestTables;
use process_payment::ProcessPayment;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The local provider, counting charges and refunds.
#[derive(Clone, Default)]
struct Counting {
    inner: LocalPaymentProvider,
    charges: Arc<AtomicUsize>,
    refunds: Arc<AtomicUsize>,
}

impl PaymentProvider for Counting {
    async fn charge(
        &self,
        key: &str,
        amount: u64,
        card: Option<&str>,
    ) -> Result<Charge, PaymentError> {
        self.charges.fetch_add(1, Ordering::SeqCst);
        self.inner.charge(key, amount, card).await
    }
    async fn refund(&self, key: &str, charge: &Charge) -> Result<(), PaymentError> {
        self.refunds.fetch_add(1, Ordering::SeqCst);
        self.inner.refund(key, charge).await
    }
}

async fn setup() -> (TestTables, ProcessPayment<OrderTable, Counting>) {
    let t = TestTables::start().await.unwrap();
    let p = ProcessPayment {
        orders: t.orders.clone(),
        provider: Counting::default(),
    };
    (t, p)
}

async fn direct_order(t: &TestTables, id: &str, quantity: u32) {
    let body = json!({"data": {"name": "Latte", "restaurantId": "r", "quantity": quantity}, "userId": "u1"}).to_string();
    let req = OrderRequest::from_queue_message(id, &body, Pricing::default(), 1).unwrap();
    assert!(t.orders.create(&req.to_order()).await.unwrap());
}

fn charge(id: &str, card: Option<&str>) -> Value {
    json!({"action": "charge", "request": {"orderId": id, "card": card, "amount": 1, "other": "workflow state"}})
}

#[tokio::test]
async fn a_charge_uses_the_stored_amount_and_happens_once() {
    let (t, p) = setup().await;
    direct_order(&t, "o1", 2).await;
    let out = p.handle(charge("o1", None), 5).await.unwrap();
    assert_eq!(
        out,
        json!({"chargeId": "ch_local_o1", "amount": 900}),
        "2 x 4.50 from the order, not the request's 1"
    );
    assert_eq!(
        p.handle(charge("o1", None), 6).await.unwrap(),
        out,
        "a retried charge returns the same charge"
    );
    assert_eq!(
        p.provider.charges.load(Ordering::SeqCst),
        1,
        "the provider was charged once"
    );
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert_eq!(o.payment.unwrap().charge_id, "ch_local_o1");
}

#[tokio::test]
async fn declines_and_outages_get_the_names_the_workflow_catches() {
    let (t, p) = setup().await;
    direct_order(&t, "declined", 1).await;
    let err = p
        .handle(charge("declined", Some(DECLINED_CARD)), 1)
        .await
        .unwrap_err();
    assert_eq!(
        (err.error, err.cause.as_str()),
        ("PaymentDeclined", "card declined")
    );
    direct_order(&t, "big", 12).await;
    let err = p.handle(charge("big", None), 1).await.unwrap_err();
    assert_eq!(err.error, "PaymentDeclined");
    assert!(err.cause.contains("exceeds the limit"), "{}", err.cause);
    direct_order(&t, "down", 1).await;
    assert_eq!(
        p.handle(charge("down", Some(PROCESSING_ERROR_CARD)), 1)
            .await
            .unwrap_err()
            .error,
        "Transient"
    );
    for id in ["declined", "big", "down"] {
        assert!(
            t.orders.get(id).await.unwrap().unwrap().payment.is_none(),
            "nothing recorded for {id}"
        );
    }
}

#[tokio::test]
async fn a_closed_order_is_not_charged() {
    let (t, p) = setup().await;
    direct_order(&t, "o1", 1).await;
    let cancel = OrderCommand::Finish {
        to: OrderState::Cancelled,
        reason: Some("Cancelled by customer".into()),
    };
    apply_command(&t.orders, "o1", &cancel, 2).await.unwrap();
    let err = p.handle(charge("o1", None), 3).await.unwrap_err();
    assert_eq!(err.error, "OrderClosed");
    assert_eq!(p.provider.charges.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn refunds_are_idempotent_and_recorded() {
    let (t, p) = setup().await;
    direct_order(&t, "o1", 1).await;
    p.handle(charge("o1", None), 1).await.unwrap();
    // Only a finished order is refunded (the workflow refunds after Finish).
    apply_command(&t.orders, "o1", &cancelled(), 2)
        .await
        .unwrap();
    let refund = json!({"action": "refund", "orderId": "o1"});
    assert_eq!(p.handle(refund.clone(), 2).await.unwrap()["refunded"], true);
    assert_eq!(p.handle(refund.clone(), 3).await.unwrap()["refunded"], true);
    assert_eq!(
        p.provider.refunds.load(Ordering::SeqCst),
        1,
        "refunded once"
    );
    assert!(
        t.orders
            .get("o1")
            .await
            .unwrap()
            .unwrap()
            .payment
            .unwrap()
            .refunded
    );

    direct_order(&t, "unpaid", 1).await;
    let out = p
        .handle(json!({"action": "refund", "orderId": "unpaid"}), 4)
        .await
        .unwrap();
    assert_eq!(out["refunded"], false);
}

fn cancelled() -> OrderCommand {
    OrderCommand::Finish {
        to: OrderState::Cancelled,
        reason: Some("Cancelled by customer (refund pending)".into()),
    }
}

fn refund(id: &str) -> Value {
    json!({"action": "refund", "orderId": id})
}

#[tokio::test]
async fn a_completed_order_is_never_refunded() {
    // The barista completed it; a late barista-timeout branch must not give the money back.
    let (t, p) = setup().await;
    direct_order(&t, "o1", 1).await;
    p.handle(charge("o1", None), 1).await.unwrap();
    let complete = OrderCommand::Finish {
        to: OrderState::Completed,
        reason: None,
    };
    apply_command(&t.orders, "o1", &complete, 2).await.unwrap();
    let out = p.handle(refund("o1"), 3).await.unwrap();
    assert_eq!(out["refunded"], false);
    assert_eq!(p.provider.refunds.load(Ordering::SeqCst), 0);
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert!(!o.payment.unwrap().refunded);
}

#[tokio::test]
async fn an_open_order_is_not_refunded_before_it_is_decided() {
    let (t, p) = setup().await;
    direct_order(&t, "o1", 1).await;
    p.handle(charge("o1", None), 1).await.unwrap();
    let err = p.handle(refund("o1"), 2).await.unwrap_err();
    assert_eq!(
        err.error, "InvalidInput",
        "not retried; parked by the workflow"
    );
    assert_eq!(p.provider.refunds.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refund_is_recorded_and_the_reason_no_longer_says_pending() {
    let (t, p) = setup().await;
    direct_order(&t, "o1", 1).await;
    p.handle(charge("o1", None), 1).await.unwrap();
    apply_command(&t.orders, "o1", &cancelled(), 2)
        .await
        .unwrap();
    // Concurrent tries (a retry after a timeout while the first still runs): the row records
    // one refund, and every provider call carries the order's refund key.
    let (a, b) = tokio::join!(p.handle(refund("o1"), 3), p.handle(refund("o1"), 3));
    assert_eq!(
        (
            a.unwrap()["refunded"].clone(),
            b.unwrap()["refunded"].clone()
        ),
        (json!(true), json!(true))
    );
    assert_eq!(process_payment::refund_key("o1"), "o1-refund");
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert!(o.payment.as_ref().unwrap().refunded);
    assert!(!o.refund_due());
    assert_eq!(o.reason.as_deref(), Some("Cancelled by customer"));
    p.handle(refund("o1"), 4).await.unwrap();
    assert!(
        p.provider.refunds.load(Ordering::SeqCst) <= 2,
        "never once per retry after it is recorded"
    );
}

/// The local provider, but the customer cancels the order while the charge is in flight.
struct CancelledWhileCharging {
    orders: OrderTable,
    inner: Counting,
}

impl PaymentProvider for CancelledWhileCharging {
    async fn charge(
        &self,
        key: &str,
        amount: u64,
        card: Option<&str>,
    ) -> Result<Charge, PaymentError> {
        apply_command(&self.orders, key, &cancelled(), 2)
            .await
            .unwrap();
        self.inner.charge(key, amount, card).await
    }
    async fn refund(&self, key: &str, charge: &Charge) -> Result<(), PaymentError> {
        self.inner.refund(key, charge).await
    }
}

#[tokio::test]
async fn a_charge_that_lands_on_a_cancelled_order_is_recorded_and_refunded_once() {
    let t = TestTables::start().await.unwrap();
    let inner = Counting::default();
    let p = ProcessPayment {
        orders: t.orders.clone(),
        provider: CancelledWhileCharging {
            orders: t.orders.clone(),
            inner: inner.clone(),
        },
    };
    direct_order(&t, "o1", 1).await;
    let err = p.handle(charge("o1", None), 3).await.unwrap_err();
    assert_eq!(err.error, "OrderClosed");
    let o = t.orders.get("o1").await.unwrap().unwrap();
    assert_eq!(o.state, OrderState::Cancelled);
    assert!(o.refund_due(), "the money moved, so the row says so");
    assert_eq!(
        inner.refunds.load(Ordering::SeqCst),
        0,
        "one refund path: the workflow's"
    );
    assert_eq!(p.handle(refund("o1"), 4).await.unwrap()["refunded"], true);
    p.handle(refund("o1"), 5).await.unwrap();
    assert_eq!(inner.refunds.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_input_is_named_not_a_panic() {
    let (_t, p) = setup().await;
    for bad in [
        json!({}),
        json!({"action": "charge"}),
        json!({"action": "steal"}),
        json!(3),
    ] {
        assert_eq!(
            p.handle(bad.clone(), 1).await.unwrap_err().error,
            "InvalidInput",
            "{bad}"
        );
    }
    assert_eq!(
        p.handle(charge("missing", None), 1)
            .await
            .unwrap_err()
            .error,
        "InvalidInput"
    );
}
