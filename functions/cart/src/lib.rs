//! The cart (seed 003's cart domain): one cart per customer, the customer being the token's
//! `sub`; each line holds its units of stock for the hold time.
//!
//! | route | does |
//! |---|---|
//! | `GET /cart` | the lines with unit prices, line totals and the cart total, all from the catalogue |
//! | `PUT /cart/items/{productId}` `{quantity, modifiers}` | sets the line (1..=99), taking or returning the difference in stock; renews the hold |
//! | `DELETE /cart/items/{productId}` | removes the line and returns its stock (404 when there is none) |
//! | `DELETE /cart` | empties the cart, returning all of its stock |
//!
//! | `POST /cart/checkout` | the cart becomes an order: 202 `{"orderId"}` ([`checkout`]) |
//!
//! A scheduled invocation ([`Invocation::Sweep`]) releases the holds that have run out;
//! `OrderProcessor.orderFinished` settles a checkout's stock.

pub mod checkout;
mod handler;

pub use handler::{Handler, Settings};

use apigw::{Request, Response};
use domain::cart::{CartLine, CartStore, CartView, LineRequest, LineWrite, MAX_LINES, Released};
use domain::catalog::{Product, ProductId, ProductStore};
use domain::checkout::CheckoutStore;
use domain::ports::{EventBus, OrderReader};
use domain::{AppError, Caller};
use serde_json::Value;

/// How often one request re-reads after losing a race before it answers 409.
const MAX_ATTEMPTS: usize = 10;
/// Most holds one sweep releases (the next run takes the rest).
pub const SWEEP_BATCH: usize = 100;

/// The capabilities the cart uses.
pub struct Cart<C, P, K, B, O> {
    pub carts: C,
    pub products: P,
    pub checkouts: K,
    /// Where checked-out carts go (a rule routes them to the order queue).
    pub bus: B,
    /// Read when an order has finished, to settle its stock.
    pub orders: O,
    /// How long a line holds its stock (the `CartHoldMinutes` parameter).
    pub hold_ms: i64,
}

/// What one invocation carries: an API request, or the schedule's tick.
pub enum Invocation {
    Api(Box<Request>),
    Sweep,
    /// `OrderProcessor.orderFinished` from the bus (its detail).
    OrderFinished(Value),
}

impl Invocation {
    /// EventBridge schedules deliver `"source": "aws.events"` with `"detail-type": "Scheduled
    /// Event"`; anything else is an API Gateway request.
    pub fn classify(event: Value) -> Result<Self, AppError> {
        match event.get("detail-type").and_then(Value::as_str) {
            Some("Scheduled Event") => return Ok(Invocation::Sweep),
            Some("OrderProcessor.orderFinished") => {
                return Ok(Invocation::OrderFinished(event["detail"].clone()));
            }
            _ => {}
        }
        serde_json::from_value(event)
            .map(|r| Invocation::Api(Box::new(r)))
            .map_err(|e| AppError::bad_request(format!("Malformed API Gateway event: {e}")))
    }
}

fn raced() -> AppError {
    AppError::conflict("The cart is being changed by another request; try again")
}

