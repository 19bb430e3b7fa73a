//! The QR validator as a [`Function`]: its settings and how it is built on a platform.

use adapters::ValidatorTable;
use apigw::{Request, Response};
use domain::ports::{EventBus, QrBuckets};
use domain::qr::QrPolicy;
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};

pub struct QrValidator<Q, B> {
    pub buckets: Q,
    pub bus: B,
    pub policy: QrPolicy,
}

pub type Handler<P> = QrValidator<ValidatorTable, <P as Platform>::Bus>;

pub struct Settings {
    pub validator_table: String,
    pub event_bus_name: String,
    pub policy: QrPolicy,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            validator_table: vars.required("VALIDATOR_TABLE")?,
            event_bus_name: vars.required("EVENT_BUS_NAME")?,
            policy: QrPolicy {
                interval_minutes: vars.parse("QR_INTERVAL_MINUTES")?,
                tokens_per_bucket: vars.parse("QR_TOKENS_PER_BUCKET")?,
            },
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        Ok(QrValidator {
            buckets: ValidatorTable::new(platform.dynamo(), s.validator_table),
            bus: platform.bus(&s.event_bus_name),
            policy: s.policy,
        })
    }
}

impl<Q: QrBuckets + 'static, B: EventBus + 'static> Function for QrValidator<Q, B> {
    const NAME: &'static str = "QrValidatorFunction";
    type Event = Request;
    type Output = Response;

    async fn handle(&self, req: Request, context: Context) -> Result<Response, FunctionError> {
        let now = context.now_ms();
        Ok(crate::handle(&req, &self.buckets, &self.bus, self.policy, now).await)
    }
}
