//! The catalogue against a real DynamoDB engine (embedded dynoxide), seeded as a fresh stack.

use adapters::ProductTable;
use apigw::testing::{claims, request};
use aws_lambda_events::encodings::Body;
use catalog::Catalog;
use domain::catalog::seed_products;
use local::testing::TestTables;
use serde_json::{Value, json};
use std::collections::HashSet;

async fn catalog() -> (TestTables, Catalog<ProductTable>) {
    let t = TestTables::start().await.unwrap();
    let c = Catalog {
        products: ProductTable::new(t.dynamo.client(), "ProductsTable"),
        assets_base_url: "https://cdn.example".to_owned(),
    };
    (t, c)
}

fn body(r: &apigw::Response) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

fn list(query: &[(&str, &str)]) -> apigw::Request {
    request("GET", "/products", "/products", &[], query, None, None)
}

fn one(method: &str, id: &str, who: Option<Value>, payload: Option<&str>) -> apigw::Request {
    let path = format!("/products/{id}");
    request(
        method,
        "/products/{id}",
        &path,
        &[("id", id)],
        &[],
        who,
        payload,
    )
}

async fn call(c: &Catalog<ProductTable>, req: apigw::Request) -> (i64, Value) {
    let r = c.handle(&req).await;
    (r.status_code, body(&r))
}

/// Follows `next` until the listing ends; returns the ids in order.
async fn all_pages(c: &Catalog<ProductTable>, category: Option<&str>, limit: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut q = vec![("limit", limit)];
        if let Some(cat) = category {
            q.push(("category", cat));
        }
        if let Some(n) = &next {
            q.push(("next", n.as_str()));
        }
        let (status, page) = call(c, list(&q)).await;
        assert_eq!(status, 200, "{page}");
        for p in page["items"].as_array().unwrap() {
            if let Some(cat) = category {
                assert_eq!(p["category"], cat);
            }
            ids.push(p["productId"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(n) => next = Some(n.to_owned()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn browsing_by_category_pages_through_every_product_once() {
    let (_t, c) = catalog().await;
    let seeded = seed_products().unwrap();
    let coffee = all_pages(&c, Some("coffee"), "2").await;
    let expected: HashSet<String> = seeded
        .iter()
        .filter(|p| p.category.as_str() == "coffee")
        .map(|p| p.id.to_string())
        .collect();
    assert_eq!(coffee.len(), expected.len(), "no product twice: {coffee:?}");
    assert_eq!(coffee.iter().cloned().collect::<HashSet<_>>(), expected);
    let everything = all_pages(&c, None, "3").await;
    assert_eq!(everything.len(), seeded.len());
    assert_eq!(all_pages(&c, Some("tea"), "5").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_product_carries_its_price_and_image_url_and_unknown_ones_are_404() {
    let (_t, c) = catalog().await;
    let (status, latte) = call(&c, one("GET", "latte", None, None)).await;
    assert_eq!(status, 200);
    assert_eq!(latte["name"], "Latte");
    assert_eq!(latte["currency"], "USD");
    assert!(latte["price"].as_u64().unwrap() > 0);
    assert_eq!(latte["imageUrl"], "https://cdn.example/latte.svg");
    let (status, b) = call(&c, one("GET", "frappe", None, None)).await;
    assert_eq!(
        (status, b["message"].as_str().unwrap()),
        (404, "Product frappe not found")
    );
}

#[tokio::test]
async fn admins_write_and_delete_products_and_everyone_else_gets_a_4xx() {
    let (_t, c) = catalog().await;
    let mocha = r#"{"category":"coffee","name":"Mocha","price":480,"currency":"USD","stock":12,"imageKey":"latte.svg","modifiers":[{"Name":"Milk","Options":["Oat"]}]}"#;
    let admin = || Some(claims("boss", &["admin"]));
    let cases: Vec<(apigw::Request, i64)> = vec![
        (one("PUT", "mocha", None, Some(mocha)), 401),
        (
            one("PUT", "mocha", Some(claims("alice", &[])), Some(mocha)),
            403,
        ),
        (
            one("DELETE", "latte", Some(claims("alice", &[])), None),
            403,
        ),
        (one("PUT", "Mocha!", admin(), Some(mocha)), 400),
        (
            one("PUT", "mocha", admin(), Some(r#"{"name":"Mocha"}"#)),
            400,
        ),
        (
            one("PUT", "mocha", admin(), Some(&mocha.replace("480", "-1"))),
            400,
        ),
        (
            one(
                "PUT",
                "mocha",
                admin(),
                Some(&mocha.replace("latte.svg", "../x.svg")),
            ),
            400,
        ),
        (one("DELETE", "frappe", admin(), None), 404),
        (list(&[("limit", "0")]), 400),
        (list(&[("limit", "101")]), 400),
        (list(&[("limit", "ten")]), 400),
        (list(&[("category", "Coffee Drinks")]), 400),
        (list(&[("next", "garbage!")]), 400),
    ];
    for (req, status) in cases {
        let (got, b) = call(&c, req).await;
        assert_eq!(got, status, "{b}");
        assert!(b["message"].is_string(), "{b}");
    }
    let (status, saved) = call(&c, one("PUT", "mocha", admin(), Some(mocha))).await;
    assert_eq!((status, saved["stock"].clone()), (200, json!(12)));
    let (_, read) = call(&c, one("GET", "mocha", None, None)).await;
    assert_eq!(read, saved);
    // A token of one category's listing is refused for another's.
    let (_, page) = call(&c, list(&[("category", "coffee"), ("limit", "1")])).await;
    let token = page["next"].as_str().unwrap();
    let (status, _) = call(&c, list(&[("category", "beans"), ("next", token)])).await;
    assert_eq!(status, 400);
    let (status, _) = call(&c, one("DELETE", "mocha", admin(), None)).await;
    assert_eq!(status, 200);
    let (status, _) = call(&c, one("GET", "mocha", None, None)).await;
    assert_eq!(status, 404);
}

/// The `events/catalog-*.json` samples (what `sam local invoke -e` sends) are served.
#[tokio::test]
async fn the_sample_events_are_answered() {
    let (_t, c) = catalog().await;
    for (file, status) in [
        ("catalog-list", 200),
        ("catalog-get", 200),
        ("catalog-put", 200),
        ("catalog-delete", 200),
    ] {
        let path = local::workspace_root().join(format!("events/{file}.json"));
        let req: apigw::Request =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (got, b) = call(&c, req).await;
        assert_eq!(got, status, "{file}: {b}");
    }
}
