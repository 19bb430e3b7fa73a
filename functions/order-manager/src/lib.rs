//! The order manager: every Serverlesspresso order route (reference §5.1, Gen A), and the
//! Gen B barista app's `?action=` form of them (§6.2).
//!
//! | route | who | does |
//! |---|---|---|
//! | `GET /orders?state=&maxItems=` | admin | orders in a state (open: oldest first; finished: newest first) |
//! | `GET /orders/{id}` | owner or admin | the receipt |
//! | `GET /myOrders` | caller | the caller's orders, newest first |
//! | `PUT /orders/{id}` | owner | choose the drink; resumes the workflow |
//! | `PUT /orders/{id}?action=make\|unmake\|complete\|cancel` | as the Gen A route below | Gen B's barista app: the same action |
//! | `PUT /orders/complete/{id}` | admin | complete; resumes the workflow |
//! | `PUT /orders/cancel/{id}` | owner or admin | cancel; resumes the workflow |
//! | `PUT /orders/claim/{id}?action=make\|unmake` | admin | claim or release |
//! | `POST /new-order`, `POST /user-orders` | customer or store system | the orders API of seed 002 ([`orders_api`]) |
//!
//! Identity is the token's `sub`; every change is an [`OrderCommand`] applied with a
//! version-conditional write, so guards hold under concurrency and a finished order cannot be
//! changed (409 with the reason).
//!
//! The order row is the source of truth: a change is committed first, then the workflow is
//! resumed and the event emitted. For complete, cancel and claim, a failure after the commit is
//! logged and the request still succeeds (the change happened); the workflow's heartbeat
//! timeout then reconciles, because the workflow re-reads the order before acting on a timeout.
//! The drink choice is different: without the callback the workflow times out and cancels the
//! order, so a choice that cannot be passed on is withdrawn and answered 503 (see
//! `choose_drink`).

use apigw::{Request, Response};
use domain::events::{Detail, Event, MakeOrder, OrderCancelled, OrderCompleted, OrderEnded};
use domain::menu::{DrinkChoice, validate_choice};
use domain::order::{Order, OrderCommand, OrderState};
use domain::ports::{
    ApiOrderStore, CallbackError, ConfigReader, EventBus, OrderReader, OrderWriter, TaskCallbacks,
    apply_command,
};
use domain::{AppError, Caller, OrderId};

mod handler;
pub mod orders_api;
pub use handler::{Handler, Output, Settings};
use serde_json::{Value, json};

/// Default and largest page of `GET /orders` and `GET /myOrders`.
pub const MAX_ITEMS: usize = 100;

/// Pauses before the retries of a drink choice's workflow callback (three tries in all, under
/// a second, well inside the API's 29 s integration timeout).
const RESUME_RETRY_PAUSES_MS: [u64; 2] = [100, 400];

/// The capabilities the order manager uses.
pub struct OrderManager<O, C, B, T, A> {
    pub orders: O,
    pub config: C,
    pub bus: B,
    pub callbacks: T,
    /// The orders API's table (seed 002).
    pub api_orders: A,
}

