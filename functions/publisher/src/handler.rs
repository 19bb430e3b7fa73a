//! The publisher as a [`Function`]: its settings and how it is built on a platform.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use domain::ports::Realtime;
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};
use serde::Serialize;
use serde_json::Value;

/// Bus events to the frontends' realtime topics.
pub struct Publisher<R> {
    pub realtime: R,
}

pub type Handler<P> = Publisher<<P as Platform>::Realtime>;

pub struct Settings {
    /// The IoT data endpoint, as a URL.
    pub iot_endpoint_url: String,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        let endpoint = vars.required("IOT_DATA_ENDPOINT")?;
        Ok(Settings {
            iot_endpoint_url: crate::iot_endpoint_url(&endpoint)?,
        })
    }
}

impl<P: Platform> Build<P> for Handler<P> {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        Ok(Publisher {
            realtime: platform.realtime(&s.iot_endpoint_url),
        })
    }
}

/// How many topics the event went to.
#[derive(Debug, Serialize)]
pub struct Published {
    pub published: usize,
}

impl<R: Realtime + 'static> Function for Publisher<R> {
    const NAME: &'static str = "PublisherFunction";
    type Event = EventBridgeEvent<Value>;
    type Output = Published;

    async fn handle(
        &self,
        event: EventBridgeEvent<Value>,
        _: Context,
    ) -> Result<Published, FunctionError> {
        // An error fails the invocation, so the asynchronous invocation is retried.
        let published = crate::handle(event, &self.realtime).await?;
        Ok(Published { published })
    }
}
