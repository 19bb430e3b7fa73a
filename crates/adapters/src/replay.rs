//! Tests only: the SDK's own replaying HTTP client (`aws-smithy-http-client`'s test utilities)
//! answering one canned response, so the real SDK adapters run without a service, and the test
//! reads back the request the adapter sent.

use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;

/// A client that answers the first request with `status`, `headers` and `body`.
pub fn answering(status: u16, headers: &[(&str, &str)], body: &str) -> StaticReplayClient {
    let mut response = http::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    let response = response
        .body(SdkBody::from(body.to_owned()))
        .expect("a valid canned response");
    // The expected request is never compared: the tests assert on the one actually sent.
    let request = http::Request::builder()
        .uri("https://replay.invalid/")
        .body(SdkBody::empty())
        .expect("a valid placeholder request");
    StaticReplayClient::new(vec![ReplayEvent::new(request, response)])
}

/// The one request `client` was sent: method, path, query, headers, body.
pub struct Sent {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Sent {
    pub fn of(client: &StaticReplayClient) -> Sent {
        let request = client
            .actual_requests()
            .next()
            .expect("the adapter sent a request");
        let uri: http::Uri = request.uri().parse().expect("a valid request uri");
        Sent {
            method: request.method().to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or("").to_owned(),
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
                .collect(),
            body: request.body().bytes().unwrap_or_default().to_vec(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
