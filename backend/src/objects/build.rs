//! Builds an `object_store` client from the object-storage variants of `BackendConfig`.
//!
//! Cloud builders start from the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`) so that
//! secrets can stay out of the config file; values set in the config take precedence.

use std::path::Path as FsPath;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use starling_config::backend::BackendConfig;

use crate::error::{Error, Result};

/// An object store client and the key prefix to use inside it.
pub struct StoreSpec {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: String,
}

/// The client for an object-storage config; a registry config is a caller's mistake.
pub fn store_for(config: &BackendConfig) -> Result<StoreSpec> {
    let (store, prefix): (Arc<dyn ObjectStore>, &str) = match config {
        BackendConfig::Filesystem { root } => (Arc::new(filesystem(root)?), ""),
        BackendConfig::S3 {
            bucket,
            region,
            endpoint,
            access_key_id,
            secret_access_key,
            allow_http,
            prefix,
            // Read into `secret_access_key` by `starling_config::load`.
            secret_access_key_file: _,
        } => {
            let settings = S3Settings {
                bucket,
                region,
                endpoint: endpoint.as_deref(),
                credentials: access_key_id.as_deref().zip(secret_access_key.as_deref()),
                allow_http: *allow_http,
            };
            (Arc::new(s3(&settings)?), prefix)
        }
        BackendConfig::Gcs {
            bucket,
            service_account_path,
            prefix,
        } => {
            let mut builder = GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
            if let Some(path) = service_account_path {
                builder = builder.with_service_account_path(path.to_string_lossy());
            }
            (Arc::new(builder.build()?), prefix)
        }
        BackendConfig::Azure {
            account,
            container,
            access_key,
            prefix,
            // Read into `access_key` by `starling_config::load`.
            access_key_file: _,
        } => {
            let mut builder = MicrosoftAzureBuilder::from_env()
                .with_account(account)
                .with_container_name(container);
            if let Some(key) = access_key {
                builder = builder.with_access_key(key);
            }
            (Arc::new(builder.build()?), prefix)
        }
        BackendConfig::Http { url } => (Arc::new(HttpBuilder::new().with_url(url).build()?), ""),
        BackendConfig::Registry { .. } => {
            return Err(Error::Config {
                field: "type",
                reason: "a registry is not an object store".to_owned(),
            });
        }
    };
    Ok(StoreSpec {
        store,
        prefix: prefix.to_owned(),
    })
}

/// A directory on local disk, created if missing because `LocalFileSystem` requires it.
pub fn filesystem(root: &FsPath) -> Result<LocalFileSystem> {
    std::fs::create_dir_all(root).map_err(|e| Error::Config {
        field: "root",
        reason: format!("cannot create {}: {e}", root.display()),
    })?;
    Ok(LocalFileSystem::new_with_prefix(root)?)
}

/// The S3 fields of `BackendConfig`, with the credential pair already matched up.
struct S3Settings<'a> {
    bucket: &'a str,
    region: &'a str,
    endpoint: Option<&'a str>,
    credentials: Option<(&'a str, &'a str)>,
    allow_http: bool,
}

fn s3(settings: &S3Settings<'_>) -> Result<object_store::aws::AmazonS3> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(settings.bucket)
        .with_region(settings.region)
        .with_allow_http(settings.allow_http);
    if let Some(endpoint) = settings.endpoint {
        // S3-compatible servers rarely have per-bucket DNS names, so address the bucket in
        // the path.
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if let Some((id, secret)) = settings.credentials {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
    }
    Ok(builder.build()?)
}
