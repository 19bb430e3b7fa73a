//! The order manager as a [`Function`]: its settings, how it is built on a platform, and its
//! one event type (an API request or a bus event).

use crate::{Invocation, OrderManager};
use adapters::{ApiOrderTable, ConfigTable, OrderTable};
use apigw::Response;
use domain::events::{Detail, WorkflowStarted};
use domain::ports::{
    ApiOrderStore, ConfigReader, EventBus, OrderReader, OrderWriter, TaskCallbacks,
};
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde::Serialize;

/// The order manager on a platform's ports.
pub type Handler<P> = OrderManager<
    OrderTable,
    ConfigTable,
    <P as Platform>::Bus,
    <P as Platform>::Callbacks,
    ApiOrderTable,
>;

pub struct Settings {
    pub order_table: String,
    pub config_table: String,
    pub orders_api_table: String,
    pub event_bus_name: String,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            order_table: vars.required("ORDER_TABLE")?,
            config_table: vars.required("CONFIG_TABLE")?,
            orders_api_table: vars.required("ORDERS_API_TABLE")?,
            event_bus_name: vars.required("EVENT_BUS_NAME")?,
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        let dynamo = platform.dynamo();
        Ok(OrderManager {
            orders: OrderTable::new(dynamo.clone(), s.order_table),
            config: ConfigTable::new(dynamo.clone(), s.config_table),
            api_orders: ApiOrderTable::new(dynamo, s.orders_api_table),
            bus: platform.bus(&s.event_bus_name),
            callbacks: platform.callbacks(),
        })
    }
}

function::deserialize_by!(Invocation, Invocation::classify);

/// The API's response, or nothing for a bus event.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Output {
    Api(Box<Response>),
    Event,
}

impl<O, C, B, T, A> Function for OrderManager<O, C, B, T, A>
where
    O: OrderReader + OrderWriter + 'static,
    C: ConfigReader + 'static,
    B: EventBus + 'static,
    T: TaskCallbacks + 'static,
    A: ApiOrderStore + 'static,
{
    const NAME: &'static str = "OrderManagerFunction";
    type Event = Invocation;
    type Output = Output;

    async fn handle(&self, event: Invocation, context: Context) -> Result<Output, FunctionError> {
        let now = context.now_ms();
        match event {
            Invocation::Api(req) => Ok(Output::Api(Box::new(
                OrderManager::handle(self, &req, now).await,
            ))),
            Invocation::Bus {
                detail_type,
                detail,
            } if detail_type == WorkflowStarted::DETAIL_TYPE => {
                // An error here makes EventBridge retry the delivery.
                self.on_workflow_started(&detail, now).await?;
                Ok(Output::Event)
            }
            Invocation::Bus { detail_type, .. } => {
                tracing::warn!(%detail_type, "no handler for this event");
                Ok(Output::Event)
            }
        }
    }
}
