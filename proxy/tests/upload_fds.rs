//! An idle chunked upload holds no file descriptor: 40 uploads, each started and given
//! a chunk over the real proxy server, leave the process's open descriptors (counted in
//! `/proc/self/fd`) where they were. Alone in its test binary, so no other test opens
//! descriptors meanwhile.

mod support;

use reqwest::StatusCode;
use support::Proxy;

const UPLOADS: usize = 40;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::test]
async fn idle_uploads_hold_no_file_descriptor() {
    let proxy = Proxy::start(|_| {}).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // One request first so the pooled connection exists before counting.
    let location = proxy.start_upload(&client).await;
    let before = open_fds();
    let mut uploads = vec![location];
    for _ in 0..UPLOADS {
        uploads.push(proxy.start_upload(&client).await);
    }
    for location in &uploads {
        let patched = client
            .patch(proxy.url(location))
            .body("some bytes")
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::ACCEPTED);
    }
    let after = open_fds();
    assert!(
        after < before + UPLOADS / 4,
        "{UPLOADS} idle uploads took {} descriptors ({before} -> {after})",
        after.saturating_sub(before)
    );
    assert_eq!(
        proxy.upload_files(),
        UPLOADS + 1,
        "every upload has its file"
    );
    proxy.stop().await;
}
