//! The catalogue as a [`Function`]: its settings and how it is built on a platform.

use crate::Catalog;
use adapters::ProductTable;
use apigw::{Request, Response};
use domain::catalog::ProductStore;
use function::{Build, Context, Function, FunctionError, Platform, SettingsError, Vars};

/// The catalogue on any platform (it needs only DynamoDB).
pub type Handler = Catalog<ProductTable>;

pub struct Settings {
    pub products_table: String,
    /// Where the images are served: the CloudFront distribution in AWS, `/assets` locally.
    pub assets_base_url: String,
}

impl function::Settings for Settings {
    fn from_vars(vars: &Vars) -> Result<Self, SettingsError> {
        Ok(Settings {
            products_table: vars.required("PRODUCTS_TABLE")?,
            assets_base_url: vars.required("ASSETS_BASE_URL")?,
        })
    }
}

impl<P: Platform> Build<P> for Handler {
    type Settings = Settings;

    fn build(s: Settings, platform: &P) -> Result<Self, SettingsError> {
        Ok(Catalog {
            products: ProductTable::new(platform.dynamo(), s.products_table),
            assets_base_url: s.assets_base_url,
        })
    }
}

impl<S: ProductStore + 'static> Function for Catalog<S> {
    const NAME: &'static str = "CatalogFunction";
    type Event = Request;
    type Output = Response;

    async fn handle(&self, req: Request, _: Context) -> Result<Response, FunctionError> {
        Ok(Catalog::handle(self, &req).await)
    }
}
