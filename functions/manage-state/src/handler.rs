//! Manage-state as a [`Function`]: its settings and how it is built on a platform.

use crate::ManageState;
use adapters::{ConfigTable, OrderTable, SlotTable};
use domain::ports::{ConfigReader, EventBus, OrderReader, OrderSlots, OrderWriter};
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde_json::Value;

pub type Handler<P> = ManageState<OrderTable, ConfigTable, <P as Platform>::Bus, SlotTable>;

pub struct Settings {
    pub order_table: String,
    pub config_table: String,
    pub counting_table: String,
    pub event_bus_name: String,
    pub grace_seconds: u64,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            order_table: vars.required("ORDER_TABLE")?,
            config_table: vars.required("CONFIG_TABLE")?,
            counting_table: vars.required("COUNTING_TABLE")?,
            event_bus_name: vars.required("EVENT_BUS_NAME")?,
            grace_seconds: vars.parse("CANCELLATION_GRACE_SECONDS")?,
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        let dynamo = platform.dynamo();
        Ok(ManageState {
            orders: OrderTable::new(dynamo.clone(), s.order_table.clone()),
            slots: SlotTable::new(dynamo.clone(), s.counting_table, s.order_table),
            config: ConfigTable::new(dynamo, s.config_table),
            bus: platform.bus(&s.event_bus_name),
            grace_seconds: s.grace_seconds,
        })
    }
}

impl<O, C, B, S> Function for ManageState<O, C, B, S>
where
    O: OrderReader + OrderWriter + 'static,
    C: ConfigReader + 'static,
    B: EventBus + 'static,
    S: OrderSlots + 'static,
{
    const NAME: &'static str = "ManageStateFunction";
    type Event = Value;
    type Output = Value;

    async fn handle(&self, event: Value, context: Context) -> Result<Value, FunctionError> {
        Ok(ManageState::handle(self, event, context.now_ms()).await?)
    }
}
