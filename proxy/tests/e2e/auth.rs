//! Basic auth with a real htpasswd file (`htpasswd -B`, apache2-utils): skopeo pushes
//! fail without credentials and succeed with them, anonymous reads stay open, and the
//! docker CLI needs `docker login` (docker stops at the `Basic` challenge of `GET /v2/`
//! when it has no credentials, for pulls as well).

use std::path::Path;

use starling_testkit::require_program;

use starling_testkit::clients::{Output, arg, run, run_ok};
use starling_testkit::oci::Layout;

use crate::support::Stack;

const USER: &str = "ci";
const PASSWORD: &str = "pushing-is-allowed";

async fn stack_with_auth() -> Stack {
    require_program("htpasswd", "apt-get install -y apache2-utils");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    run_ok("htpasswd", &["-cbB", &arg(&file), USER, PASSWORD], &[]).await;
    let stack = Stack::start_with(|cfg| cfg.htpasswd = Some(file.clone())).await;
    // The file is read at start; the directory may go.
    drop(dir);
    stack
}

async fn skopeo(home: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--insecure-policy"];
    all.extend_from_slice(args);
    run("skopeo", &all, &[("HOME", home)]).await
}

#[tokio::test]
async fn skopeo_pushes_need_credentials() {
    require_program("skopeo", "apt-get install -y skopeo");
    let stack = stack_with_auth().await;
    let home = stack.dir.path().to_owned();
    let mut layout = Layout::new(&home.join("image"));
    let image = layout.image("linux", "amd64", "a.txt", b"auth\n");
    layout.tag_image("v1", &image);
    layout.finish();
    let src = format!("oci:{}:v1", arg(&home.join("image")));
    let dest = format!("docker://{}/team/private:v1", stack.registry());

    let anonymous = skopeo(&home, &["copy", "--dest-tls-verify=false", &src, &dest]).await;
    assert!(!anonymous.success, "an anonymous push must fail");
    assert!(
        anonymous.text.contains("401") || anonymous.text.contains("unauthorized"),
        "{}",
        anonymous.text
    );
    let wrong = format!("--dest-creds={USER}:wrong");
    let refused = skopeo(
        &home,
        &["copy", "--dest-tls-verify=false", &wrong, &src, &dest],
    )
    .await;
    assert!(!refused.success, "a wrong password must fail");
    assert_eq!(stack.tag("team/private", "v1").await, None);
    assert!(!stack.origin_has("team/private", &image.layer_digest).await);

    let creds = format!("--dest-creds={USER}:{PASSWORD}");
    let pushed = skopeo(
        &home,
        &["copy", "--dest-tls-verify=false", &creds, &src, &dest],
    )
    .await;
    assert!(pushed.success, "{}", pushed.text);
    assert_eq!(
        stack.tag("team/private", "v1").await,
        Some(image.manifest_digest)
    );

    let raw = skopeo(&home, &["inspect", "--raw", "--tls-verify=false", &dest]).await;
    assert!(raw.success, "anonymous reads are open: {}", raw.text);
    assert_eq!(raw.text.as_bytes(), &image.manifest[..]);
    stack.stop().await;
}

#[tokio::test]
async fn docker_logs_in_before_pushing() {
    starling_testkit::clients::require_docker().await;
    let stack = stack_with_auth().await;
    let config = stack.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let env = [("DOCKER_CONFIG", config.as_path())];
    let tag = format!("{}/team/busybox:auth", stack.registry());
    let _cleanup = starling_testkit::clients::DockerImageCleanup(tag.clone());
    starling_testkit::clients::build_busybox_image(
        &stack.dir.path().join("context"),
        &tag,
        &config,
    )
    .await;

    let anonymous = run("docker", &["push", &tag], &env).await;
    assert!(
        !anonymous.success,
        "an anonymous push must fail:\n{}",
        anonymous.text
    );
    let wrong = run(
        "docker",
        &["login", "-u", USER, "-p", "wrong", &stack.registry()],
        &env,
    )
    .await;
    assert!(
        !wrong.success,
        "docker login checks the password:\n{}",
        wrong.text
    );
    let login = ["login", "-u", USER, "-p", PASSWORD, &stack.registry()];
    run_ok("docker", &login, &env).await;
    run_ok("docker", &["push", &tag], &env).await;
    assert!(stack.tag("team/busybox", "auth").await.is_some());

    // What docs/proxy-api.md says: without credentials docker stops at the challenge
    // of `GET /v2/`, pulls included; logged in, it pulls.
    run_ok("docker", &["logout", &stack.registry()], &env).await;
    run_ok("docker", &["rmi", &tag], &env).await;
    let anonymous = run("docker", &["pull", &tag], &env).await;
    assert!(!anonymous.success, "{}", anonymous.text);
    assert!(
        anonymous.text.contains("no basic auth credentials"),
        "{}",
        anonymous.text
    );
    run_ok("docker", &login, &env).await;
    run_ok("docker", &["pull", &tag], &env).await;
    stack.stop().await;
}
