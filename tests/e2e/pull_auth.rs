//! Private repositories end to end: a cluster whose proxy has htpasswd users and whose
//! agents treat `private/.*` as private (`pull_auth`, checked against the proxy).
//! docker (`docker login <agent>`, then `docker pull`) and skopeo (`--src-creds`) pull
//! private images with the right password and fail without one or with a wrong one;
//! public repositories still pull anonymously; a second pull is decided from the
//! agent's cache, with no new request to the proxy (its metrics say so). Every docker
//! command runs with its own `DOCKER_CONFIG` under the test's temp dir, and the test
//! removes exactly the tags it made.

use std::path::Path;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use starling_cluster::ClusterSpec;
use starling_testkit::clients::{
    DockerImageCleanup, Output, build_busybox_image, require_docker, run, run_ok,
};
use starling_testkit::require_program;

use crate::skopeo::skopeo;
use crate::support::Cluster;

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw";

/// A cluster with one htpasswd user on the proxy and `private/.*` private on its
/// agents; [`Cluster::http`] sends that user's credentials (the proxy wants them on
/// pushes). The htpasswd file lives in `users`.
async fn private_cluster(users: &Path, agents: usize) -> Cluster {
    require_program("htpasswd", "apt-get install -y apache2-utils");
    let line = run_ok("htpasswd", &["-nbBC", "4", USER, PASSWORD], &[]).await;
    let htpasswd = users.join("htpasswd");
    std::fs::write(&htpasswd, line.trim()).unwrap();
    let mut cluster = Cluster::start_with(agents, |spec| ClusterSpec {
        proxy_htpasswd: Some(htpasswd),
        private_repositories: vec!["private/.*".into()],
        ..spec
    })
    .await;
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, basic(USER, PASSWORD));
    cluster.http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    cluster
}

/// `Basic base64(user:password)`, as reqwest writes it.
fn basic(user: &str, password: &str) -> HeaderValue {
    let request = reqwest::Client::new()
        .get("http://127.0.0.1/")
        .basic_auth(user, Some(password))
        .build()
        .unwrap();
    request.headers()[AUTHORIZATION].clone()
}

