//! Every function of the template, wired to local adapters, invoked by logical id with the
//! JSON event Lambda would deliver. These are the very handler functions the Lambda binaries
//! run; only the adapters behind the ports differ.

use crate::hub::{HubRef, LocalBus, LocalCallbacks, LocalRealtime, LocalStarter};
use adapters::payment::LocalPaymentProvider;
use adapters::{
    ApiOrderTable, CartTable, CheckoutTable, ConfigTable, CounterTable, OrderTable, ProductTable,
    SlotTable, ValidatorTable,
};
use apigw::task::TaskFailure;
use domain::events::{Detail, WorkflowStarted};
use domain::lifecycle::Pricing;
use domain::numbering::DEFAULT_RESET_HOUR_UTC;
use domain::qr::QrPolicy;
use serde_json::Value;

/// A function invocation that failed, as Lambda reports it (`errorType`, `errorMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeError {
    pub error_type: String,
    pub message: String,
}

impl InvokeError {
    fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        InvokeError {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

impl From<TaskFailure> for InvokeError {
    fn from(f: TaskFailure) -> Self {
        InvokeError::new(f.error, f.cause)
    }
}

impl From<domain::AppError> for InvokeError {
    fn from(e: domain::AppError) -> Self {
        InvokeError::new("AppError", e.message())
    }
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, payload: Value) -> Result<T, InvokeError> {
    serde_json::from_value(payload)
        .map_err(|e| InvokeError::new("Runtime.UnmarshalError", format!("{what}: {e}")))
}

fn encode(v: impl serde::Serialize) -> Result<Value, InvokeError> {
    serde_json::to_value(v).map_err(|e| InvokeError::new("Runtime.MarshalError", e.to_string()))
}

/// Settings the template passes to functions as environment variables.
#[derive(Debug, Clone)]
pub struct FunctionSettings {
    pub qr: QrPolicy,
    pub reset_hour_utc: u32,
    pub grace_seconds: u64,
    pub pricing: Pricing,
    /// Where product images are served (the stack's `/assets`).
    pub assets_base_url: String,
    /// How long a cart line holds its stock (scaled like every wait by the stack).
    pub cart_hold_ms: i64,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        FunctionSettings {
            qr: QrPolicy::default(),
            reset_hour_utc: DEFAULT_RESET_HOUR_UTC,
            grace_seconds: 30,
            pricing: Pricing::default(),
            assets_base_url: "/assets".to_owned(),
            cart_hold_ms: 15 * 60_000,
        }
    }
}

pub struct LocalFunctions {
    config: ConfigTable,
    validator: ValidatorTable,
    counters: CounterTable,
    order_manager: order_manager::OrderManager<
        OrderTable,
        ConfigTable,
        LocalBus,
        LocalCallbacks,
        ApiOrderTable,
    >,
    manage_state: manage_state::ManageState<OrderTable, ConfigTable, LocalBus, SlotTable>,
    payments: process_payment::ProcessPayment<OrderTable, LocalPaymentProvider>,
    restaurant: send_to_restaurant::SendToRestaurant<OrderTable, ConfigTable, LocalBus>,
    catalog: catalog::Catalog<ProductTable>,
    cart: cart::Cart<CartTable, ProductTable, CheckoutTable, LocalBus, OrderTable>,
    bus: LocalBus,
    starter: LocalStarter,
    realtime: LocalRealtime,
    settings: FunctionSettings,
}

/// The logical ids this registry serves (those of template.yaml).
pub const FUNCTIONS: [&str; 11] = [
    "ConfigFunction",
    "QrValidatorFunction",
    "CountingFunction",
    "OrderManagerFunction",
    "ManageStateFunction",
    "ProcessPaymentFunction",
    "SendToRestaurantFunction",
    "SqsPollerFunction",
    "PublisherFunction",
    "CatalogFunction",
    "CartFunction",
];

impl LocalFunctions {
    pub fn new(dynamo: aws_sdk_dynamodb::Client, hub: HubRef, settings: FunctionSettings) -> Self {
        let orders = OrderTable::new(dynamo.clone(), "OrderTable");
        let config = ConfigTable::new(dynamo.clone(), "ConfigTable");
        let bus = LocalBus(hub.clone());
        LocalFunctions {
            validator: ValidatorTable::new(dynamo.clone(), "ValidatorTable"),
            counters: CounterTable::new(dynamo.clone(), "CountingTable", "OrderTable"),
            order_manager: order_manager::OrderManager {
                orders: orders.clone(),
                config: config.clone(),
                bus: bus.clone(),
                callbacks: LocalCallbacks(hub.clone()),
                api_orders: ApiOrderTable::new(dynamo.clone(), "OrdersApiTable"),
            },
            manage_state: manage_state::ManageState {
                orders: orders.clone(),
                config: config.clone(),
                bus: bus.clone(),
                slots: SlotTable::new(dynamo.clone(), "CountingTable", "OrderTable"),
                grace_seconds: settings.grace_seconds,
            },
            payments: process_payment::ProcessPayment {
                orders: orders.clone(),
                provider: LocalPaymentProvider::default(),
            },
            catalog: catalog::Catalog {
                products: ProductTable::new(dynamo.clone(), "ProductsTable"),
                assets_base_url: settings.assets_base_url.clone(),
            },
            cart: cart::Cart {
                carts: CartTable::new(dynamo.clone(), "CartTable", "ProductsTable"),
                products: ProductTable::new(dynamo.clone(), "ProductsTable"),
                checkouts: CheckoutTable::new(
                    dynamo.clone(),
                    "CheckoutsTable",
                    "CartTable",
                    "ProductsTable",
                ),
                bus: bus.clone(),
                orders: orders.clone(),
                hold_ms: settings.cart_hold_ms,
            },
            restaurant: send_to_restaurant::SendToRestaurant {
                orders,
                config: config.clone(),
                bus: bus.clone(),
            },
            config,
            bus,
            starter: LocalStarter(hub.clone()),
            realtime: LocalRealtime(hub),
            settings,
        }
    }