impl<C, P, K, B, O> Cart<C, P, K, B, O>
where
    C: CartStore,
    P: ProductStore,
    K: CheckoutStore,
    B: EventBus,
    O: OrderReader,
{
    pub async fn handle(&self, req: &Request, now_ms: i64) -> Response {
        apigw::respond(self.route(req, now_ms).await)
    }

    async fn route(&self, req: &Request, now_ms: i64) -> Result<(u16, Value), AppError> {
        let (method, resource) = apigw::route(req);
        let caller = apigw::caller(req)?;
        let product = || apigw::path_param(req, "productId").and_then(ProductId::parse);
        match (method.as_str(), resource.as_str()) {
            ("GET", "/cart") => {}
            ("PUT", "/cart/items/{productId}") => {
                let id = product()?;
                let body: LineRequest = apigw::json_body(req)?;
                body.validate()?;
                self.set_line(&caller, &id, &body, now_ms).await?;
            }
            ("DELETE", "/cart/items/{productId}") => self.remove_line(&caller, &product()?).await?,
            ("DELETE", "/cart") => {
                for line in self.carts.lines(&caller.sub).await? {
                    match self.remove_line(&caller, &line.product_id).await {
                        // Released meanwhile (its hold ran out): nothing left to return.
                        Err(AppError::NotFound(_)) | Ok(()) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            ("POST", "/cart/checkout") => return self.checkout(req, &caller, now_ms).await,
            _ => return Err(apigw::no_route(req)),
        }
        Ok((200, self.view(&caller.sub).await?))
    }

    /// The cart priced from the catalogue as it is now.
    async fn view(&self, user: &str) -> Result<Value, AppError> {
        let lines = self.carts.lines(user).await?;
        let mut products: Vec<Product> = Vec::with_capacity(lines.len());
        for line in &lines {
            if let Some(p) = self.products.get(&line.product_id).await? {
                products.push(p);
            }
        }
        serde_json::to_value(CartView::build(&lines, &products))
            .map_err(|e| AppError::internal(format!("The cart could not be rendered: {e}")))
    }

    async fn set_line(
        &self,
        caller: &Caller,
        id: &ProductId,
        body: &LineRequest,
        now_ms: i64,
    ) -> Result<(), AppError> {
        for _ in 0..MAX_ATTEMPTS {
            let product = self
                .products
                .get(id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("Product {id} not found")))?;
            product.check_modifiers(&body.modifiers)?;
            let lines = self.carts.lines(&caller.sub).await?;
            let previous = lines.iter().find(|l| &l.product_id == id);
            if previous.is_none() {
                self.check_new_line(&lines, &product).await?;
            }
            let line = CartLine::next(&caller.sub, id, previous, body, now_ms, self.hold_ms);
            match self.carts.write_line(&line, previous).await? {
                LineWrite::Written => return Ok(()),
                LineWrite::OutOfStock => {
                    let held = previous.map_or(0, |p| p.quantity);
                    return Err(AppError::conflict(format!(
                        "Not enough {} in stock: {} more can be added (asked for {})",
                        product.name,
                        product.stock,
                        body.quantity.saturating_sub(held)
                    )));
                }
                LineWrite::Raced => continue,
            }
        }
        Err(raced())
    }

    /// A new line must fit the cart: room for it, and the cart's one currency.
    async fn check_new_line(&self, lines: &[CartLine], product: &Product) -> Result<(), AppError> {
        if lines.len() >= MAX_LINES {
            return Err(AppError::conflict(format!(
                "A cart holds at most {MAX_LINES} different products"
            )));
        }
        if let Some(other) = lines.first()
            && let Some(p) = self.products.get(&other.product_id).await?
            && p.currency != product.currency
        {
            return Err(AppError::conflict(format!(
                "The cart is in {}; {} is sold in {}",
                p.currency, product.name, product.currency
            )));
        }
        Ok(())
    }

    async fn remove_line(&self, caller: &Caller, id: &ProductId) -> Result<(), AppError> {
        for _ in 0..MAX_ATTEMPTS {
            let lines = self.carts.lines(&caller.sub).await?;
            let Some(line) = lines.iter().find(|l| &l.product_id == id) else {
                return Err(AppError::not_found(format!(
                    "Product {id} is not in the cart"
                )));
            };
            if self.carts.release(line, None).await? == Released::Returned {
                return Ok(());
            }
        }
        Err(raced())
    }

    /// Releases the holds that ended by `now_ms`; each release is conditional on the line
    /// being the one read and still expired, so a line the customer renewed or removed
    /// meanwhile is left alone. Returns how many were released.
    pub async fn sweep(&self, now_ms: i64) -> Result<usize, AppError> {
        let mut released = 0;
        for line in self.carts.expired(now_ms, SWEEP_BATCH).await? {
            if self.carts.release(&line, Some(now_ms)).await? == Released::Returned {
                released += 1;
            }
        }
        if released > 0 {
            tracing::info!(released, "expired stock holds released");
        }
        Ok(released)
    }
}
