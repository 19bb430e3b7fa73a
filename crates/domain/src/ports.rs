//! Ports: one small trait per capability. A handler takes only the capabilities it uses, so
//! its signature says what it touches, and tests can hand it real adapters (DynamoDB on the
//! embedded emulator) or in-memory ones (the event bus the test reads).
//!
//! Methods return `impl Future + Send` so handlers stay generic (no boxing, no dyn) and can be
//! spawned on a multi-threaded runtime.

use crate::AppError;
use crate::events::Event;
use crate::lifecycle::Channel;
use crate::menu::MenuItem;
use crate::order::{Order, OrderCommand, OrderState};
use crate::orders_api::ApiOrder;
use crate::qr::Bucket;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;

/// Reads order rows.
pub trait OrderReader: Send + Sync {
    fn get(&self, order_id: &str) -> impl Future<Output = Result<Option<Order>, AppError>> + Send;
    /// Orders in `state`, oldest first (the barista queue order), at most `limit`.
    fn list_by_state(
        &self,
        state: OrderState,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Order>, AppError>> + Send;
    /// One customer's orders, newest first, at most `limit`.
    fn list_by_user(
        &self,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Order>, AppError>> + Send;
    /// How many orders are in `state` (the shop's queue length for `CREATED`).
    fn count_by_state(
        &self,
        state: OrderState,
    ) -> impl Future<Output = Result<u64, AppError>> + Send;
}

/// Outcome of a conditional replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    Written,
    /// Someone else changed the row since it was read: read again and re-decide.
    VersionChanged,
}

/// Writes order rows; every write is conditional.
pub trait OrderWriter: Send + Sync {
    /// Creates the row unless one with the same id exists. Returns `false` when it existed,
    /// which makes a retried create harmless.
    fn create(&self, order: &Order) -> impl Future<Output = Result<bool, AppError>> + Send;
    /// Writes `order` only if the stored row still has `expected_version`.
    fn replace(
        &self,
        order: &Order,
        expected_version: u64,
    ) -> impl Future<Output = Result<Replaced, AppError>> + Send;
}

/// How often [`apply_command`] re-reads after losing a race before it gives up.
const MAX_ATTEMPTS: usize = 5;

/// Applies `cmd` to the stored order: read, check the domain precondition, apply, and write
/// conditionally on the version read. Losing a race re-reads and re-checks, so the answer is
/// always decided on the row as it really is (a second `complete` gets 409, not a double
/// completion).
pub async fn apply_command<S: OrderReader + OrderWriter>(
    store: &S,
    order_id: &str,
    cmd: &OrderCommand,
    now_ms: i64,
) -> Result<Order, AppError> {
    for _ in 0..MAX_ATTEMPTS {
        let mut order = store
            .get(order_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("Order {order_id} not found")))?;
        let expected = order.version;
        cmd.apply(&mut order, now_ms)?;
        if store.replace(&order, expected).await? == Replaced::Written {
            return Ok(order);
        }
    }
    Err(AppError::conflict(
        "The order is being changed by someone else; try again",
    ))
}

/// The shop settings row (`PK = "config"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopConfig {
    #[serde(rename = "storeOpen")]
    pub store_open: bool,
    #[serde(rename = "maxOrdersPerUser", default = "one")]
    pub max_orders_per_user: u32,
    #[serde(rename = "maxOrdersInQueue", default = "ten")]
    pub max_orders_in_queue: u32,
}

fn one() -> u32 {
    1
}
fn ten() -> u32 {
    10
}

impl ShopConfig {
    /// The per-user limit that applies to an order of `channel`, if any.
    pub fn per_user_limit(&self, channel: Channel) -> Option<u32> {
        channel
            .limited_per_user()
            .then_some(self.max_orders_per_user)
    }
}

/// Why an order was not given a place in the shop's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// `maxOrdersInQueue` orders are open.
    ShopFull { max: u32 },
    /// The customer has `maxOrdersPerUser` orders open.
    UserAtLimit { max: u32 },
    /// The order is no longer open (finished meanwhile, or its place already given back).
    OrderClosed,
}

impl SlotRefusal {
    /// The reason the workflow records and passes on in `OrderProcessor.ShopUnavailable`.
    pub fn reason(self) -> String {
        let orders = |n: u32| if n == 1 { "order" } else { "orders" };
        match self {
            SlotRefusal::ShopFull { max } => {
                format!("the shop is at capacity ({max} {} waiting)", orders(max))
            }
            SlotRefusal::UserAtLimit { max } => format!(
                "too many open orders for this customer (at most {max} {} at a time)",
                orders(max)
            ),
            SlotRefusal::OrderClosed => "the order is already finished".to_owned(),
        }
    }
}

/// What taking a place in the queue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotTaken {
    Taken,
    /// The order already had its place (a retried Admit): nothing more was taken.
    AlreadyHeld,
    Refused(SlotRefusal),
}

