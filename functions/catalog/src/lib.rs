//! The catalogue (seed 003's products domain).
//!
//! | route | who | does |
//! |---|---|---|
//! | `GET /products?category=&limit=&next=` | anyone | one page of products (by category through the index), `next` = opaque token of the following page |
//! | `GET /products/{id}` | anyone | one product, 404 when unknown |
//! | `PUT /products/{id}` | admin | creates or replaces the product (stock as counted) |
//! | `DELETE /products/{id}` | admin | deletes it, 404 when unknown |
//!
//! Every product shown carries `imageUrl`: the image's key under the assets base URL
//! (CloudFront in AWS, the local stack's `/assets` locally).

mod handler;

pub use handler::{Handler, Settings};

use apigw::{Request, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::AppError;
use domain::catalog::{Category, PageToken, ProductId, ProductInput, ProductStore};
use serde_json::{Value, json};

/// Default and largest page of `GET /products`.
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// The capabilities the catalogue uses.
pub struct Catalog<P> {
    pub products: P,
    /// Where product images are served (`https://<distribution>.cloudfront.net`).
    pub assets_base_url: String,
}

impl<P: ProductStore> Catalog<P> {
    pub async fn handle(&self, req: &Request) -> Response {
        apigw::respond(self.route(req).await)
    }

    async fn route(&self, req: &Request) -> Result<(u16, Value), AppError> {
        let (method, resource) = apigw::route(req);
        let id = || apigw::path_param(req, "id").and_then(ProductId::parse);
        match (method.as_str(), resource.as_str()) {
            ("GET", "/products") => self.list(req).await,
            ("GET", "/products/{id}") => {
                let id = id()?;
                let product = self.products.get(&id).await?.ok_or_else(|| unknown(&id))?;
                Ok((200, product.view(&self.assets_base_url)))
            }
            ("PUT", "/products/{id}") => {
                apigw::caller(req)?.require_admin()?;
                let id = id()?;
                let product = apigw::json_body::<ProductInput>(req)?.into_product(id)?;
                self.products.put(&product).await?;
                tracing::info!(product = %product.id, "product saved");
                Ok((200, product.view(&self.assets_base_url)))
            }
            ("DELETE", "/products/{id}") => {
                apigw::caller(req)?.require_admin()?;
                let id = id()?;
                if !self.products.delete(&id).await? {
                    return Err(unknown(&id));
                }
                tracing::info!(product = %id, "product deleted");
                Ok((200, json!({ "productId": id, "deleted": true })))
            }
            _ => Err(apigw::no_route(req)),
        }
    }

    async fn list(&self, req: &Request) -> Result<(u16, Value), AppError> {
        let category = apigw::query(req, "category")
            .map(Category::parse)
            .transpose()?;
        let limit = match apigw::query(req, "limit") {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    AppError::bad_request(format!(
                        "Query parameter 'limit' must be a whole number from 1 to {MAX_LIMIT}"
                    ))
                })?,
        };
        let after = apigw::query(req, "next").map(decode_token).transpose()?;
        if let Some(token) = &after
            && token.category.as_ref() != category.as_ref()
        {
            return Err(bad_token());
        }
        let page = self.products.list(category.as_ref(), limit, after).await?;
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|p| p.view(&self.assets_base_url))
            .collect();
        let next = page.next.map(|t| encode_token(&t));
        Ok((200, json!({ "items": items, "next": next })))
    }
}

fn unknown(id: &ProductId) -> AppError {
    AppError::not_found(format!("Product {id} not found"))
}

fn bad_token() -> AppError {
    AppError::bad_request(
        "Query parameter 'next' is not a token this listing gave out (pass it back unchanged, with the same category)",
    )
}

/// The page token as clients see it: base64url of its JSON, opaque to them.
pub fn encode_token(token: &PageToken) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).unwrap_or_default())
}

/// Reads a token back; anything that is not one (wrong base64, other JSON, invalid ids) is a
/// 400, never passed to the database.
pub fn decode_token(raw: &str) -> Result<PageToken, AppError> {
    if raw.len() > 512 {
        return Err(bad_token());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad_token())?;
    serde_json::from_slice(&bytes).map_err(|_| bad_token())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_are_refused() {
        let t = PageToken {
            product_id: ProductId::parse("latte").unwrap(),
            category: Some(Category::parse("coffee").unwrap()),
        };
        assert_eq!(decode_token(&encode_token(&t)).unwrap(), t);
        let forged = URL_SAFE_NO_PAD.encode(br#"{"p":"../../x"}"#);
        for bad in ["!!", "e30", forged.as_str(), &"A".repeat(600)] {
            assert_eq!(decode_token(bad).unwrap_err().status(), 400, "{bad}");
        }
    }
}
