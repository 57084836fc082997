//! The registry backend against a real registry: Debian's `docker-registry` (distribution
//! 2.8) on loopback with filesystem storage, holding images pushed with `skopeo`: an OCI
//! manifest, an OCI index of two platforms, and both converted to Docker schema 2 (a
//! manifest and a manifest list), so that every manifest type is read back by digest.
//! The htpasswd file for the basic-auth run is written with the `bcrypt` crate.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use starling_backend::{Backend, Error, Key, ListScope, build_backend, read_tag, stream};
use starling_config::backend::BackendConfig;
use starling_core::registry::manifest::served_type;
use starling_core::registry::media_type::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use starling_core::{Digest, DigestHasher, RepoName, Tag};
use starling_testkit::oci::{Image, Layout, OciImage};
use starling_testkit::{DistributionRegistry, ServerProcess, require_program, run_command as run};
use tempfile::TempDir;

const USER: &str = "starling";
const PASSWORD: &str = "s3cret-pass";

/// A running registry with the test image pushed as `team/app:v1`, `team/app:v2` and
/// `team/app/tools:v1`.
struct Fixture {
    dir: TempDir,
    server: ServerProcess,
    image: OciImage,
    with_auth: bool,
}

/// What `skopeo copy` is told about the manifest format.
#[derive(Clone, Copy)]
enum Format {
    /// Pushed byte for byte.
    AsIs,
    /// Converted to Docker schema 2 (a manifest list for an index).
    DockerV2,
}

impl Fixture {
    async fn start(with_auth: bool) -> Self {
        require_program("skopeo", "apt-get install -y skopeo");
        let dir = tempfile::tempdir().unwrap();
        let auth = with_auth.then(|| write_htpasswd(dir.path()));
        let server = DistributionRegistry::start(dir.path(), auth.as_deref())
            .await
            .server;
        let image = OciImage::write(&dir.path().join("image"), "v1", 300_000);
        let fixture = Self {
            dir,
            server,
            image,
            with_auth,
        };
        for target in ["team/app:v1", "team/app:v2", "team/app/tools:v1"] {
            fixture.push("image:v1", target, Format::AsIs);
        }
        fixture
    }

    /// Pushes, into `team/app`, `multi`: an OCI index of two platforms; `docker` and
    /// `docker-multi`: the test image and the index converted to Docker schema 2. Returns
    /// the images of the index, whose digests skopeo preserves.
    fn push_every_manifest_type(&self) -> Vec<Image> {
        let mut layout = Layout::new(&self.dir.path().join("multi"));
        let platforms = vec![
            layout.image("linux", "amd64", "bin/tool", b"amd64 build"),
            layout.image("linux", "arm64", "bin/tool", b"arm64 build"),
        ];
        layout.tag_index("multi", &platforms);
        layout.finish();
        self.push("multi:multi", "team/app:multi", Format::AsIs);
        self.push("image:v1", "team/app:docker", Format::DockerV2);
        self.push("multi:multi", "team/app:docker-multi", Format::DockerV2);
        platforms
    }

    /// Copies `source` (`<layout dir>:<tag>` under the fixture's directory), with every
    /// platform of an index, to `target` in the registry.
    fn push(&self, source: &str, target: &str, format: Format) {
        let layout = format!("oci:{}/{source}", self.dir.path().display());
        let dest = format!("docker://127.0.0.1:{}/{target}", self.server.port);
        let format: &[&str] = match format {
            Format::AsIs => &["--preserve-digests"],
            Format::DockerV2 => &["--format", "v2s2"],
        };
        let mut command = Command::new("skopeo");
        command
            .args([
                "--insecure-policy",
                "copy",
                "--all",
                "--dest-tls-verify=false",
            ])
            .args(format)
            .args(
                self.with_auth
                    .then(|| format!("--dest-creds={USER}:{PASSWORD}")),
            )
            .args([&layout, &dest])
            .env("HOME", self.dir.path());
        run(&mut command);
    }

    /// The manifest `team/app:<tag>` as the registry stores it, read by skopeo.
    fn raw_manifest(&self, tag: &str) -> Bytes {
        let source = format!("docker://127.0.0.1:{}/team/app:{tag}", self.server.port);
        let mut command = Command::new("skopeo");
        command
            .args(["inspect", "--raw", "--tls-verify=false"])
            .args(self.with_auth.then(|| format!("--creds={USER}:{PASSWORD}")))
            .arg(&source)
            .env("HOME", self.dir.path());
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout.into()
    }

    fn backend(&self, credentials: Option<(&str, &str)>) -> Arc<dyn Backend> {
        build_backend(&BackendConfig::Registry {
            url: self.server.base_url(),
            username: credentials.map(|c| c.0.to_owned()),
            password: credentials.map(|c| c.1.to_owned()),
            password_file: None,
            timeout: Duration::from_secs(30),
            mirror_of: None,
        })
        .unwrap()
    }
}

