//! The shop's catalogue: products with an id, a category, a name, a price in minor units, the
//! modifier groups a customer may choose from, the units in stock and an image.
//!
//! Ids and categories are parsed once at the edge ([`ProductId::parse`], [`Category::parse`]);
//! everything past the handler holds a value that is known to be valid. The catalogue is seeded
//! from the same menu the Serverlesspresso order app reads ([`seed_products`]): every drink of
//! the menu is a product, with the price, stock and image the catalogue seed adds.

use crate::AppError;
use crate::menu::{DrinkChoice, MenuItem, ModifierGroup, validate_choice};
use serde::{Deserialize, Serialize};
use std::future::Future;

const CATALOG_SEED_JSON: &str = include_str!("../seed/catalog.json");

/// Longest product id or category accepted (also the API's request models).
pub const MAX_ID_LEN: usize = 64;
/// Highest price accepted, in minor units (10,000.00).
pub const MAX_PRICE_MINOR: u64 = 1_000_000;
/// Most units one product may hold in stock.
pub const MAX_STOCK: u64 = 1_000_000;

fn is_slug(v: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
}

/// A string newtype of the slug alphabet (1 to 64 characters of `a-z`, `0-9` and `-`, not
/// leading), parsed once: `parse` answers 400 naming `$what`, serde goes through `parse`.
macro_rules! slug_newtype {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(v: &str) -> Result<Self, AppError> {
                if is_slug(v) {
                    Ok($name(v.to_owned()))
                } else {
                    Err(AppError::bad_request(format!(
                        "{} is 1 to {MAX_ID_LEN} characters of a-z, 0-9 and '-', not starting with '-'",
                        $what
                    )))
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = AppError;
            fn try_from(v: String) -> Result<Self, AppError> {
                Self::parse(&v)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_newtype!(
    /// A product id, e.g. `flat-white`.
    ProductId,
    "A product id"
);

slug_newtype!(
    /// A category, same alphabet as ids (`coffee`, `beans`).
    Category,
    "A category"
);

impl ProductId {
    /// The id a menu drink gets: its name in lower case, spaces as dashes ("Flat White" →
    /// "flat-white").
    pub fn from_drink_name(name: &str) -> Result<Self, AppError> {
        let slug: String = name
            .trim()
            .chars()
            .map(|c| {
                if c == ' ' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        Self::parse(&slug)
    }
}

/// A product as stored (`ProductsTable`, one item per product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    #[serde(rename = "productId")]
    pub id: ProductId,
    pub category: Category,
    pub name: String,
    /// Price in minor units of `currency` (cents).
    pub price: u64,
    /// ISO 4217 code, upper case.
    pub currency: String,
    #[serde(default)]
    pub modifiers: Vec<ModifierGroup>,
    /// Units that can still be reserved (carts hold the rest).
    pub stock: u64,
    #[serde(default = "yes")]
    pub available: bool,
    /// Key of the image in the product-images bucket (`flat-white.svg`).
    #[serde(rename = "imageKey")]
    pub image_key: String,
}

fn yes() -> bool {
    true
}

/// What an admin sends to create or replace a product (`PUT /products/{id}`); the id comes from
/// the path. Unknown fields are refused here as in the API's request model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub category: Category,
    pub name: String,
    pub price: u64,
    pub currency: String,
    #[serde(default)]
    pub modifiers: Vec<ModifierGroup>,
    pub stock: u64,
    #[serde(default = "yes")]
    pub available: bool,
    #[serde(rename = "imageKey")]
    pub image_key: String,
}

/// Whether `key` is an image key the catalogue accepts: a slug with a `.svg`/`.png`/`.jpg`
/// extension, so it can never name a path outside the image store.
pub fn is_image_key(key: &str) -> bool {
    key.rsplit_once('.')
        .is_some_and(|(stem, ext)| is_slug(stem) && matches!(ext, "svg" | "png" | "jpg" | "webp"))
}

impl ProductInput {
    pub fn into_product(self, id: ProductId) -> Result<Product, AppError> {
        let bad = |m: String| Err(AppError::bad_request(format!("Invalid product: {m}")));
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return bad("'name' must be 1 to 100 characters".into());
        }
        if self.price > MAX_PRICE_MINOR {
            return bad(format!(
                "'price' must be at most {MAX_PRICE_MINOR} minor units"
            ));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return bad("'currency' must be an ISO 4217 code such as USD".into());
        }
        if self.stock > MAX_STOCK {
            return bad(format!("'stock' must be at most {MAX_STOCK}"));
        }
        if !is_image_key(&self.image_key) {
            return bad("'imageKey' must be a file name such as latte.svg (a-z, 0-9, '-')".into());
        }
        if self.modifiers.len() > 10
            || self
                .modifiers
                .iter()
                .any(|g| g.name.is_empty() || g.options.is_empty() || g.options.len() > 20)
        {
            return bad("'modifiers' must be at most 10 named groups of 1 to 20 options".into());
        }
        Ok(Product {
            id,
            category: self.category,
            name: name.to_owned(),
            price: self.price,
            currency: self.currency,
            modifiers: self.modifiers,
            stock: self.stock,
            available: self.available,
            image_key: self.image_key,
        })
    }
}

impl Product {
    /// Checks a customer's modifiers with the menu's rules (each an option of one of the
    /// product's groups, at most one per group, none repeated) and that the product is on sale.
    pub fn check_modifiers(&self, modifiers: &[String]) -> Result<(), AppError> {
        let as_menu = MenuItem {
            drink: self.name.clone(),
            icon: String::new(),
            available: self.available,
            modifiers: self.modifiers.clone(),
        };
        validate_choice(
            std::slice::from_ref(&as_menu),
            &DrinkChoice {
                drink: self.name.clone(),
                modifiers: modifiers.to_vec(),
            },
        )
        .map(|_| ())
    }

    /// The product as the API shows it: the stored fields plus the image's public URL.
    pub fn view(&self, assets_base_url: &str) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        v["imageUrl"] = serde_json::Value::String(format!(
            "{}/{}",
            assets_base_url.trim_end_matches('/'),
            self.image_key
        ));
        v
    }
}

/// One page of a listing, with the opaque position of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageToken>,
}

/// Where a listing stopped: the last key read. Sent to clients base64url-encoded (opaque);
/// a token that does not decode to a valid key is a 400.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageToken {
    #[serde(rename = "p")]
    pub product_id: ProductId,
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
}

