//! The orders API of seed 002: `POST /new-order` and `POST /user-orders`.
//!
//! | route | who | does |
//! |---|---|---|
//! | `POST /new-order` | a customer for themselves, or a store's system for its stores | creates the order once (conditional put); the order then enters the one lifecycle |
//! | `POST /user-orders` | the same | the newest 5 orders of that user in that store |
//!
//! Parse (the body into checked values), authorize (the token, never the body, says who may
//! act for whom), apply (one conditional write or one query), answer (the original's bodies,
//! whose `statusCode` is also the HTTP status).
//!
//! How an order created here reaches the workflow: the row **is** the accepted order. The
//! table's stream feeds it to `sqs-poller`, which starts the execution named by the row's
//! `lifecycle_id`, as it does for every queued order. So a crash right after the write loses
//! nothing (the stream keeps the record until it is handled), and no second write can fail
//! after the client was told "submitted".

use apigw::{Request, Response};
use domain::AppError;
use domain::orders_api::{
    ApiOrder, LIST_LIMIT, NewOrder, OrdersApiCaller, UserOrdersQuery, answer,
};
use domain::ports::ApiOrderStore;

/// Answers `POST /new-order` and `POST /user-orders`; `None` for any other route.
pub async fn handle<A: ApiOrderStore>(store: &A, req: &Request, now_ms: i64) -> Option<Response> {
    let (method, resource) = apigw::route(req);
    let outcome = match (method.as_str(), resource.as_str()) {
        ("POST", "/new-order") => new_order(store, req, now_ms).await,
        ("POST", "/user-orders") => user_orders(store, req).await,
        _ => return None,
    };
    Some(match outcome {
        Ok((status, body)) => apigw::json_text(status, body),
        Err(err) => apigw::respond(Err(err)),
    })
}

#[tracing::instrument(skip_all, fields(route = "POST /new-order"))]
async fn new_order<A: ApiOrderStore>(
    store: &A,
    req: &Request,
    now_ms: i64,
) -> Result<answer::Answer, AppError> {
    let caller = OrdersApiCaller::from_caller(&apigw::caller(req)?);
    let order = NewOrder::parse(&apigw::body_text(req)?)?;
    caller.authorize(&order.store_id, &order.user_id)?;
    let row = ApiOrder::new(&order, &caller, now_ms, adapters::ids::order_id());
    if store.create(&row).await? {
        tracing::info!(
            store_id = %row.store_id,
            order_id = %row.order_id,
            lifecycle_id = %row.lifecycle_id,
            "orders-API order created"
        );
        Ok(answer::created(order.order_id.as_str()))
    } else {
        tracing::info!(store_id = %row.store_id, order_id = %row.order_id, "order exists; left unchanged");
        Ok(answer::already_exists())
    }
}

#[tracing::instrument(skip_all, fields(route = "POST /user-orders"))]
async fn user_orders<A: ApiOrderStore>(
    store: &A,
    req: &Request,
) -> Result<answer::Answer, AppError> {
    let caller = OrdersApiCaller::from_caller(&apigw::caller(req)?);
    let query = UserOrdersQuery::parse(&apigw::body_text(req)?)?;
    caller.authorize(&query.store_id, &query.user_id)?;
    let orders = store
        .latest(query.store_id.as_str(), query.user_id.as_str(), LIST_LIMIT)
        .await?;
    if orders.is_empty() {
        Ok(answer::no_orders(query.user_id.as_str()))
    } else {
        Ok(answer::listed(&orders))
    }
}