/// Writes a one-user htpasswd file in the `$2y$` bcrypt format Apache's htpasswd writes.
fn write_htpasswd(dir: &Path) -> std::path::PathBuf {
    let hash = bcrypt::hash_with_result(PASSWORD, 5).unwrap();
    let path = dir.join("htpasswd");
    let line = format!(
        "{USER}:{}\n",
        hash.format_for_version(bcrypt::Version::TwoY)
    );
    std::fs::write(&path, line).unwrap();
    path
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

async fn download_all(backend: &dyn Backend, key: &Key) -> Bytes {
    let body = backend
        .download(key)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    stream::collect(body, usize::MAX).await.unwrap()
}

async fn download_digest(backend: &dyn Backend, key: &Key) -> (Digest, u64) {
    let mut body = backend.download(key).await.unwrap();
    let (mut hasher, mut len) = (DigestHasher::new(), 0u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    (hasher.finish(), len)
}

/// What every read of the pushed image must show, whatever the authentication.
async fn check_image(backend: &dyn Backend, image: &OciImage) {
    let app = repo("team/app");
    let digest = read_tag(backend, &app, &tag("v1")).await.unwrap();
    assert_eq!(digest, image.manifest_digest);
    let v2 = Key::tag(app.clone(), tag("v2"));
    assert_eq!(backend.stat(&v2).await.unwrap(), Some(71));

    let layer = Key::blob(app.clone(), image.layer_digest);
    let layer_len = image.layer.len() as u64;
    assert_eq!(backend.stat(&layer).await.unwrap(), Some(layer_len));
    assert_eq!(
        download_digest(backend, &layer).await,
        (image.layer_digest, layer_len)
    );
    let config = Key::blob(repo("team/app/tools"), image.config_digest);
    assert_eq!(
        backend.stat(&config).await.unwrap(),
        Some(image.config_size)
    );
}

/// Every manifest type is read by digest with the bytes skopeo pushed, as the origin asks
/// for it (a blob key); the index's platforms and their layers too; a digest the
/// repository does not hold is not found, even when another repository has it.
async fn check_manifests_by_digest(backend: &dyn Backend, fixture: &Fixture, platforms: &[Image]) {
    let app = repo("team/app");
    let tagged = [
        ("v1", OCI_MANIFEST),
        ("multi", OCI_INDEX),
        ("docker", DOCKER_MANIFEST),
        ("docker-multi", DOCKER_MANIFEST_LIST),
    ];
    for (name, media_type) in tagged {
        let pushed = fixture.raw_manifest(name);
        let digest = read_tag(backend, &app, &tag(name)).await.unwrap();
        assert_eq!(digest, Digest::of(&pushed), "{name}");
        let key = Key::blob(app.clone(), digest);
        assert_eq!(
            backend.stat(&key).await.unwrap(),
            Some(pushed.len() as u64),
            "{name}"
        );
        let read = download_all(backend, &key).await;
        assert_eq!(read, pushed, "{name}: the bytes skopeo pushed");
        assert_eq!(served_type(&read).as_deref(), Some(media_type), "{name}");
    }
    assert_eq!(
        Digest::of(&fixture.raw_manifest("v1")),
        fixture.image.manifest_digest
    );

    for platform in platforms {
        let manifest = Key::blob(app.clone(), platform.manifest_digest);
        assert_eq!(download_all(backend, &manifest).await, platform.manifest);
        let layer = Key::blob(app.clone(), platform.layer_digest);
        let (digest, _) = download_digest(backend, &layer).await;
        assert_eq!(digest, platform.layer_digest);
    }

    let tools = repo("team/app/tools");
    let elsewhere = Key::blob(tools.clone(), Digest::of(&fixture.raw_manifest("multi")));
    assert_eq!(backend.stat(&elsewhere).await.unwrap(), None);
    assert!(
        backend
            .download(&elsewhere)
            .await
            .is_err_and(|e| e.is_not_found())
    );
    let own = Key::blob(tools, fixture.image.manifest_digest);
    assert_eq!(
        download_all(backend, &own).await,
        fixture.raw_manifest("v1")
    );
}

#[tokio::test]
async fn manifests_of_every_type_are_read_by_digest() {
    let fixture = Fixture::start(false).await;
    let platforms = fixture.push_every_manifest_type();
    check_manifests_by_digest(fixture.backend(None).as_ref(), &fixture, &platforms).await;
}

#[tokio::test]
async fn with_basic_auth_manifests_are_read_by_digest_too() {
    let fixture = Fixture::start(true).await;
    let platforms = fixture.push_every_manifest_type();
    let backend = fixture.backend(Some((USER, PASSWORD)));
    check_manifests_by_digest(backend.as_ref(), &fixture, &platforms).await;
}

#[tokio::test]
async fn reads_tags_blobs_and_listings_from_a_registry() {
    let fixture = Fixture::start(false).await;
    let backend = fixture.backend(None);
    check_image(backend.as_ref(), &fixture.image).await;

    let tags = backend
        .list(&ListScope::Tags {
            repo: repo("team/app"),
        })
        .await
        .unwrap();
    assert_eq!(tags, ["v1", "v2"]);
    let repos = backend.list(&ListScope::Repos).await.unwrap();
    assert_eq!(repos, ["team/app", "team/app/tools"]);
    let unknown = backend
        .list(&ListScope::Tags {
            repo: repo("nobody"),
        })
        .await
        .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");

    let app = repo("team/app");
    let err = read_tag(backend.as_ref(), &app, &tag("v3"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let missing = Key::blob(app.clone(), Digest::of(b"not pushed"));
    assert_eq!(backend.stat(&missing).await.unwrap(), None);
    assert!(
        backend
            .download(&missing)
            .await
            .is_err_and(|e| e.is_not_found())
    );

    let key = Key::tag(app, tag("v9"));
    let err = backend
        .upload(&key, 3, stream::once("abc"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");
}

#[tokio::test]
async fn basic_auth_sends_the_credentials_and_reports_wrong_ones() {
    let fixture = Fixture::start(true).await;
    check_image(
        fixture.backend(Some((USER, PASSWORD))).as_ref(),
        &fixture.image,
    )
    .await;

    let app = repo("team/app");
    let wrong = fixture.backend(Some((USER, "wrong")));
    let err = read_tag(wrong.as_ref(), &app, &tag("v1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("credentials of user \"starling\" were rejected"),
        "{err}"
    );

    let anonymous = fixture.backend(None);
    let err = anonymous.list(&ListScope::Repos).await.unwrap_err();
    assert!(
        err.to_string().contains("credentials are required"),
        "{err}"
    );
}
