//! Referrer records on build-index replicas on loopback: a put reaches the other
//! replica before it returns, a replica's forward is not forwarded again, the cluster
//! client lists the union of every replica, and bad puts are refused.

mod support;

use starling_clients::BuildIndexCluster;
use starling_core::registry::Referrer;
use support::{Reserved, TestIndex, config, digest, repo};

fn referrer(seed: &str, artifact_type: &str) -> Referrer {
    Referrer {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest: digest(seed),
        size: 321,
        artifact_type: Some(artifact_type.into()),
        annotations: [("org.example.by".to_owned(), seed.to_owned())].into(),
    }
}

#[tokio::test]
async fn referrers_reach_every_replica_and_are_listed_as_a_union() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (ra, rb) = (Reserved::new(), Reserved::new());
    let (ha, hb) = (ra.host(), rb.host());
    let a = TestIndex::start_on(
        config(dirs[0].path(), &ha, std::slice::from_ref(&hb)),
        ra.listen(),
    );
    let b = TestIndex::start_on(
        config(dirs[1].path(), &hb, std::slice::from_ref(&ha)),
        rb.listen(),
    );
    let (app, image) = (repo("team/app"), digest("image"));
    assert!(
        a.client()
            .list_referrers(&app, &image)
            .await
            .unwrap()
            .is_empty(),
        "no referrers is an empty list, not an error"
    );

    let sig = referrer("sig", "application/vnd.example.sig");
    a.client().put_referrer(&app, &image, &sig).await.unwrap();
    // Forwarded before the put returns.
    assert_eq!(
        b.client().list_referrers(&app, &image).await.unwrap(),
        std::slice::from_ref(&sig)
    );

    // A replica's forward is recorded where it is sent and not forwarded again, so
    // only the union of both replicas holds both referrers.
    let sbom = referrer("sbom", "application/vnd.example.sbom");
    b.client()
        .forward_referrer(&app, &image, &sbom, &ha)
        .await
        .unwrap();
    assert_eq!(
        a.client().list_referrers(&app, &image).await.unwrap(),
        std::slice::from_ref(&sig)
    );
    let cluster = BuildIndexCluster::new(&[ha.clone(), hb.clone()]).unwrap();
    let mut want = vec![sig.clone(), sbom.clone()];
    want.sort_by_key(|r| r.digest);
    assert_eq!(cluster.list_referrers(&app, &image).await.unwrap(), want);

    // A second put of the same referrer changes nothing.
    cluster.put_referrer(&app, &image, &sig).await.unwrap();
    assert_eq!(cluster.list_referrers(&app, &image).await.unwrap(), want);

    // With one replica down, the other still answers.
    b.stop().await;
    assert_eq!(
        cluster.list_referrers(&app, &image).await.unwrap(),
        std::slice::from_ref(&sig)
    );
    a.stop().await;
}

#[tokio::test]
async fn bad_referrer_puts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let reserved = Reserved::new();
    let host = reserved.host();
    let index = TestIndex::start_on(config(dir.path(), &host, &[]), reserved.listen());
    let http = reqwest::Client::new();
    let image = digest("image");
    let sig = referrer("sig", "application/vnd.example.sig");
    let put = |path: String, body: Vec<u8>| {
        http.put(index.url(&path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let other = digest("other");
    let mismatched = put(
        format!("/referrers/team%2Fapp/{image}/{other}"),
        serde_json::to_vec(&sig).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(mismatched.status(), 400);
    let not_json = put(
        format!("/referrers/team%2Fapp/{image}/{}", sig.digest),
        b"{".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(not_json.status(), 400);
    let bad_subject = put(
        format!("/referrers/team%2Fapp/sha256:00/{}", sig.digest),
        serde_json::to_vec(&sig).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(bad_subject.status(), 400);
    let listed = index
        .client()
        .list_referrers(&repo("team/app"), &image)
        .await
        .unwrap();
    assert!(listed.is_empty(), "a refused put records nothing");
    index.stop().await;
}
