//! The cart against a real DynamoDB engine (embedded dynoxide): totals from the catalogue,
//! every 4xx, stock held and returned exactly once, and the race for the last units.

use adapters::memory::RecordingBus;
use adapters::{CartTable, CheckoutTable, OrderTable, ProductTable};
use apigw::testing::{claims, request};
use aws_lambda_events::encodings::Body;
use cart::Cart;
use domain::cart::CartStore;
use domain::catalog::{ProductId, ProductStore};
use local::testing::TestTables;
use serde_json::{Value, json};
use std::sync::Arc;

const NOW: i64 = 1_763_750_000_000;
const HOLD_MS: i64 = 15 * 60_000;

struct Shop {
    _tables: TestTables,
    cart: Cart<CartTable, ProductTable, CheckoutTable, RecordingBus, OrderTable>,
}

async fn shop() -> Shop {
    let tables = TestTables::start().await.unwrap();
    let client = tables.dynamo.client();
    Shop {
        cart: Cart {
            carts: CartTable::new(client.clone(), "CartTable", "ProductsTable"),
            products: ProductTable::new(client.clone(), "ProductsTable"),
            checkouts: CheckoutTable::new(client, "CheckoutsTable", "CartTable", "ProductsTable"),
            bus: RecordingBus::default(),
            orders: tables.orders.clone(),
            hold_ms: HOLD_MS,
        },
        _tables: tables,
    }
}

fn body(r: &apigw::Response) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

fn put(user: &str, product: &str, payload: &str) -> apigw::Request {
    request(
        "PUT",
        "/cart/items/{productId}",
        &format!("/cart/items/{product}"),
        &[("productId", product)],
        &[],
        Some(claims(user, &[])),
        Some(payload),
    )
}

fn delete_line(user: &str, product: &str) -> apigw::Request {
    request(
        "DELETE",
        "/cart/items/{productId}",
        &format!("/cart/items/{product}"),
        &[("productId", product)],
        &[],
        Some(claims(user, &[])),
        None,
    )
}

fn cart_route(method: &str, user: Option<&str>) -> apigw::Request {
    request(
        method,
        "/cart",
        "/cart",
        &[],
        &[],
        user.map(|u| claims(u, &[])),
        None,
    )
}

async fn call(shop: &Shop, req: apigw::Request, now: i64) -> (i64, Value) {
    let r = shop.cart.handle(&req, now).await;
    (r.status_code, body(&r))
}

async fn stock(shop: &Shop, id: &str) -> u64 {
    let id = ProductId::parse(id).unwrap();
    shop.cart.products.get(&id).await.unwrap().unwrap().stock
}

async fn set_stock(shop: &Shop, id: &str, units: u64) {
    let id = ProductId::parse(id).unwrap();
    let mut p = shop.cart.products.get(&id).await.unwrap().unwrap();
    p.stock = units;
    shop.cart.products.put(&p).await.unwrap();
}

