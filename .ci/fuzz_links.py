"""schemathesis hooks for .ci/fuzz-api: how the API's operations chain, so that the stateful
phase acts on orders that exist (scan a QR code, then choose, cancel, claim, complete that
order; post a direct order, then read it; create an orders-API order, then list it) instead
of getting 404s for random ids.

The links are OpenAPI 3 link objects added to the document schemathesis loads, not to
template.yaml: they describe how to test the API, and API Gateway need not see them.
"""

import schemathesis


def _link(operation_id, **parameters):
    return {"operationId": operation_id, "parameters": parameters}


def _body_link(operation_id, body):
    return {"operationId": operation_id, "requestBody": body}


LINKS = {
    ("/qr-code", "get", "200"): {
        "RedeemTheCode": _link("redeemQrCode", token="$response.body#/bucket/last_code"),
    },
    ("/qr-code", "post", "200"): {
        name: _link(op, id="$response.body#/orderId")
        for name, op in [
            ("ReadTheOrder", "getOrder"),
            ("ChooseTheDrink", "putDrinkChoice"),
            ("CancelTheOrder", "cancelOrder"),
            ("ClaimTheOrder", "claimOrder"),
            ("CompleteTheOrder", "completeOrder"),
        ]
    },
    ("/orders", "post", "200"): {
        "ReadTheOrder": _link(
            "getOrder", id="$response.body#/SendMessageResponse/SendMessageResult/MessageId"
        ),
    },
    ("/new-order", "post", "201"): {
        "ListTheUsersOrders": _body_link(
            "listApiOrders",
            {"user_id": "$request.body#/user_id", "store_id": "$request.body#/store_id"},
        ),
    },
}


@schemathesis.hook
def before_load_schema(context, raw_schema):
    paths = raw_schema.get("paths", {})
    for (path, method, status), links in LINKS.items():
        operation = paths.get(path, {}).get(method)
        if operation is None:
            continue  # the route is gone: nothing to chain
        response = operation.setdefault("responses", {}).setdefault(
            status, {"description": "linked for fuzzing"}
        )
        response.setdefault("links", {}).update(links)
