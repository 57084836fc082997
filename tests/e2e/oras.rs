//! oras-py, the ORAS Python SDK, as a real OCI 1.1 client: an artifact of its own media
//! types pushed with a `subject` to the proxy is answered with `OCI-Subject`, listed by
//! the referrers API of every agent, and pulled back through an agent by oras-py.

use serde_json::Value;
use starling_core::Digest;
use starling_testkit::clients::{arg, run_ok};

use crate::support::Cluster;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/oras_client.py");

fn require_oras() {
    let found = std::process::Command::new("python3")
        .args(["-c", "import oras.client"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "oras-py is not installed; run scripts/install-test-deps (python3 -m pip install oras)"
    );
}

#[tokio::test]
async fn oras_pushes_a_signature_that_agents_list_and_pull() {
    require_oras();
    let cluster = Cluster::start(2).await;
    let image = cluster
        .push_image("team/signed", "1", &[b"signed layer"])
        .await;
    let (subject, size) = (Digest::of(&image), image.len().to_string());
    let work = cluster.path().join("artifact");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("config.json"), br#"{"tool":"oras-py"}"#).unwrap();
    std::fs::write(work.join("sig.txt"), b"a signature by oras-py\n").unwrap();

    let pushed = run_ok(
        "python3",
        &[
            SCRIPT,
            "push",
            &cluster.proxy(),
            "team/signed:sig",
            &arg(&work),
            &subject.to_string(),
            &size,
        ],
        &[],
    )
    .await;
    assert_eq!(pushed.trim(), subject.to_string(), "OCI-Subject: {pushed}");

    for k in 0..2 {
        let url = cluster.agent_url(k, &format!("/v2/team/signed/referrers/{subject}"));
        let index: Value = cluster
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 1, "agent {k}: {index}");
        assert_eq!(
            manifests[0]["artifactType"], "application/vnd.example.oras.config+json",
            "agent {k}: the config media type stands for the artifact type"
        );
        assert_eq!(
            manifests[0]["annotations"]["org.example.pushed-by"], "oras-py",
            "agent {k}"
        );

        let out = cluster.path().join(format!("pulled-{k}"));
        run_ok(
            "python3",
            &[
                SCRIPT,
                "pull",
                &cluster.agent(k),
                "team/signed:sig",
                &arg(&out),
            ],
            &[],
        )
        .await;
        assert_eq!(
            std::fs::read(out.join("sig.txt")).unwrap(),
            b"a signature by oras-py\n",
            "agent {k}"
        );
    }
    cluster.stop().await;
}