impl<O, C, B, T, A> OrderManager<O, C, B, T, A>
where
    O: OrderReader + OrderWriter,
    C: ConfigReader,
    B: EventBus,
    T: TaskCallbacks,
    A: ApiOrderStore,
{
    pub async fn handle(&self, req: &Request, now_ms: i64) -> Response {
        // Boxed: its future is separate from the order routes' (and keeps the nesting of the
        // handler's future type within the compiler's layout depth).
        if let Some(answer) = Box::pin(orders_api::handle(&self.api_orders, req, now_ms)).await {
            return answer;
        }
        apigw::respond(self.route(req, now_ms).await)
    }

    async fn route(&self, req: &Request, now_ms: i64) -> Result<(u16, Value), AppError> {
        let (method, resource) = apigw::route(req);
        let caller = apigw::caller(req)?;
        // Parsed before anything else reads the id: an id no order can have is a 400.
        let id = || apigw::path_param(req, "id").and_then(OrderId::parse);
        match (method.as_str(), resource.as_str()) {
            ("GET", "/orders") => self.list(req, &caller).await,
            ("GET", "/orders/{id}") => self.receipt(&id()?, &caller).await,
            ("GET", "/myOrders") => self.mine(&caller).await,
            // Gen A's routes and Gen B's `?action=` name the same four actions: one dispatch.
            ("PUT", "/orders/{id}") => match OrderAction::from_query(req, &OrderAction::ALL)? {
                Some(action) => self.act(&id()?, caller, action, now_ms).await,
                None => {
                    let choice = drink_choice(req)?;
                    self.choose_drink(&id()?, caller, &choice, now_ms).await
                }
            },
            ("PUT", "/orders/complete/{id}") => {
                self.act(&id()?, caller, OrderAction::Complete, now_ms)
                    .await
            }
            ("PUT", "/orders/cancel/{id}") => {
                self.act(&id()?, caller, OrderAction::Cancel, now_ms).await
            }
            ("PUT", "/orders/claim/{id}") => {
                let claims = [OrderAction::Make, OrderAction::Unmake];
                match OrderAction::from_query(req, &claims)? {
                    Some(action) => self.act(&id()?, caller, action, now_ms).await,
                    None => Err(OrderAction::refused(&claims, None)),
                }
            }
            _ => Err(apigw::no_route(req)),
        }
    }

    /// A barista's or customer's action on an order, whichever route named it.
    async fn act(
        &self,
        id: &OrderId,
        caller: Caller,
        action: OrderAction,
        now_ms: i64,
    ) -> Result<(u16, Value), AppError> {
        match action {
            OrderAction::Make => {
                let barista = Some(caller.sub.clone());
                self.claim(id, caller, barista, now_ms).await
            }
            OrderAction::Unmake => self.claim(id, caller, None, now_ms).await,
            OrderAction::Complete => self.end(id, caller, false, now_ms).await,
            OrderAction::Cancel => self.end(id, caller, true, now_ms).await,
        }
    }

    async fn list(&self, req: &Request, caller: &Caller) -> Result<(u16, Value), AppError> {
        caller.require_admin()?;
        let state = apigw::query(req, "state")
            .ok_or_else(|| AppError::bad_request("Query parameter 'state' is required"))?;
        let state = OrderState::parse(state).ok_or_else(|| {
            AppError::bad_request(format!(
                "Unknown state '{state}': use CREATED, COMPLETED, CANCELLED or FAILED"
            ))
        })?;
        let limit = match apigw::query(req, "maxItems") {
            None => MAX_ITEMS,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_ITEMS).contains(n))
                .ok_or_else(|| {
                    AppError::bad_request(format!(
                        "Query parameter 'maxItems' must be a whole number from 1 to {MAX_ITEMS}"
                    ))
                })?,
        };
        let orders = self.orders.list_by_state(state, limit).await?;
        Ok((200, json!({ "result": views(&orders) })))
    }

    async fn receipt(&self, id: &OrderId, caller: &Caller) -> Result<(u16, Value), AppError> {
        let order = self.find(id).await?;
        order.check_readable_by(caller)?;
        Ok((200, json!({ "result": order.receipt() })))
    }

    async fn mine(&self, caller: &Caller) -> Result<(u16, Value), AppError> {
        let orders = self.orders.list_by_user(&caller.sub, MAX_ITEMS).await?;
        Ok((200, json!({ "result": views(&orders) })))
    }

    /// The drink choice is committed first and the workflow resumed after, because the
    /// workflow's later steps read the drink from the row (send-to-restaurant refuses a
    /// drinkless order); resuming first could let the workflow overtake the write. The commit is
    /// version-conditional, and if the workflow cannot be resumed (after a few tries) the
    /// choice is withdrawn and the answer is 503: the customer was not told the order is
    /// placed, the workflow still waits on the same token, and choosing again works.
    async fn choose_drink(
        &self,
        id: &OrderId,
        caller: Caller,
        choice: &DrinkChoice,
        now_ms: i64,
    ) -> Result<(u16, Value), AppError> {
        let drink = validate_choice(&self.config.menu().await?, choice)?;
        let order = apply_command(
            &self.orders,
            id.as_str(),
            &OrderCommand::ChooseDrink { caller, drink },
            now_ms,
        )
        .await?;
        if let Some(token) = &order.task_token {
            let output = json!({ "orderId": order.order_id, "drinkOrder": order.drink_order });
            match self.resume_with_retries(token, output).await {
                Ok(()) => {}
                Err(CallbackError::TaskGone(why)) => {
                    // The customer's time ran out between our read and our write; the
                    // workflow's timeout branch cancels the order.
                    tracing::info!(order_id = %id, %why, "drink chosen after the workflow stopped waiting");
                    return Err(AppError::conflict(
                        "The order timed out before the drink was chosen; please scan the code again",
                    ));
                }
                Err(CallbackError::Other(_)) => {
                    self.withdraw_drink(id, now_ms).await;
                    return Err(AppError::unavailable(
                        "The order could not be passed on right now; your drink choice was not saved, please try again",
                    ));
                }
            }
        }
        Ok((
            200,
            json!({ "result": { "Attributes": order.public_view() } }),
        ))
    }

    /// Resumes the workflow, retrying failures that may be passing (throttling, a network
    /// blip) with a short backoff; a gone task is final and returned at once.
    async fn resume_with_retries(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        let mut result = self.resume(token, output.clone()).await;
        for pause_ms in RESUME_RETRY_PAUSES_MS {
            if !matches!(result, Err(CallbackError::Other(_))) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
            result = self.resume(token, output.clone()).await;
        }
        result
    }

    /// Undoes a committed drink choice whose workflow could not be resumed. If this fails too,
    /// the order keeps the drink while the workflow waits; its heartbeat timeout then cancels
    /// the order, so it is logged loudly.
    async fn withdraw_drink(&self, id: &OrderId, now_ms: i64) {
        let withdraw = &OrderCommand::WithdrawDrink;
        if let Err(err) = apply_command(&self.orders, id.as_str(), withdraw, now_ms).await {
            tracing::error!(order_id = %id, %err, "drink choice not withdrawn after the workflow could not be resumed");
        }
    }

    /// Completing and cancelling: the same steps, a different command and event.
    async fn end(
        &self,
        id: &OrderId,
        caller: Caller,
        cancel: bool,
        now_ms: i64,
    ) -> Result<(u16, Value), AppError> {
        let actor = caller.sub.clone();
        let cmd = if cancel {
            OrderCommand::Cancel { caller }
        } else {
            OrderCommand::Complete { caller }
        };
        let order = apply_command(&self.orders, id.as_str(), &cmd, now_ms).await?;
        self.resume_quietly(&order, json!({ "cancelled": cancel }))
            .await;
        let ended = |message: &str| OrderEnded {
            action_user_id: actor,
            order_id: order.order_id.clone(),
            message: message.to_owned(),
            order: (&order).into(),
            user_id: order.user_id.clone(),
        };
        let event = if cancel {
            OrderCancelled(ended("The order was cancelled.")).to_event()
        } else {
            OrderCompleted(ended(
                "The barista completed the order; it is ready for pickup.",
            ))
            .to_event()
        };
        self.emit(event).await;
        Ok((200, json!({})))
    }

    async fn claim(
        &self,
        id: &OrderId,
        caller: Caller,
        barista: Option<String>,
        now_ms: i64,
    ) -> Result<(u16, Value), AppError> {
        let cmd = OrderCommand::Claim {
            caller,
            barista: barista.clone(),
        };
        let order = apply_command(&self.orders, id.as_str(), &cmd, now_ms).await?;
        let message = if barista.is_some() {
            "A barista is making the order."
        } else {
            "The barista put the order back in the queue."
        };
        self.emit(
            MakeOrder {
                barista_user_id: barista,
                order_id: order.order_id.clone(),
                message: message.to_owned(),
                order: order.public_view(),
                user_id: order.user_id.clone(),
            }
            .to_event(),
        )
        .await;
        Ok((200, json!({})))
    }

    /// `OrderProcessor.WorkflowStarted` from the bus: the workflow now waits for the customer's
    /// drink on `TaskToken`; store it so the drink choice can resume it. Redelivery is harmless
    /// (the same token is stored again); an order that already has its drink or has ended keeps
    /// its state, and the event is dropped with a log line (retrying cannot change that).
    pub async fn on_workflow_started(&self, detail: &Value, now_ms: i64) -> Result<(), AppError> {
        let field = |name: &str| {
            detail
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    AppError::bad_request(format!("WorkflowStarted detail lacks '{name}'"))
                })
        };
        let (order_id, token) = (OrderId::parse(field("orderId")?)?, field("TaskToken")?);
        let user_id = field("userId")?;
        // Only the workflow may emit this event (IAM: events:detail-type on PutEvents); and, as
        // the original's conditional write did, the token is stored only on an order of the
        // user the workflow names, so a stray event cannot hand a token to another's order.
        if let Some(order) = self.orders.get(order_id.as_str()).await?
            && order.user_id != user_id
        {
            tracing::warn!(%order_id, "WorkflowStarted for another user's order; token not stored");
            return Ok(());
        }
        let cmd = OrderCommand::AwaitCustomer {
            task_token: token.to_owned(),
        };
        match apply_command(&self.orders, order_id.as_str(), &cmd, now_ms).await {
            Ok(_) => Ok(()),
            Err(err @ (AppError::Conflict(_) | AppError::NotFound(_))) => {
                tracing::warn!(%order_id, %err, "customer task token not stored");
                Ok(())
            }
            Err(err) => Err(err),
        }
    }

    async fn find(&self, id: &OrderId) -> Result<Order, AppError> {
        self.orders
            .get(id.as_str())
            .await?
            .ok_or_else(|| AppError::not_found(format!("Order {id} not found")))
    }

    async fn resume(&self, token: &str, output: Value) -> Result<(), CallbackError> {
        let result = self.callbacks.send_success(token, output).await;
        if let Err(CallbackError::Other(err)) = &result {
            tracing::error!(%err, "the workflow could not be resumed; its heartbeat timeout will reconcile");
        }
        result
    }

    /// Resumes the workflow after a committed change; nothing to do if it is not waiting.
    async fn resume_quietly(&self, order: &Order, output: Value) {
        if let Some(token) = &order.task_token
            && let Err(CallbackError::TaskGone(why)) = self.resume(token, output).await
        {
            tracing::info!(order_id = %order.order_id, %why, "workflow was not waiting on this order");
        }
    }

    /// Emits after a committed change. The row is already right; a lost notification is logged.
    async fn emit(&self, event: Event) {
        if let Err(err) = self.bus.publish(event).await {
            tracing::error!(%err, "event not published after a committed change");
        }
    }
}