#[tokio::test]
async fn lines_are_priced_from_the_catalogue_and_hold_their_stock() {
    let shop = shop().await;
    let before = stock(&shop, "latte").await;
    let (status, cart) = call(
        &shop,
        put("alice", "latte", r#"{"quantity":2,"modifiers":["Oat"]}"#),
        NOW,
    )
    .await;
    assert_eq!(status, 200, "{cart}");
    let (_, cart) = call(&shop, put("alice", "espresso", r#"{"quantity":1}"#), NOW).await;
    assert_eq!(stock(&shop, "latte").await, before - 2);
    let latte = cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["productId"] == "latte")
        .unwrap();
    assert_eq!(
        latte["lineTotal"],
        json!(latte["unitPrice"].as_u64().unwrap() * 2)
    );
    assert_eq!(latte["modifiers"], json!(["Oat"]));
    let sum: u64 = cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lineTotal"].as_u64().unwrap())
        .sum();
    assert_eq!(cart["total"], json!(sum));
    assert_eq!(cart["itemCount"], 3);

    // Changing the quantity moves the stock by the difference only.
    call(&shop, put("alice", "latte", r#"{"quantity":5}"#), NOW).await;
    assert_eq!(stock(&shop, "latte").await, before - 5);
    call(&shop, put("alice", "latte", r#"{"quantity":1}"#), NOW).await;
    assert_eq!(stock(&shop, "latte").await, before - 1);

    // Another customer's cart is separate.
    let (_, bobs) = call(&shop, cart_route("GET", Some("bob")), NOW).await;
    assert_eq!(bobs["items"], json!([]));
    assert_eq!(bobs["total"], 0);

    // Removing a line returns its stock; emptying returns the rest.
    let (status, _) = call(&shop, delete_line("alice", "latte"), NOW).await;
    assert_eq!(status, 200);
    assert_eq!(stock(&shop, "latte").await, before);
    let espresso = stock(&shop, "espresso").await;
    let (status, emptied) = call(&shop, cart_route("DELETE", Some("alice")), NOW).await;
    assert_eq!((status, emptied["items"].clone()), (200, json!([])));
    assert_eq!(stock(&shop, "espresso").await, espresso + 1);
}

#[tokio::test]
async fn every_bad_request_gets_its_4xx() {
    let shop = shop().await;
    let cases: Vec<(apigw::Request, i64, &str)> = vec![
        (cart_route("GET", None), 401, "no verified identity"),
        (put("alice", "nope", r#"{"quantity":1}"#), 404, "not found"),
        (
            put("alice", "Bad_Id", r#"{"quantity":1}"#),
            400,
            "product id",
        ),
        (
            put("alice", "latte", r#"{"quantity":0}"#),
            400,
            "from 1 to 99",
        ),
        (
            put("alice", "latte", r#"{"quantity":100}"#),
            400,
            "from 1 to 99",
        ),
        (
            put("alice", "latte", r#"{"quantity":"2"}"#),
            400,
            "Invalid request body",
        ),
        (
            put("alice", "latte", r#"{"quantity":1,"price":1}"#),
            400,
            "unknown field",
        ),
        (
            put(
                "alice",
                "latte",
                r#"{"quantity":1,"modifiers":["Ketchup"]}"#,
            ),
            400,
            "not an option",
        ),
        (
            put("alice", "coffee-of-the-day", r#"{"quantity":1}"#),
            400,
            "not available",
        ),
        (
            put("alice", "latte", "{not json"),
            400,
            "Invalid request body",
        ),
        (delete_line("alice", "latte"), 404, "not in the cart"),
    ];
    for (req, status, says) in cases {
        let (got, b) = call(&shop, req, NOW).await;
        assert_eq!(got, status, "{b}");
        assert!(
            b["message"].as_str().unwrap().contains(says),
            "{b} should say {says}"
        );
    }
    set_stock(&shop, "americano", 3).await;
    let (got, b) = call(&shop, put("alice", "americano", r#"{"quantity":4}"#), NOW).await;
    assert_eq!(got, 409, "{b}");
    assert!(b["message"].as_str().unwrap().contains("Not enough"));
    assert_eq!(stock(&shop, "americano").await, 3, "nothing taken");
}

/// The issue's race: 150 buyers at once for the last 100 units, one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_hundred_fifty_buyers_of_the_last_hundred_units_get_exactly_one_hundred() {
    let shop = Arc::new(shop().await);
    set_stock(&shop, "flat-white", 100).await;
    let mut tasks = Vec::new();
    for i in 0..150 {
        let shop = shop.clone();
        tasks.push(tokio::spawn(async move {
            call(
                &shop,
                put(&format!("buyer{i}"), "flat-white", r#"{"quantity":1}"#),
                NOW,
            )
            .await
        }));
    }
    let mut held = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            (200, _) => held += 1,
            (409, b) => {
                assert!(b["message"].as_str().unwrap().contains("Not enough"), "{b}");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((held, refused), (100, 50));
    assert_eq!(stock(&shop, "flat-white").await, 0, "never below zero");
}

#[tokio::test]
async fn expired_holds_return_their_stock_exactly_once() {
    let shop = shop().await;
    let before = stock(&shop, "cappuccino").await;
    call(&shop, put("alice", "cappuccino", r#"{"quantity":3}"#), NOW).await;
    call(
        &shop,
        put("bob", "cappuccino", r#"{"quantity":2}"#),
        NOW + 60_000,
    )
    .await;
    assert_eq!(stock(&shop, "cappuccino").await, before - 5);

    // Before the hold ends nothing is released.
    assert_eq!(shop.cart.sweep(NOW + HOLD_MS - 1).await.unwrap(), 0);
    // Alice's hold ends first; a second sweep finds nothing more to return.
    assert_eq!(shop.cart.sweep(NOW + HOLD_MS).await.unwrap(), 1);
    assert_eq!(shop.cart.sweep(NOW + HOLD_MS).await.unwrap(), 0);
    assert_eq!(stock(&shop, "cappuccino").await, before - 2);
    let (_, alices) = call(&shop, cart_route("GET", Some("alice")), NOW + HOLD_MS).await;
    assert_eq!(alices["items"], json!([]));

    // The sweeper and the customer's own delete race for Bob's expired line: stock comes back
    // once, whoever wins.
    let late = NOW + 60_000 + HOLD_MS;
    let line = shop.cart.carts.lines("bob").await.unwrap().remove(0);
    let own_delete = delete_line("bob", "cappuccino");
    let (swept, deleted) = tokio::join!(shop.cart.sweep(late), shop.cart.handle(&own_delete, late));
    let swept = swept.unwrap();
    assert!(
        (swept == 1) != (deleted.status_code == 200),
        "one of them released it"
    );
    assert_eq!(
        stock(&shop, "cappuccino").await,
        before,
        "returned exactly once"
    );
    // Releasing the line as it was read again changes nothing.
    use domain::cart::Released;
    assert_eq!(
        shop.cart.carts.release(&line, None).await.unwrap(),
        Released::Raced
    );
    assert_eq!(stock(&shop, "cappuccino").await, before);
}

#[tokio::test]
async fn a_renewed_hold_is_not_swept_and_a_deleted_product_s_line_is_just_removed() {
    let shop = shop().await;
    let before = stock(&shop, "latte").await;
    call(&shop, put("alice", "latte", r#"{"quantity":1}"#), NOW).await;
    // Alice changes her line just before the hold ends: the hold runs from the change.
    call(
        &shop,
        put("alice", "latte", r#"{"quantity":2}"#),
        NOW + HOLD_MS - 1,
    )
    .await;
    assert_eq!(shop.cart.sweep(NOW + HOLD_MS).await.unwrap(), 0);
    assert_eq!(stock(&shop, "latte").await, before - 2);

    call(
        &shop,
        put("alice", "reusable-cup", r#"{"quantity":1}"#),
        NOW,
    )
    .await;
    let cup = ProductId::parse("reusable-cup").unwrap();
    assert!(shop.cart.products.delete(&cup).await.unwrap());
    let (_, cart) = call(&shop, cart_route("GET", Some("alice")), NOW).await;
    assert_eq!(cart["unavailable"], json!(["reusable-cup"]));
    assert_eq!(cart["items"].as_array().unwrap().len(), 1, "not charged");
    let (status, _) = call(&shop, delete_line("alice", "reusable-cup"), NOW).await;
    assert_eq!(status, 200);
    assert!(
        shop.cart.products.get(&cup).await.unwrap().is_none(),
        "no stub product created"
    );
}

/// The `events/cart-*.json` samples (what `sam local invoke -e` sends) are served, the
/// schedule's tick included.
#[tokio::test]
async fn the_sample_events_are_answered() {
    let shop = shop().await;
    for (file, status) in [
        ("cart-put-item", 200),
        ("cart-get", 200),
        ("cart-checkout", 202),
        ("cart-put-item", 200),
        ("cart-delete-item", 200),
        ("cart-empty", 200),
    ] {
        let event = read_event(file);
        let cart::Invocation::Api(req) = cart::Invocation::classify(event).unwrap() else {
            panic!("{file} is an API request")
        };
        let (got, b) = call(&shop, *req, NOW).await;
        assert_eq!(got, status, "{file}: {b}");
    }
    assert!(matches!(
        cart::Invocation::classify(read_event("cart-sweep")).unwrap(),
        cart::Invocation::Sweep
    ));
    let cart::Invocation::OrderFinished(detail) =
        cart::Invocation::classify(read_event("cart-order-finished")).unwrap()
    else {
        panic!("cart-order-finished is an orderFinished event")
    };
    // Not a checkout order: nothing to settle, and no error (no redelivery).
    shop.cart.on_order_finished(&detail).await.unwrap();
    assert_eq!(shop.cart.bus.of_type("Cart.CheckoutAccepted").len(), 1);
}

fn read_event(name: &str) -> Value {
    let path = local::workspace_root().join(format!("events/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn checkout_request(user: &str, key: &str) -> apigw::Request {
    let mut req = cart_route("POST", Some(user));
    req.resource = Some("/cart/checkout".into());
    req.path = Some("/cart/checkout".into());
    req.request_context.resource_path = Some("/cart/checkout".into());
    req.headers.insert("idempotency-key", key.parse().unwrap());
    req
}

/// A failed order's stock comes back once, however often `orderFinished` is delivered; a
/// completed order's stays sold.
#[tokio::test]
async fn order_finished_settles_a_checkout_s_stock_exactly_once() {
    use domain::order::{Order, OrderState};
    use domain::ports::OrderWriter;
    let shop = shop().await;
    let before = stock(&shop, "latte").await;
    for (user, state) in [
        ("alice", OrderState::Failed),
        ("bob", OrderState::Completed),
    ] {
        call(&shop, put(user, "latte", r#"{"quantity":3}"#), NOW).await;
        let (status, b) = call(&shop, checkout_request(user, "k1"), NOW).await;
        assert_eq!(status, 202, "{b}");
        let order_id = b["orderId"].as_str().unwrap();
        let mut order = Order::new(order_id, user, NOW);
        order.state = state;
        shop.cart.orders.create(&order).await.unwrap();
        let detail = json!({"orderId": order_id, "userId": user});
        for _ in 0..3 {
            shop.cart.on_order_finished(&detail).await.unwrap();
        }
    }
    assert_eq!(
        stock(&shop, "latte").await,
        before - 3,
        "alice's 3 back once, bob's 3 sold"
    );
    // The held lines moved to the orders: the sweeper finds nothing to return later.
    assert_eq!(shop.cart.sweep(NOW + 10 * HOLD_MS).await.unwrap(), 0);
    assert_eq!(stock(&shop, "latte").await, before - 3);
    assert_eq!(shop.cart.bus.of_type("Cart.CheckoutAccepted").len(), 2);
}