    /// [`invoke`](Self::invoke) behind a named future type, for callers (bus deliveries) whose
    /// own futures would otherwise be part of a recursive type.
    pub fn invoke_boxed<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> asl::BoxFuture<'a, Result<Value, InvokeError>> {
        Box::pin(self.invoke(function, payload))
    }

    /// Invokes `function` (a logical id) with `payload`, as Lambda would.
    pub async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        let now = chrono::Utc::now();
        let now_ms = now.timestamp_millis();
        match function {
            "ConfigFunction" => match config::Invocation::classify(payload)? {
                config::Invocation::Api(req) => {
                    encode(config::handle_api(&req, &self.config).await)
                }
                config::Invocation::Stream(ev) => {
                    encode(config::handle_stream(ev, &self.bus).await)
                }
                // No CloudFormation here: the local stack seeds the same rows when it starts.
                config::Invocation::CustomResource(_) => Err(InvokeError::new(
                    "Unsupported",
                    "custom resources exist only in a deployed stack",
                )),
            },
            "QrValidatorFunction" => {
                let req: apigw::Request = decode("API Gateway event", payload)?;
                encode(
                    qr_validator::handle(
                        &req,
                        &self.validator,
                        &self.bus,
                        self.settings.qr,
                        now_ms,
                    )
                    .await,
                )
            }
            "CountingFunction" => {
                Ok(
                    counting::handle(&self.counters, payload, self.settings.reset_hour_utc, now)
                        .await?,
                )
            }
            "OrderManagerFunction" => match order_manager::Invocation::classify(payload)? {
                order_manager::Invocation::Api(req) => {
                    encode(self.order_manager.handle(&req, now_ms).await)
                }
                order_manager::Invocation::Bus {
                    detail_type,
                    detail,
                } => {
                    if detail_type == WorkflowStarted::DETAIL_TYPE {
                        self.order_manager
                            .on_workflow_started(&detail, now_ms)
                            .await?;
                    }
                    Ok(Value::Null)
                }
            },
            "ManageStateFunction" => Ok(self.manage_state.handle(payload, now_ms).await?),
            "ProcessPaymentFunction" => Ok(self.payments.handle(payload, now_ms).await?),
            "SendToRestaurantFunction" => Ok(self.restaurant.handle(payload, now_ms).await?),
            "SqsPollerFunction" => match sqs_poller::Invocation::classify(payload)? {
                sqs_poller::Invocation::Queue(batch) => encode(
                    sqs_poller::handle(batch, &self.starter, self.settings.pricing, now_ms).await,
                ),
                sqs_poller::Invocation::Stream(rows) => {
                    encode(sqs_poller::handle_stream(rows, &self.starter).await)
                }
            },
            "PublisherFunction" => {
                let event = decode("EventBridge event", payload)?;
                let published = publisher::handle(event, &self.realtime).await?;
                Ok(serde_json::json!({ "published": published }))
            }
            "CatalogFunction" => {
                let req: apigw::Request = decode("API Gateway event", payload)?;
                encode(self.catalog.handle(&req).await)
            }
            "CartFunction" => match cart::Invocation::classify(payload)? {
                cart::Invocation::Api(req) => encode(self.cart.handle(&req, now_ms).await),
                cart::Invocation::Sweep => {
                    Ok(serde_json::json!({ "released": self.cart.sweep(now_ms).await? }))
                }
                cart::Invocation::OrderFinished(detail) => {
                    self.cart.on_order_finished(&detail).await?;
                    Ok(Value::Null)
                }
            },
            other => Err(InvokeError::new(
                "ResourceNotFoundException",
                format!("no local function {other}"),
            )),
        }
    }
}
