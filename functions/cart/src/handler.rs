//! The cart as a [`Function`]: its settings, how it is built on a platform, and its one event
//! type (an API request, the sweeper's schedule tick, or `OrderProcessor.orderFinished`).

use crate::{Cart, Invocation};
use adapters::{CartTable, CheckoutTable, OrderTable, ProductTable};
use apigw::Response;
use domain::cart::CartStore;
use domain::catalog::ProductStore;
use domain::checkout::CheckoutStore;
use domain::ports::{EventBus, OrderReader};
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde::Serialize;

/// The cart on a platform's ports.
pub type Handler<P> =
    Cart<CartTable, ProductTable, CheckoutTable, <P as Platform>::Bus, OrderTable>;

pub struct Settings {
    pub cart_table: String,
    pub products_table: String,
    pub checkouts_table: String,
    pub order_table: String,
    pub event_bus_name: String,
    /// `CartHoldMinutes`; fractional on a time-scaled local stack.
    pub hold_minutes: f64,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            cart_table: vars.required("CART_TABLE")?,
            products_table: vars.required("PRODUCTS_TABLE")?,
            checkouts_table: vars.required("CHECKOUTS_TABLE")?,
            order_table: vars.required("ORDER_TABLE")?,
            event_bus_name: vars.required("EVENT_BUS_NAME")?,
            hold_minutes: vars.parse("CART_HOLD_MINUTES")?,
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        let dynamo = platform.dynamo();
        Ok(Cart {
            carts: CartTable::new(dynamo.clone(), &s.cart_table, &s.products_table),
            checkouts: CheckoutTable::new(
                dynamo.clone(),
                s.checkouts_table,
                &s.cart_table,
                &s.products_table,
            ),
            orders: OrderTable::new(dynamo.clone(), s.order_table),
            products: ProductTable::new(dynamo, s.products_table),
            bus: platform.bus(&s.event_bus_name),
            hold_ms: (s.hold_minutes * 60_000.0).round() as i64,
        })
    }
}

function::deserialize_by!(Invocation, Invocation::classify);

/// The API's response, the sweep's count, or nothing for a bus event.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Output {
    Api(Box<Response>),
    Swept { released: usize },
    Event,
}

impl<C, P, K, B, O> Function for Cart<C, P, K, B, O>
where
    C: CartStore + 'static,
    P: ProductStore + 'static,
    K: CheckoutStore + 'static,
    B: EventBus + 'static,
    O: OrderReader + 'static,
{
    const NAME: &'static str = "CartFunction";
    type Event = Invocation;
    type Output = Output;

    async fn handle(&self, event: Invocation, context: Context) -> Result<Output, FunctionError> {
        let now = context.now_ms();
        match event {
            Invocation::Api(req) => Ok(Output::Api(Box::new(Cart::handle(self, &req, now).await))),
            Invocation::Sweep => Ok(Output::Swept {
                released: self.sweep(now).await?,
            }),
            // An error here makes EventBridge retry the delivery.
            Invocation::OrderFinished(detail) => {
                self.on_order_finished(&detail).await?;
                Ok(Output::Event)
            }
        }
    }
}
