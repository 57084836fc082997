//! The local cluster's bearer token: `<data dir>/auth-token`, created on first start
//! (owner-only permissions) and reused afterwards, so `starling dev` is secure by default
//! and a script can still write to its origins and build-index directly
//! (`Authorization: Bearer $(cat starling-data/auth-token)`).

use std::io::Write;
use std::path::{Path, PathBuf};

use starling_runtime::ClusterToken;

use crate::running::ClusterError;

/// The token file of the cluster under `data_dir`.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("auth-token")
}

/// Reads the cluster's token, or generates and saves one if there is none yet.
pub fn load_or_create(data_dir: &Path) -> Result<ClusterToken, ClusterError> {
    let path = token_path(data_dir);
    let failed = |source: std::io::Error| ClusterError::DataDir {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => ClusterToken::new(text.trim()).ok_or_else(|| {
            ClusterError::Spec(format!(
                "{} does not hold a token; delete it to get a new one",
                path.display()
            ))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let token = ClusterToken::generate();
            let mut file = owner_only_new_file(&path).map_err(failed)?;
            writeln!(file, "{}", token.as_str()).map_err(failed)?;
            file.sync_all().map_err(failed)?;
            Ok(token)
        }
        Err(error) => Err(failed(error)),
    }
}

fn owner_only_new_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let second = load_or_create(dir.path()).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(token_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(token_path(dir.path()), "\n").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}