/// The value of an unlabelled counter in agent `k`'s metrics (0 if absent).
async fn counter(cluster: &Cluster, k: usize, name: &str) -> f64 {
    let metrics = cluster.agent_metrics(k).await;
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn registry_requests_for_private_repositories_need_credentials() {
    let users = tempfile::tempdir().unwrap();
    let cluster = private_cluster(users.path(), 1).await;
    cluster
        .push_image("private/app", "1", &[b"secret layer"])
        .await;
    cluster
        .push_image("public/app", "1", &[b"public layer"])
        .await;
    let anonymous = reqwest::Client::new();
    let manifest = |repo: &str| cluster.agent_url(0, &format!("/v2/{repo}/manifests/1"));

    let refused = anonymous.get(manifest("private/app")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    let realm = format!("Bearer realm=\"http://{}/auth/token\"", cluster.agent(0));
    assert!(challenge.starts_with(&realm), "{challenge}");
    assert!(
        challenge.contains("scope=\"repository:private/app:pull\""),
        "{challenge}"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED", "{body}");
    let blobs = anonymous
        .get(cluster.agent_url(0, "/v2/private/app/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(blobs.status(), StatusCode::UNAUTHORIZED, "tag lists too");

    let public = anonymous.get(manifest("public/app")).send().await.unwrap();
    assert_eq!(
        public.status(),
        StatusCode::OK,
        "public repositories stay open"
    );

    let wrong = anonymous
        .get(manifest("private/app"))
        .header(AUTHORIZATION, basic(USER, "wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = anonymous
        .get(manifest("private/app"))
        .header(AUTHORIZATION, basic(USER, PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::OK);

    // The token flow docker and skopeo use: a token for the scope, then requests with it.
    let token_url = cluster.agent_url(
        0,
        "/auth/token?service=starling-agent&scope=repository:private/app:pull",
    );
    let answer: serde_json::Value = anonymous
        .get(&token_url)
        .header(AUTHORIZATION, basic(USER, PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = answer["token"].as_str().unwrap();
    let with_token = anonymous
        .get(manifest("private/app"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), StatusCode::OK);
    let bad_token = anonymous
        .get(&token_url)
        .header(AUTHORIZATION, basic(USER, "nope"));
    assert_eq!(
        bad_token.send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let checks = counter(&cluster, 0, "starling_agent_pull_auth_checks_total").await;
    assert_eq!(
        checks, 3.0,
        "one check per credential: right, wrong, and the token's 'nope'"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn skopeo_copies_a_private_image_with_credentials_and_the_cache_answers_again() {
    require_program("skopeo", "apt-get install -y skopeo");
    let users = tempfile::tempdir().unwrap();
    let cluster = private_cluster(users.path(), 1).await;
    cluster
        .push_image("private/tool", "1", &[b"private tool layer"])
        .await;
    cluster
        .push_image("public/tool", "1", &[b"public tool layer"])
        .await;
    let home = cluster.path().to_owned();
    let source = format!("docker://{}/private/tool:1", cluster.agent(0));
    let copy = |creds: &str, dest: &str| {
        let dest = format!("dir:{}", home.join(dest).display());
        let creds = format!("--src-creds={creds}");
        let args = [
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            &creds,
            &source,
            &dest,
        ]
        .map(str::to_owned);
        let home = home.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run("skopeo", &args, &[("HOME", home.as_path())]).await
        }
    };

    let wrong = copy(&format!("{USER}:wrong"), "wrong").await;
    assert!(
        !wrong.success && wrong.text.contains("unauthorized"),
        "a wrong password is refused:\n{}",
        wrong.text
    );
    let first = copy(&format!("{USER}:{PASSWORD}"), "first").await;
    assert!(first.success, "{}", first.text);
    let checks = counter(&cluster, 0, "starling_agent_pull_auth_checks_total").await;
    let hits = counter(&cluster, 0, "starling_agent_pull_auth_cache_hits_total").await;
    let second = copy(&format!("{USER}:{PASSWORD}"), "second").await;
    assert!(second.success, "{}", second.text);
    assert_eq!(
        counter(&cluster, 0, "starling_agent_pull_auth_checks_total").await,
        checks,
        "the second pull asked the proxy nothing"
    );
    assert!(counter(&cluster, 0, "starling_agent_pull_auth_cache_hits_total").await > hits);

    let public = format!("docker://{}/public/tool:1", cluster.agent(0));
    let dest = format!("dir:{}", home.join("public").display());
    skopeo(&home, &["copy", "--src-tls-verify=false", &public, &dest]).await;
    cluster.stop().await;
}

/// `docker login -u alice -p <password> <registry>` with `env`'s `DOCKER_CONFIG`.
async fn login(registry: &str, password: &str, env: &[(&str, &Path)]) -> Output {
    run(
        "docker",
        &["login", "-u", USER, "-p", password, registry],
        env,
    )
    .await
}

#[tokio::test]
async fn docker_login_to_the_agent_pulls_a_private_image() {
    require_docker().await;
    let users = tempfile::tempdir().unwrap();
    let cluster = private_cluster(users.path(), 1).await;
    let config = cluster.path().join("docker-config");
    let stranger = cluster.path().join("docker-config-stranger");
    std::fs::create_dir_all(&stranger).unwrap();
    let env = [("DOCKER_CONFIG", config.as_path())];
    let stranger_env = [("DOCKER_CONFIG", stranger.as_path())];
    let pushed = |repo: &str| format!("{}/{repo}/busybox:1", cluster.proxy());
    let pulled = |repo: &str| format!("{}/{repo}/busybox:1", cluster.agent(0));
    let _cleanup: Vec<DockerImageCleanup> = ["private", "public"]
        .iter()
        .flat_map(|repo| [pushed(repo), pulled(repo)])
        .map(DockerImageCleanup)
        .collect();
    let logged_in = login(&cluster.proxy(), PASSWORD, &env).await;
    assert!(logged_in.success, "{}", logged_in.text);
    build_busybox_image(&cluster.path().join("context"), &pushed("private"), &config).await;
    run_ok(
        "docker",
        &["tag", &pushed("private"), &pushed("public")],
        &env,
    )
    .await;
    for repo in ["private", "public"] {
        run_ok("docker", &["push", &pushed(repo)], &env).await;
    }

    let refused = run("docker", &["pull", &pulled("private")], &stranger_env).await;
    assert!(
        !refused.success && refused.text.contains("unauthorized"),
        "a pull without login fails with 401:\n{}",
        refused.text
    );
    let public = run("docker", &["pull", &pulled("public")], &stranger_env).await;
    assert!(
        public.success,
        "public images pull anonymously:\n{}",
        public.text
    );
    let wrong = login(&cluster.agent(0), "wrong", &stranger_env).await;
    assert!(
        !wrong.success && wrong.text.contains("unauthorized"),
        "a wrong password cannot log in:\n{}",
        wrong.text
    );

    let logged_in = login(&cluster.agent(0), PASSWORD, &env).await;
    assert!(logged_in.success, "{}", logged_in.text);
    run_ok("docker", &["pull", &pulled("private")], &env).await;
    assert!(counter(&cluster, 0, "starling_agent_pull_auth_allowed_total").await >= 1.0);
    cluster.stop().await;
}
