//! The realtime-access route as a [`Function`]. Its one port differs by platform more than the
//! shared [`function::Platform`] ports do (an identity pool and IoT in AWS, nothing to attach on
//! the local stack), so each platform builds it with its own grant: the AWS one here, the local
//! one in `crates/local-stack/src/functions.rs`.

use adapters::realtime_access::IdentityPoolIotAccess;
use apigw::{Request, Response};
use domain::ports::RealtimeAccess;
use function::{AwsPlatform, Build, Context, Function, FunctionError, SettingsError, Vars};

pub struct RealtimeAccessFn<A> {
    pub access: A,
}

/// The function as Lambda runs it.
pub type Handler = RealtimeAccessFn<IdentityPoolIotAccess>;

pub struct Settings {
    pub identity_pool_id: String,
    pub user_pool_provider_name: String,
    pub realtime_iot_policy: String,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            identity_pool_id: vars.required("IDENTITY_POOL_ID")?,
            user_pool_provider_name: vars.required("USER_POOL_PROVIDER_NAME")?,
            realtime_iot_policy: vars.required("REALTIME_IOT_POLICY")?,
        })
    }
}

impl Build<AwsPlatform> for Handler {
    type Settings = Settings;

    fn build(s: Settings, platform: &AwsPlatform) -> Result<Self, SettingsError> {
        Ok(RealtimeAccessFn {
            access: IdentityPoolIotAccess::new(
                aws_sdk_cognitoidentity::Client::new(platform.sdk()),
                aws_sdk_iot::Client::new(platform.sdk()),
                s.identity_pool_id,
                s.user_pool_provider_name,
                s.realtime_iot_policy,
            ),
        })
    }
}

impl<A: RealtimeAccess + 'static> Function for RealtimeAccessFn<A> {
    const NAME: &'static str = "RealtimeAccessFunction";
    type Event = Request;
    type Output = Response;

    async fn handle(&self, req: Request, _: Context) -> Result<Response, FunctionError> {
        Ok(crate::handle(&req, &self.access).await)
    }
}
