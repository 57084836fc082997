//! Upload caps against the real proxy server on loopback: past the per-client cap, and
//! then past the total cap, `POST /v2/<name>/blobs/uploads/` answers 429
//! TOOMANYREQUESTS; a finished or cancelled upload gives its slot back. Clients at two
//! loopback addresses (127.0.0.1, 127.0.0.2) count separately.

mod support;

use std::net::IpAddr;

use reqwest::StatusCode;
use support::Proxy;

fn client_at(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn uploads_past_the_caps_answer_429_toomanyrequests() {
    let proxy = Proxy::start(|cfg| {
        cfg.max_uploads_per_client = 3;
        cfg.max_uploads = 5;
    })
    .await;
    let (first, second) = (client_at("127.0.0.1"), client_at("127.0.0.2"));
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(proxy.start_upload(&first).await);
    }
    let refused = proxy.try_start_upload(&first).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "TOOMANYREQUESTS", "{body}");

    for _ in 0..2 {
        proxy.start_upload(&second).await;
    }
    let total = proxy.try_start_upload(&second).await;
    assert_eq!(
        total.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the total cap"
    );
    assert_eq!(proxy.upload_files(), 5, "a refused upload leaves no file");

    let cancelled = first
        .delete(proxy.url(&open.pop().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    proxy.start_upload(&first).await;
    proxy.stop().await;
}
