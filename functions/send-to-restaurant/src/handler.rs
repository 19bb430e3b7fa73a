//! Send-to-restaurant as a [`Function`]: its settings and how it is built on a platform.

use crate::SendToRestaurant;
use adapters::{ConfigTable, OrderTable};
use domain::ports::{ConfigReader, EventBus, OrderReader, OrderWriter};
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde_json::Value;

pub type Handler<P> = SendToRestaurant<OrderTable, ConfigTable, <P as Platform>::Bus>;

pub struct Settings {
    pub order_table: String,
    pub config_table: String,
    pub event_bus_name: String,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            order_table: vars.required("ORDER_TABLE")?,
            config_table: vars.required("CONFIG_TABLE")?,
            event_bus_name: vars.required("EVENT_BUS_NAME")?,
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        let dynamo = platform.dynamo();
        Ok(SendToRestaurant {
            orders: OrderTable::new(dynamo.clone(), s.order_table),
            config: ConfigTable::new(dynamo, s.config_table),
            bus: platform.bus(&s.event_bus_name),
        })
    }
}

impl<O, C, B> Function for SendToRestaurant<O, C, B>
where
    O: OrderReader + OrderWriter + 'static,
    C: ConfigReader + 'static,
    B: EventBus + 'static,
{
    const NAME: &'static str = "SendToRestaurantFunction";
    type Event = Value;
    type Output = Value;

    async fn handle(&self, event: Value, context: Context) -> Result<Value, FunctionError> {
        Ok(SendToRestaurant::handle(self, event, context.now_ms()).await?)
    }
}
