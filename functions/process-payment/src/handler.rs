//! Process-payment as a [`Function`]: its settings and how it is built on a platform.

use crate::ProcessPayment;
use adapters::OrderTable;
use adapters::payment::LocalPaymentProvider;
use domain::ports::{OrderReader, OrderWriter, PaymentProvider};
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde_json::Value;

/// Process-payment on any platform: the provider is chosen by the settings, not the platform.
pub type Handler = ProcessPayment<OrderTable, LocalPaymentProvider>;

pub struct Settings {
    pub order_table: String,
    pub provider: LocalPaymentProvider,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        // Only the deterministic local provider exists so far; refuse to start with anything
        // else rather than silently not charging.
        let provider = match vars.required("PAYMENT_PROVIDER")?.as_str() {
            "local" => LocalPaymentProvider {
                // The local provider's own test behaviour (it declines above this), not a
                // deployment setting: overridable, but not in the template.
                limit_cents: vars.parse_or(
                    "PAYMENT_LIMIT_CENTS",
                    LocalPaymentProvider::default().limit_cents,
                )?,
            },
            other => {
                return Err(SettingsError::Invalid(format!(
                    "unknown PAYMENT_PROVIDER '{other}' (supported: local)"
                )));
            }
        };
        Ok(Settings {
            order_table: vars.required("ORDER_TABLE")?,
            provider,
        })
    }
}

impl<P: Platform> Build<P> for Handler {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        Ok(ProcessPayment {
            orders: OrderTable::new(platform.dynamo(), s.order_table),
            provider: s.provider,
        })
    }
}

impl<O, P> Function for ProcessPayment<O, P>
where
    O: OrderReader + OrderWriter + 'static,
    P: PaymentProvider + 'static,
{
    const NAME: &'static str = "ProcessPaymentFunction";
    type Event = Value;
    type Output = Value;

    async fn handle(&self, event: Value, context: Context) -> Result<Value, FunctionError> {
        Ok(ProcessPayment::handle(self, event, context.now_ms()).await?)
    }
}