/// One invocation of the order manager: an API request, or an event from the bus.
pub enum Invocation {
    Api(Box<Request>),
    Bus { detail_type: String, detail: Value },
}

impl Invocation {
    pub fn classify(event: Value) -> Result<Self, AppError> {
        if let Some(detail_type) = event.get("detail-type").and_then(Value::as_str) {
            return Ok(Invocation::Bus {
                detail_type: detail_type.to_owned(),
                detail: event.get("detail").cloned().unwrap_or(Value::Null),
            });
        }
        serde_json::from_value(event)
            .map(|r| Invocation::Api(Box::new(r)))
            .map_err(|e| AppError::bad_request(format!("Malformed API Gateway event: {e}")))
    }
}

fn views(orders: &[Order]) -> Value {
    Value::Array(orders.iter().map(Order::public_view).collect())
}

/// What a barista (or, for cancel, the customer) does to an order: `?action=` of Gen B's
/// `PUT /orders/{id}` and of Gen A's `PUT /orders/claim/{id}`, or implied by Gen A's
/// `complete` and `cancel` paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderAction {
    Make,
    Unmake,
    Complete,
    Cancel,
}

impl OrderAction {
    const ALL: [OrderAction; 4] = [Self::Make, Self::Unmake, Self::Complete, Self::Cancel];

