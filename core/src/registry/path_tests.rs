//! Table-driven tests of [`parse_path`]: every row is a raw request path and a compact
//! description of the expected endpoint or of the part that was rejected.

use super::*;

const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// `base`, `catalog`, `tags <name>`, `manifest <name> tag|digest <ref>`, `blob <name>
/// <digest>`, `referrers <name> <digest>`, `start <name>`, `upload <name> <id>`, or `err <part>` where part is `name`,
/// `tag`, `digest`, `upload` or `unknown`.
fn describe(parsed: Result<Endpoint>) -> String {
    match parsed {
        Ok(Endpoint::Base) => "base".to_owned(),
        Ok(Endpoint::Catalog) => "catalog".to_owned(),
        Ok(Endpoint::Tags { name }) => format!("tags {name}"),
        Ok(Endpoint::Manifest { name, reference }) => match reference {
            Reference::Tag(tag) => format!("manifest {name} tag {tag}"),
            Reference::Digest(digest) => format!("manifest {name} digest {digest}"),
        },
        Ok(Endpoint::Blob { name, digest }) => format!("blob {name} {digest}"),
        Ok(Endpoint::Referrers { name, digest }) => format!("referrers {name} {digest}"),
        Ok(Endpoint::StartUpload { name }) => format!("start {name}"),
        Ok(Endpoint::Upload { name, id }) => format!("upload {name} {id}"),
        Err(Error::InvalidRepoName { .. }) => "err name".to_owned(),
        Err(Error::InvalidTag { .. }) => "err tag".to_owned(),
        Err(Error::InvalidDigest { .. }) => "err digest".to_owned(),
        Err(Error::InvalidUploadRef { .. }) => "err upload".to_owned(),
        Err(Error::UnknownRegistryPath { .. }) => "err unknown".to_owned(),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
}

fn check(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (path, want) in cases {
        let got = describe(parse_path(path));
        if got != *want {
            failures.push(format!("{path:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn base_and_catalog() {
    check(&[
        ("/v2/", "base"),
        ("/v2", "base"),
        ("/v2/_catalog", "catalog"),
        ("/v2/_catalog/", "err unknown"),
        ("/v2//", "err unknown"),
        ("/v3/", "err unknown"),
        ("v2/", "err unknown"),
        ("", "err unknown"),
        ("/", "err unknown"),
        ("/v2x/a/tags/list", "err unknown"),
    ]);
}

#[test]
fn every_endpoint_with_simple_and_nested_names() {
    let blob = format!("/v2/team/app/blobs/{D}");
    let manifest = format!("/v2/team/app/manifests/{D}");
    let want_blob = format!("blob team/app {D}");
    let want_manifest = format!("manifest team/app digest {D}");
    let referrers = format!("/v2/team/app/referrers/{D}");
    let want_referrers = format!("referrers team/app {D}");
    check(&[
        (&referrers, &want_referrers),
        ("/v2/team/app/referrers/sha256:abc", "err digest"),
        ("/v2/team/app/referrers/latest", "err digest"),
        ("/v2/Team/referrers/latest", "err name"),
        ("/v2/team/app/referrers/", "err digest"),
        ("/v2/busybox/tags/list", "tags busybox"),
        ("/v2/a/b/c/d/tags/list", "tags a/b/c/d"),
        (
            "/v2/team/app/manifests/latest",
            "manifest team/app tag latest",
        ),
        (
            "/v2/team/app/manifests/v1.2-rc_3",
            "manifest team/app tag v1.2-rc_3",
        ),
        (&manifest, &want_manifest),
        (&blob, &want_blob),
        ("/v2/team/app/blobs/uploads/", "start team/app"),
        ("/v2/team/app/blobs/uploads", "start team/app"),
        (
            "/v2/team/app/blobs/uploads/0f3a-b_c.d=",
            "upload team/app 0f3a-b_c.d=",
        ),
    ]);
}

#[test]
fn names_may_end_in_reserved_words() {
    let blob = format!("/v2/a/manifests/blobs/{D}");
    let want_blob = format!("blob a/manifests {D}");
    check(&[
        (
            "/v2/a/blobs/b/manifests/latest",
            "manifest a/blobs/b tag latest",
        ),
        ("/v2/manifests/manifests/x", "manifest manifests tag x"),
        ("/v2/tags/tags/list", "tags tags"),
        ("/v2/a/tags/list/tags/list", "tags a/tags/list"),
        ("/v2/a/tags/manifests/list", "manifest a/tags tag list"),
        ("/v2/uploads/blobs/uploads/", "start uploads"),
        (
            "/v2/a/blobs/uploads/blobs/uploads/id1",
            "upload a/blobs/uploads id1",
        ),
        ("/v2/a/manifests/blobs/uploads/", "start a/manifests"),
        (
            "/v2/a/blobs/manifests/uploads",
            "manifest a/blobs tag uploads",
        ),
        ("/v2/_catalog/tags/list", "err name"),
        (&blob, &want_blob),
    ]);
}

#[test]
fn traversal_and_escapes_are_rejected() {
    check(&[
        ("/v2/../etc/manifests/x", "err name"),
        ("/v2/a/%2e%2e/blobs/..", "err name"),
        ("/v2/a/../../manifests/latest", "err name"),
        ("/v2/./a/tags/list", "err name"),
        ("/v2/a%2Fb/tags/list", "err name"),
        ("/v2/team/app/manifests/..", "err tag"),
        ("/v2/team/app/manifests/%2e%2e", "err tag"),
        ("/v2/team/app/blobs/..", "err digest"),
        ("/v2/team/app/blobs/sha256:..%2f..%2fetc", "err digest"),
        ("/v2/team/app/blobs/uploads/..%2f..", "err upload"),
        ("/v2/team/app/blobs/uploads/a/b", "err unknown"),
        ("/v2/team/app/blobs/uploads/..", "err upload"),
        ("/v2/team/app/blobs/uploads/.x", "err upload"),
    ]);
}

#[test]
fn empty_and_malformed_names() {
    check(&[
        ("/v2/tags/list", "err name"),
        ("/v2//tags/list", "err name"),
        ("/v2/manifests/latest", "err name"),
        ("/v2//manifests/latest", "err name"),
        ("/v2/a//b/manifests/latest", "err name"),
        ("/v2/a/b//blobs/uploads/", "err name"),
        ("/v2/blobs/uploads/", "err name"),
        ("/v2/Team/app/tags/list", "err name"),
        ("/v2/-a/tags/list", "err name"),
        ("/v2/a b/tags/list", "err name"),
        ("/v2/a../tags/list", "err name"),
    ]);
}

#[test]
fn trailing_slashes_and_unknown_shapes() {
    check(&[
        ("/v2/a/tags/list/", "err unknown"),
        ("/v2/a/manifests/latest/", "err unknown"),
        ("/v2/a/manifests/", "err tag"),
        ("/v2/a/blobs/", "err digest"),
        ("/v2/a", "err unknown"),
        ("/v2/a/b", "err unknown"),
        ("/v2/a/tags", "err unknown"),
        ("/v2/a/uploads/x", "err unknown"),
        ("/v2/a/blobs/uploads/x/", "err unknown"),
        ("/v2/a/manifests", "err unknown"),
    ]);
}

#[test]
fn references_and_upload_ids_are_validated() {
    let long_tag = format!("/v2/a/manifests/{}", "t".repeat(129));
    let long_id = format!("/v2/a/blobs/uploads/{}", "u".repeat(129));
    let max_id = "u".repeat(128);
    let max_id_path = format!("/v2/a/blobs/uploads/{max_id}");
    let want_max_id = format!("upload a {max_id}");
    check(&[
        ("/v2/a/manifests/sha256:abc", "err digest"),
        ("/v2/a/manifests/sha512:abc", "err digest"),
        ("/v2/a/manifests/.hidden", "err tag"),
        ("/v2/a/manifests/-x", "err tag"),
        (&long_tag, "err tag"),
        ("/v2/a/blobs/latest", "err digest"),
        ("/v2/a/blobs/uploads/a+b", "err upload"),
        ("/v2/a/blobs/uploads/a%20b", "err upload"),
        (&long_id, "err upload"),
        (&max_id_path, &want_max_id),
        ("/v2/Bad/manifests/sha256:abc", "err name"),
    ]);
}

#[test]
fn endpoint_names_its_repository() {
    let parsed = parse_path("/v2/team/app/tags/list").unwrap();
    assert_eq!(parsed.name().map(RepoName::as_str), Some("team/app"));
    assert_eq!(parse_path("/v2/_catalog").unwrap().name(), None);
    let reference = Reference::parse(D).unwrap();
    assert_eq!(reference.to_string(), D);
    assert_eq!(Reference::parse("v1").unwrap().to_string(), "v1");
    let id = UploadRef::parse("abc").unwrap();
    assert_eq!(
        (id.as_str(), format!("{id:?}")),
        ("abc", "UploadRef(\"abc\")".into())
    );
}
