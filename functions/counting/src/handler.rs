//! The counting function as a [`Function`]: its settings and how it is built on a platform.

use adapters::CounterTable;
use domain::ports::OrderNumbers;
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde_json::Value;

/// Order numbers, restarting every business day at `reset_hour_utc`.
pub struct Counting<N> {
    pub numbers: N,
    pub reset_hour_utc: u32,
}

/// The counting function on any platform (it uses only DynamoDB).
pub type Handler = Counting<CounterTable>;

pub struct Settings {
    pub counting_table: String,
    pub order_table: String,
    pub reset_hour_utc: u32,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            counting_table: vars.required("COUNTING_TABLE")?,
            order_table: vars.required("ORDER_TABLE")?,
            reset_hour_utc: vars.parse("ORDER_NUMBER_RESET_HOUR_UTC")?,
        })
    }
}

impl<P: Platform> Build<P> for Counting<CounterTable> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        Ok(Counting {
            numbers: CounterTable::new(platform.dynamo(), s.counting_table, s.order_table),
            reset_hour_utc: s.reset_hour_utc,
        })
    }
}

impl<N: OrderNumbers + 'static> Function for Counting<N> {
    const NAME: &'static str = "CountingFunction";
    type Event = Value;
    type Output = Value;

    async fn handle(&self, event: Value, context: Context) -> Result<Value, FunctionError> {
        Ok(crate::handle(&self.numbers, event, self.reset_hour_utc, context.now).await?)
    }
}