/// The places in the shop's queue: shop-wide (`maxOrdersInQueue`) and per customer
/// (`maxOrdersPerUser`, for the channels it applies to), each taken and given back atomically
/// with the order's own `holdsSlot` mark, so neither limit can be overshot by concurrent orders
/// and no retry takes or frees a place twice.
pub trait OrderSlots: Send + Sync {
    /// Takes one place for `order` under the limits of `shop`, unless it holds one already.
    fn take(
        &self,
        order: &Order,
        shop: &ShopConfig,
    ) -> impl Future<Output = Result<SlotTaken, AppError>> + Send;
    /// Gives back the order's place if it still holds one; `true` when this call freed it.
    fn release(&self, order: &Order) -> impl Future<Output = Result<bool, AppError>> + Send;
}

/// Reads the config table.
pub trait ConfigReader: Send + Sync {
    /// Every row as plain JSON (the `GET /config` body is built from these).
    fn items(&self) -> impl Future<Output = Result<Vec<Value>, AppError>> + Send;
    fn menu(&self) -> impl Future<Output = Result<Vec<MenuItem>, AppError>> + Send;
    fn shop(&self) -> impl Future<Output = Result<ShopConfig, AppError>> + Send;
}

/// Opens and closes the shop.
pub trait ShopSwitch: Send + Sync {
    /// Sets `storeOpen` and returns the new config row.
    fn set_store_open(&self, open: bool) -> impl Future<Output = Result<Value, AppError>> + Send;
}

/// Writes config rows that are not there yet (the seed): an existing row, perhaps changed by an
/// admin, is left alone.
pub trait ConfigSeeder: Send + Sync {
    /// Puts `row` (a JSON object with a string `PK`) unless a row with its `PK` exists; true
    /// when it was written.
    fn put_if_absent(&self, row: &Value) -> impl Future<Output = Result<bool, AppError>> + Send;
}

/// Hands out order numbers, one per order.
pub trait OrderNumbers: Send + Sync {
    /// The order's number: the one it already has, or the next of counter `key` (created at 1),
    /// written on the order in the same atomic step as the counter's increment. A repeated call
    /// for the same order returns the same number and consumes none; an unknown order is
    /// `NotFound`.
    fn number_order(
        &self,
        order_id: &str,
        key: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<u64, AppError>> + Send;
}

/// Result of trying to take one use of a QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consume {
    /// One use taken; the bucket as it is now.
    Taken(Bucket),
    /// Refused; the bucket as it was (None if there is no bucket).
    Refused(Option<Bucket>),
}

/// The QR-code buckets.
pub trait QrBuckets: Send + Sync {
    fn get(&self, bucket_id: i64) -> impl Future<Output = Result<Option<Bucket>, AppError>> + Send;
    /// Stores `bucket` unless the bucket already exists; returns whichever is stored, so every
    /// display polling the same bucket shows the same code.
    fn create(&self, bucket: &Bucket) -> impl Future<Output = Result<Bucket, AppError>> + Send;
    /// Takes one use of `code` in `bucket_id` with a conditional decrement: never below zero,
    /// whatever the concurrency.
    fn consume(
        &self,
        bucket_id: i64,
        code: &str,
    ) -> impl Future<Output = Result<Consume, AppError>> + Send;
    /// Gives back one use taken by `consume` (when the order it started could not be placed).
    fn release(&self, bucket_id: i64) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// Puts events on the bus.
pub trait EventBus: Send + Sync {
    fn publish(&self, event: Event) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// Why a workflow callback failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackError {
    /// The token is unknown, already used, or its task timed out: the workflow moved on.
    TaskGone(String),
    Other(AppError),
}

/// Resumes a workflow that waits on a task token.
pub trait TaskCallbacks: Send + Sync {
    fn send_success(
        &self,
        task_token: &str,
        output: Value,
    ) -> impl Future<Output = Result<(), CallbackError>> + Send;
    fn send_failure(
        &self,
        task_token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<(), CallbackError>> + Send;
}

/// Whether a workflow start created an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new execution; its ARN.
    New(String),
    /// An execution with this name exists already: the order is being (or was) processed.
    AlreadyExists,
}

/// Starts the order workflow.
pub trait WorkflowStarter: Send + Sync {
    /// Starts one execution named `name` (the order id, so a redelivered message cannot start a
    /// second one) with `input`.
    fn start(
        &self,
        name: &str,
        input: &Value,
    ) -> impl Future<Output = Result<Started, AppError>> + Send;
}

/// The orders API's rows (seed 002), keyed by store and order id.
pub trait ApiOrderStore: Send + Sync {
    /// Creates the row unless its store and order id exist; `false` when it existed (the row
    /// is then left exactly as it was).
    fn create(&self, order: &ApiOrder) -> impl Future<Output = Result<bool, AppError>> + Send;
    /// The newest `limit` orders of exactly `user_id` in `store_id`, newest first.
    fn latest(
        &self,
        store_id: &str,
        user_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ApiOrder>, AppError>> + Send;
}

/// Publishes to the realtime (MQTT) topics the frontends subscribe to.
pub trait Realtime: Send + Sync {
    /// Publishes `payload` to `topic` at QoS 1.
    fn publish(
        &self,
        topic: &str,
        payload: &Value,
    ) -> impl Future<Output = Result<(), AppError>> + Send;
}

/// A charge the payment provider made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    #[serde(rename = "chargeId")]
    pub charge_id: String,
    pub amount: u64,
}

/// Why a payment call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentError {
    /// The provider refused (card declined, over the limit): final, do not retry.
    Declined(String),
    /// The provider could not be reached or failed: retry.
    Unavailable(AppError),
}

