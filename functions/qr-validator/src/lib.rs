//! The QR validator: the display's rotating code and the customer's scan.
//!
//! * `GET /qr-code` (admin): the current bucket's code, created on first request; every display
//!   polling the same bucket gets the same code;
//! * `POST /qr-code?token=` (customer): takes one use of the current code with a conditional
//!   decrement (never more uses than the code has, whatever the concurrency), mints an order id
//!   and emits `Validator.NewOrder`, which starts the order's workflow.

mod handler;
pub use handler::{Handler, QrValidator, Settings};

use apigw::{Request, Response};
use domain::events::{Detail, ValidatorNewOrder};
use domain::ports::{Consume, EventBus, QrBuckets};
use domain::qr::{QrPolicy, ScanRejection, explain_rejection};
use domain::{AppError, Caller, QrCode};
use serde_json::{Value, json};

pub async fn handle<Q: QrBuckets, B: EventBus>(
    req: &Request,
    buckets: &Q,
    bus: &B,
    policy: QrPolicy,
    now_ms: i64,
) -> Response {
    let outcome = async {
        let (method, resource) = apigw::route(req);
        match (method.as_str(), resource.as_str()) {
            ("GET", "/qr-code") => {
                current_code(&apigw::caller(req)?, buckets, policy, now_ms).await
            }
            ("POST", "/qr-code") => {
                let caller = apigw::caller(req)?;
                let token = apigw::query(req, "token").ok_or_else(|| {
                    AppError::Unprocessable("Missing 'token' query string parameter".into())
                })?;
                // A code that cannot have been handed out never reaches the table.
                let code = QrCode::parse(token)?;
                scan(&caller, &code, buckets, bus, policy, now_ms).await
            }
            _ => Err(apigw::no_route(req)),
        }
    };
    apigw::respond(outcome.await)
}

async fn current_code<Q: QrBuckets>(
    caller: &Caller,
    buckets: &Q,
    policy: QrPolicy,
    now_ms: i64,
) -> Result<(u16, Value), AppError> {
    caller.require_admin()?;
    let id = policy.bucket_id(now_ms);
    let bucket = match buckets.get(id).await? {
        Some(b) => b,
        None => {
            buckets
                .create(&policy.new_bucket(id, adapters::ids::qr_code()))
                .await?
        }
    };
    Ok((200, json!({ "bucket": bucket })))
}

async fn scan<Q: QrBuckets, B: EventBus>(
    caller: &Caller,
    code: &QrCode,
    buckets: &Q,
    bus: &B,
    policy: QrPolicy,
    now_ms: i64,
) -> Result<(u16, Value), AppError> {
    let id = policy.bucket_id(now_ms);
    let bucket = match buckets.consume(id, code.as_str()).await? {
        Consume::Taken(bucket) => bucket,
        Consume::Refused(old) => {
            return match explain_rejection(old.as_ref(), code.as_str()) {
                ScanRejection::InvalidCode => Err(AppError::bad_request("Invalid code")),
                // The original's answer, which the order app relies on.
                ScanRejection::NoTokensRemaining => {
                    Ok((200, json!({ "error": "No tokens remaining" })))
                }
            };
        }
    };
    let order_id = adapters::ids::order_id();
    let event = ValidatorNewOrder {
        order_id: order_id.clone(),
        user_id: caller.sub.clone(),
        message: "A customer scanned the QR code; a new order has started.".to_owned(),
        bucket,
    }
    .to_event();
    if let Err(err) = bus.publish(event).await {
        // No workflow will ever see this order: give the use back so the code is not burnt.
        if let Err(release) = buckets.release(id).await {
            tracing::error!(%release, "could not give back the QR code use");
        }
        return Err(err);
    }
    Ok((200, json!({ "orderId": order_id })))
}