    fn name(self) -> &'static str {
        match self {
            Self::Make => "make",
            Self::Unmake => "unmake",
            Self::Complete => "complete",
            Self::Cancel => "cancel",
        }
    }

    /// `?action=` when present: one of `allowed`, else 400 naming them.
    fn from_query(req: &Request, allowed: &[OrderAction]) -> Result<Option<Self>, AppError> {
        let Some(raw) = apigw::query(req, "action") else {
            return Ok(None);
        };
        allowed
            .iter()
            .find(|a| a.name() == raw)
            .map(|a| Some(*a))
            .ok_or_else(|| Self::refused(allowed, Some(raw)))
    }

    fn refused(allowed: &[OrderAction], got: Option<&str>) -> AppError {
        let mut names: Vec<String> = allowed.iter().map(|a| format!("'{}'", a.name())).collect();
        let last = names.pop().unwrap_or_default();
        let choices = if names.is_empty() {
            last
        } else {
            format!("{} or {last}", names.join(", "))
        };
        AppError::bad_request(format!(
            "Query parameter 'action' must be {choices}, got {}",
            got.map_or("nothing".to_owned(), |s| format!("'{s}'"))
        ))
    }
}

/// The customer's drink choice of `PUT /orders/{id}` without `?action=`. The OpenAPI model lets
/// an empty body through (API Gateway validates a missing body as `{}`, and Gen B's barista app
/// sends none with its actions), so "neither an action nor a drink" is answered here.
fn drink_choice(req: &Request) -> Result<DrinkChoice, AppError> {
    let neither = || {
        AppError::bad_request(
            "A drink choice body is required (or ?action=make, unmake, complete or cancel)",
        )
    };
    if req.body.as_deref().is_none_or(|b| b.trim().is_empty()) {
        return Err(neither());
    }
    let body: Value = apigw::json_body(req)?;
    if body.as_object().is_some_and(|o| o.is_empty()) {
        return Err(neither());
    }
    serde_json::from_value(body)
        .map_err(|e| AppError::bad_request(format!("Invalid request body: {e}")))
}