/// The catalogue's storage.
pub trait ProductStore: Send + Sync {
    fn get(&self, id: &ProductId)
    -> impl Future<Output = Result<Option<Product>, AppError>> + Send;
    /// Products of `category` (by the category index) or all, at most `limit`, after `after`.
    fn list(
        &self,
        category: Option<&Category>,
        limit: usize,
        after: Option<PageToken>,
    ) -> impl Future<Output = Result<Page<Product>, AppError>> + Send;
    /// Creates or replaces the product.
    fn put(&self, product: &Product) -> impl Future<Output = Result<(), AppError>> + Send;
    /// Deletes it; `false` when there was none.
    fn delete(&self, id: &ProductId) -> impl Future<Output = Result<bool, AppError>> + Send;
}

#[derive(Deserialize)]
struct SeedExtra {
    price: u64,
    currency: String,
    stock: u64,
    category: Category,
    #[serde(rename = "imageKey")]
    image_key: String,
}

#[derive(Deserialize)]
struct CatalogSeed {
    /// Per menu drink (by name): what the menu does not say.
    drinks: std::collections::BTreeMap<String, SeedExtra>,
    /// Products that are not drinks (beans, merchandise).
    #[serde(default)]
    other: Vec<Product>,
}

/// The catalogue a fresh stack starts with: every drink of the menu seed (`seed::config_rows`,
/// the `menu` row), with the name, modifiers and availability of the menu, then the other
/// products of the catalogue seed.
pub fn seed_products() -> Result<Vec<Product>, AppError> {
    let seed: CatalogSeed = serde_json::from_str(CATALOG_SEED_JSON)
        .map_err(|e| AppError::internal(format!("The catalogue seed is not valid: {e}")))?;
    let menu_row = crate::seed::config_rows()?
        .into_iter()
        .find(|r| r["PK"] == "menu")
        .ok_or_else(|| AppError::internal("The config seed has no menu row"))?;
    let menu: Vec<MenuItem> = serde_json::from_value(menu_row["value"].clone())
        .map_err(|e| AppError::internal(format!("The seed menu is not valid: {e}")))?;
    let mut products = Vec::new();
    for drink in menu {
        let extra = seed.drinks.get(&drink.drink).ok_or_else(|| {
            AppError::internal(format!(
                "The catalogue seed has no price for {}",
                drink.drink
            ))
        })?;
        products.push(Product {
            id: ProductId::from_drink_name(&drink.drink)?,
            category: extra.category.clone(),
            name: drink.drink,
            price: extra.price,
            currency: extra.currency.clone(),
            modifiers: drink.modifiers,
            stock: extra.stock,
            available: drink.available,
            image_key: extra.image_key.clone(),
        });
    }
    products.extend(seed.other);
    Ok(products)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_categories_are_parsed_once_and_strictly() {
        assert_eq!(
            ProductId::parse("flat-white").unwrap().as_str(),
            "flat-white"
        );
        for bad in ["", "Flat", "a b", "-x", "x/y", "../etc", &"a".repeat(65)] {
            assert_eq!(ProductId::parse(bad).unwrap_err().status(), 400, "{bad}");
            assert!(Category::parse(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<ProductId>(json!("UPPER")).is_err());
        assert_eq!(
            ProductId::from_drink_name("Coffee of the day")
                .unwrap()
                .as_str(),
            "coffee-of-the-day"
        );
    }

    #[test]
    fn every_menu_drink_is_a_product_with_the_menu_s_name_modifiers_and_availability() {
        let products = seed_products().unwrap();
        let rows = crate::seed::config_rows().unwrap();
        let menu: Vec<MenuItem> = serde_json::from_value(rows[1]["value"].clone()).unwrap();
        for drink in &menu {
            let p = products.iter().find(|p| p.name == drink.drink).unwrap();
            assert_eq!(p.modifiers, drink.modifiers);
            assert_eq!(p.available, drink.available);
            assert!(p.price > 0 && p.stock > 0 && is_image_key(&p.image_key));
        }
        let mut ids: Vec<_> = products.iter().map(|p| p.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), products.len(), "ids are unique");
        assert!(
            products.len() > menu.len(),
            "the seed also sells other things"
        );
    }

    #[test]
    fn product_input_is_validated() {
        let good = json!({"category": "coffee", "name": "Mocha", "price": 480, "currency": "USD",
                          "stock": 10, "imageKey": "mocha.svg",
                          "modifiers": [{"Name": "Milk", "Options": ["Oat"]}]});
        let id = ProductId::parse("mocha").unwrap();
        let p = serde_json::from_value::<ProductInput>(good.clone())
            .unwrap()
            .into_product(id.clone())
            .unwrap();
        assert!(p.available && p.price == 480);
        let cases = [
            ("price", json!(MAX_PRICE_MINOR + 1)),
            ("currency", json!("usd")),
            ("name", json!(" ")),
            ("imageKey", json!("../x.svg")),
            ("imageKey", json!("x.exe")),
            ("stock", json!(MAX_STOCK + 1)),
        ];
        for (field, value) in cases {
            let mut body = good.clone();
            body[field] = value;
            let input: ProductInput = serde_json::from_value(body).unwrap();
            assert_eq!(
                input.into_product(id.clone()).unwrap_err().status(),
                400,
                "{field}"
            );
        }
        let mut extra = good.clone();
        extra["productId"] = json!("other");
        assert!(serde_json::from_value::<ProductInput>(extra).is_err());
    }

    #[test]
    fn modifiers_follow_the_menu_rules_and_the_view_carries_the_image_url() {
        let p = seed_products()
            .unwrap()
            .into_iter()
            .find(|p| p.id.as_str() == "latte")
            .unwrap();
        assert!(p.check_modifiers(&["Oat".into(), "Vanilla".into()]).is_ok());
        assert!(p.check_modifiers(&["Oat".into(), "Soy".into()]).is_err());
        assert!(p.check_modifiers(&["Ketchup".into()]).is_err());
        let v = p.view("https://cdn.example/");
        assert_eq!(
            v["imageUrl"],
            format!("https://cdn.example/{}", p.image_key)
        );
        assert_eq!(v["productId"], "latte");
    }
}