/// Takes and refunds payments. Both calls carry an idempotency key derived from the order id
/// (one for the charge, another for the refund): calling twice with the same key has the effect
/// of calling once.
pub trait PaymentProvider: Send + Sync {
    fn charge(
        &self,
        idempotency_key: &str,
        amount: u64,
        card: Option<&str>,
    ) -> impl Future<Output = Result<Charge, PaymentError>> + Send;
    fn refund(
        &self,
        idempotency_key: &str,
        charge: &Charge,
    ) -> impl Future<Output = Result<(), PaymentError>> + Send;
}

/// Gives a signed-in user's browser realtime access. In AWS, IoT Core lets an authenticated
/// Cognito identity read only what both its IAM role and an IoT policy attached to that identity
/// allow; this attaches the (read-only) policy to the caller's own identity.
pub trait RealtimeAccess: Send + Sync {
    /// `id_token` is the raw token the API's authorizer verified for `caller`. Returns the
    /// identity (identity-pool identity id in AWS) that now has access.
    fn grant(
        &self,
        caller: &crate::Caller,
        id_token: &str,
    ) -> impl Future<Output = Result<String, AppError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Caller;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A store that loses the first `lose` races, to exercise the retry loop.
    struct Racy {
        row: Mutex<Order>,
        lose: AtomicUsize,
    }

    impl OrderReader for Racy {
        async fn get(&self, _: &str) -> Result<Option<Order>, AppError> {
            Ok(Some(self.row.lock().unwrap().clone()))
        }
        async fn list_by_state(&self, _: OrderState, _: usize) -> Result<Vec<Order>, AppError> {
            Ok(vec![])
        }
        async fn list_by_user(&self, _: &str, _: usize) -> Result<Vec<Order>, AppError> {
            Ok(vec![])
        }
        async fn count_by_state(&self, _: OrderState) -> Result<u64, AppError> {
            Ok(0)
        }
    }

    impl OrderWriter for Racy {
        async fn create(&self, _: &Order) -> Result<bool, AppError> {
            Ok(true)
        }
        async fn replace(&self, order: &Order, expected: u64) -> Result<Replaced, AppError> {
            let mut row = self.row.lock().unwrap();
            if self.lose.load(Ordering::SeqCst) > 0 {
                self.lose.fetch_sub(1, Ordering::SeqCst);
                row.version += 1; // someone else wrote
                return Ok(Replaced::VersionChanged);
            }
            assert_eq!(row.version, expected);
            *row = order.clone();
            Ok(Replaced::Written)
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        // A tiny executor: these futures never actually wait.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn cancel() -> OrderCommand {
        OrderCommand::Cancel {
            caller: Caller::new("u", vec![]),
        }
    }

    #[test]
    fn a_lost_race_is_retried_on_the_fresh_row() {
        let store = Racy {
            row: Mutex::new(Order::new("o", "u", 0)),
            lose: AtomicUsize::new(2),
        };
        let done = block_on(apply_command(&store, "o", &cancel(), 5)).unwrap();
        assert_eq!(done.state, OrderState::Cancelled);
        assert_eq!(store.row.lock().unwrap().state, OrderState::Cancelled);
    }

    #[test]
    fn endless_races_end_in_a_conflict_not_a_loop() {
        let store = Racy {
            row: Mutex::new(Order::new("o", "u", 0)),
            lose: AtomicUsize::new(usize::MAX),
        };
        let err = block_on(apply_command(&store, "o", &cancel(), 5)).unwrap_err();
        assert_eq!(err.status(), 409);
    }

    #[test]
    fn the_per_user_limit_applies_to_qr_orders_only() {
        let c = ShopConfig {
            store_open: true,
            max_orders_per_user: 1,
            max_orders_in_queue: 10,
        };
        assert_eq!(c.per_user_limit(Channel::Qr), Some(1));
        assert_eq!(c.per_user_limit(Channel::Direct), None);
        assert_eq!(c.per_user_limit(Channel::Api), None);
        assert_eq!(
            SlotRefusal::ShopFull { max: 1 }.reason(),
            "the shop is at capacity (1 order waiting)"
        );
        assert_eq!(
            SlotRefusal::UserAtLimit { max: 2 }.reason(),
            "too many open orders for this customer (at most 2 orders at a time)"
        );
    }

    #[test]
    fn shop_config_defaults_its_limits() {
        let c: ShopConfig = serde_json::from_value(serde_json::json!({"storeOpen": true})).unwrap();
        assert_eq!((c.max_orders_per_user, c.max_orders_in_queue), (1, 10));
    }
}
