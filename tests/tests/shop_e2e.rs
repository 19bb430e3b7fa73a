//! The e-commerce routes (seed 003) on the local stack, over HTTP through the gateway built
//! from template.yaml: catalogue, images under /assets, the cart with its stock holds.

use serde_json::{Value, json};

mod common;
use common::*;

async fn stock(l: &Local, id: &str) -> u64 {
    let (status, p) = l.call("GET", &format!("/products/{id}"), None, None).await;
    assert_eq!(status, 200, "{p}");
    p["stock"].as_u64().unwrap()
}

/// A request (method, path, token, body) and the 4xx it must get.
type Case<'a> = (&'a str, &'a str, Option<&'a String>, Option<Value>, u16);

async fn expect_refusals(l: &Local, cases: Vec<Case<'_>>) {
    for (method, path, token, body, want) in cases {
        let (status, b) = l.call(method, path, token.map(String::as_str), body).await;
        assert_eq!(status, want, "{method} {path}: {b}");
        assert!(b["message"].is_string(), "{method} {path}: {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browsing_the_catalogue_and_its_images() {
    let l = start(None).await;
    // Two pages of coffee, then the end.
    let (status, first) = l
        .call("GET", "/products?category=coffee&limit=4", None, None)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 4);
    let next = first["next"].as_str().unwrap();
    let (_, second) = l
        .call(
            "GET",
            &format!("/products?category=coffee&limit=4&next={next}"),
            None,
            None,
        )
        .await;
    let rest = second["items"].as_array().unwrap();
    assert!(rest.iter().all(|p| p["category"] == "coffee"));
    let mut ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest)
        .map(|p| p["productId"].as_str().unwrap())
        .collect();
    let count = ids.len();
    ids.dedup();
    assert_eq!((ids.len(), count), (6, 6), "the six menu drinks, each once");

    let (status, latte) = l.call("GET", "/products/latte", None, None).await;
    assert_eq!(status, 200);
    let url = latte["imageUrl"].as_str().unwrap();
    assert_eq!(url, "/assets/latte.svg");
    let (status, svg, headers) = l.call_text("GET", url, None, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert!(svg.starts_with("<svg"));
    let (status, _, headers) = l.call_text("GET", "/assets/beans.png", None, None).await;
    assert_eq!(
        (status, &headers["content-type"]),
        (200, &"image/png".parse().unwrap())
    );
    for bad in [
        "/assets/nope.svg",
        "/assets/..%2Ftemplate.yaml",
        "/assets/latte.exe",
    ] {
        let (status, b) = l.call("GET", bad, None, None).await;
        assert_eq!(status, 404, "{bad}: {b}");
    }

    // 4xx answers of the catalogue, from the gateway's models and from the function.
    let mocha = json!({"category": "coffee", "name": "Mocha", "price": 480, "currency": "USD",
                       "stock": 5, "imageKey": "latte.svg"});
    let cases: Vec<Case> = vec![
        ("GET", "/products/frappe", None, None, 404),
        ("GET", "/products?limit=500", None, None, 400),
        ("GET", "/products?next=forged", None, None, 400),
        ("PUT", "/products/mocha", None, Some(mocha.clone()), 401),
        (
            "PUT",
            "/products/mocha",
            Some(&l.customer),
            Some(mocha.clone()),
            403,
        ),
        ("DELETE", "/products/latte", Some(&l.customer), None, 403),
        (
            "PUT",
            "/products/mocha",
            Some(&l.barista),
            Some(json!({"name": "Mocha"})),
            400,
        ),
        ("DELETE", "/products/frappe", Some(&l.barista), None, 404),
    ];
    expect_refusals(&l, cases).await;
    let (status, saved) = l
        .call("PUT", "/products/mocha", Some(&l.barista), Some(mocha))
        .await;
    assert_eq!(
        (status, saved["imageUrl"].as_str()),
        (200, Some("/assets/latte.svg"))
    );
    let (status, _) = l
        .call("DELETE", "/products/mocha", Some(&l.barista), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cart_holds_stock_and_prices_from_the_catalogue() {
    let l = start(None).await;
    let before = stock(&l, "latte").await;
    let (status, cart) = l
        .call(
            "PUT",
            "/cart/items/latte",
            Some(&l.customer),
            Some(json!({"quantity": 2, "modifiers": ["Oat", "Vanilla"]})),
        )
        .await;
    assert_eq!(status, 200, "{cart}");
    let price = cart["items"][0]["unitPrice"].as_u64().unwrap();
    assert_eq!(cart["total"], json!(2 * price));
    assert_eq!(stock(&l, "latte").await, before - 2);
    let (_, mine) = l.call("GET", "/cart", Some(&l.customer), None).await;
    assert_eq!(mine, cart);
    let (_, theirs) = l.call("GET", "/cart", Some(&l.other), None).await;
    assert_eq!(theirs["items"], json!([]), "a cart is its owner's only");

    let cases: Vec<Case> = vec![
        ("GET", "/cart", None, None, 401),
        (
            "PUT",
            "/cart/items/latte",
            Some(&l.customer),
            Some(json!({"quantity": 0})),
            400,
        ),
        (
            "PUT",
            "/cart/items/latte",
            Some(&l.customer),
            Some(json!({"quantity": 100})),
            400,
        ),
        (
            "PUT",
            "/cart/items/latte",
            Some(&l.customer),
            Some(json!({"quantity": 1, "price": 1})),
            400,
        ),
        (
            "PUT",
            "/cart/items/latte",
            Some(&l.customer),
            Some(json!({})),
            400,
        ),
        (
            "PUT",
            "/cart/items/frappe",
            Some(&l.customer),
            Some(json!({"quantity": 1})),
            404,
        ),
        (
            "PUT",
            "/cart/items/latte",
            Some(&l.customer),
            Some(json!({"quantity": 1, "modifiers": ["Gin"]})),
            400,
        ),
        (
            "DELETE",
            "/cart/items/espresso",
            Some(&l.customer),
            None,
            404,
        ),
    ];
    expect_refusals(&l, cases).await;
    assert_eq!(
        stock(&l, "latte").await,
        before - 2,
        "refusals hold nothing"
    );
    let (status, emptied) = l.call("DELETE", "/cart", Some(&l.customer), None).await;
    assert_eq!((status, emptied["total"].clone()), (200, json!(0)));
    assert_eq!(stock(&l, "latte").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_hold_returns_its_stock_through_the_stack_s_sweeper() {
    // Time 1000x faster: the 15-minute hold lasts 0.9 s, the sweeper runs every 60 ms.
    let l = start_scaled(None, 0.001).await;
    let before = stock(&l, "americano").await;
    let (status, _) = l
        .call(
            "PUT",
            "/cart/items/americano",
            Some(&l.customer),
            Some(json!({"quantity": 3})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(stock(&l, "americano").await, before - 3);
    l.eventually(
        "the hold to expire and its stock to come back",
        async || (stock(&l, "americano").await == before).then_some(()),
    )
    .await;
    let (_, cart) = l.call("GET", "/cart", Some(&l.customer), None).await;
    assert_eq!(cart["items"], json!([]));
    // Returned once: later sweeps leave it alone.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stock(&l, "americano").await, before);
}

async fn checkout(l: &Local, key: Option<&str>) -> (u16, Value) {
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/cart/checkout")
        .header("authorization", format!("Bearer {}", l.customer));
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let res =
        tower::ServiceExt::oneshot(l.app.clone(), req.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn add(l: &Local, product: &str, quantity: u32) {
    let (status, b) = l
        .call(
            "PUT",
            &format!("/cart/items/{product}"),
            Some(&l.customer),
            Some(json!({ "quantity": quantity })),
        )
        .await;
    assert_eq!(status, 200, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkout_to_a_completed_order_keeps_the_stock_sold_and_is_idempotent() {
    let l = start(None).await;
    let (status, b) = checkout(&l, None).await;
    assert_eq!(
        (status, b["message"].as_str()),
        (409, Some("The cart is empty"))
    );
    let (status, _) = checkout(&l, Some("not a key!")).await;
    assert_eq!(status, 400);

    let before = stock(&l, "espresso").await;
    add(&l, "espresso", 2).await;
    let (status, first) = checkout(&l, Some("alice-order-1")).await;
    assert_eq!(status, 202, "{first}");
    let order_id = first["orderId"].as_str().unwrap().to_owned();
    let (_, cart) = l.call("GET", "/cart", Some(&l.customer), None).await;
    assert_eq!(cart["items"], json!([]), "the cart became the order");
    // The same key again: the same order, nothing new.
    let (status, again) = checkout(&l, Some("alice-order-1")).await;
    assert_eq!((status, &again), (202, &first));

    let execution = l.finished(&order_id).await;
    assert_eq!(execution["status"], "SUCCEEDED", "{execution}");
    let order = l.my_order(&order_id).await;
    assert_eq!(order["orderStatus"], "SUCCESS", "{order}");
    assert_eq!(order["channel"], "checkout");
    assert_eq!(
        order["amount"].as_u64(),
        Some(2 * 250),
        "charged the catalogue total"
    );
    // Sold: the held units do not come back.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stock(&l, "espresso").await, before - 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_declined_payment_returns_the_stock_once() {
    let l = start(None).await;
    // 5 x 12.00 = 60.00: the local provider declines amounts above 50.00.
    let before = stock(&l, "house-blend-250g").await;
    add(&l, "house-blend-250g", 5).await;
    assert_eq!(stock(&l, "house-blend-250g").await, before - 5);
    let (status, b) = checkout(&l, None).await;
    assert_eq!(status, 202, "{b}");
    let order_id = b["orderId"].as_str().unwrap().to_owned();
    l.finished(&order_id).await;
    let order = l.my_order(&order_id).await;
    assert_eq!(order["orderStatus"], "FAILURE", "{order}");
    l.eventually("the stock to come back", async || {
        (stock(&l, "house-blend-250g").await == before).then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stock(&l, "house-blend-250g").await, before, "returned once");
}

/// The template's per-route limit on the public catalogue (burst 40, 20/s): a flood beyond it
/// gets JSON 429s while the rest of the API keeps its own share.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_on_the_catalogue_is_throttled_with_json_429s() {
    let l = start(None).await;
    let (mut ok, mut throttled) = (0, 0);
    for _ in 0..100 {
        match l.call("GET", "/products/latte", None, None).await {
            (200, _) => ok += 1,
            (429, b) => {
                assert!(b["message"].is_string(), "{b}");
                throttled += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        ok >= 40 && throttled > 0,
        "{ok} answered, {throttled} throttled"
    );
    let (status, _) = l.call("GET", "/cart", Some(&l.customer), None).await;
    assert_eq!(status, 200, "other routes are not affected");
}
