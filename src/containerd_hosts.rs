//! `starling containerd-hosts`: writes containerd's per-registry `hosts.toml` so the
//! node's pulls go through the local agent and fall back to the registry itself when
//! the agent does not answer. The Helm chart runs it as the agent's init container
//! (the image has no shell), with the node's `/etc/containerd/certs.d` mounted.
//!
//! For each `--registry NAME=SERVER`, `<certs-dir>/<NAME>/hosts.toml` becomes:
//!
//! ```toml
//! # managed-by: starling containerd-hosts
//! server = "SERVER"
//!
//! [host."http://127.0.0.1:16000"]
//!   capabilities = ["pull", "resolve"]
//! ```
//!
//! containerd tries the `host` entries in order and then `server`, so a stopped agent
//! costs a refused connection, not a failed pull. A `hosts.toml` without the marker line
//! was written by someone else and is left alone (an error) unless `--overwrite`. Files
//! are replaced atomically (temp file, rename), so containerd never reads half a file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first line of every file this command writes.
pub const MARKER: &str = "# managed-by: starling containerd-hosts";

#[derive(clap::Args, Debug)]
pub struct HostsArgs {
    /// containerd's hosts directory (its `config_path`), e.g. /etc/containerd/certs.d.
    #[arg(long)]
    pub certs_dir: PathBuf,
    /// The agent's registry address containerd pulls through, e.g. http://127.0.0.1:16000.
    #[arg(long)]
    pub mirror: String,
    /// `NAME=SERVER`: images named `NAME/…` (e.g. docker.io) go through the mirror, and
    /// fall back to SERVER (e.g. https://registry-1.docker.io). Repeatable.
    #[arg(long = "registry", value_name = "NAME=SERVER", required = true)]
    pub registries: Vec<String>,
    /// Replace a hosts.toml that this command did not write.
    #[arg(long)]
    pub overwrite: bool,
}

/// One registry's entry.
#[derive(Debug, PartialEq, Eq)]
pub struct Registry {
    pub name: String,
    pub server: String,
}

/// Parses `NAME=SERVER`; errors name the argument.
pub fn parse_registry(arg: &str) -> Result<Registry, String> {
    let (name, server) = arg
        .split_once('=')
        .ok_or_else(|| format!("--registry {arg:?}: expected NAME=SERVER"))?;
    let bad_name = name.is_empty()
        || name.contains(['/', '\\', '"'])
        || name.starts_with('.')
        || name.chars().any(char::is_whitespace);
    if bad_name {
        return Err(format!(
            "--registry {arg:?}: {name:?} must be a registry host such as docker.io or proxy:15000"
        ));
    }
    check_url(&format!("--registry {arg:?}"), server)?;
    Ok(Registry {
        name: name.to_owned(),
        server: server.trim_end_matches('/').to_owned(),
    })
}

fn check_url(what: &str, url: &str) -> Result<(), String> {
    let valid = (url.starts_with("http://") || url.starts_with("https://"))
        && !url.contains(['"', '\n', ' ']);
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{what}: {url:?} must be an http:// or https:// URL"
        ))
    }
}

/// The file for `registry`.
pub fn render(registry: &Registry, mirror: &str) -> String {
    format!(
        "{MARKER}\n# Pulls of {name} go through the node's Starling agent, then {server}.\n\
         server = \"{server}\"\n\n[host.\"{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
        name = registry.name,
        server = registry.server,
    )
}

/// Writes every registry's file; stops at the first failure.
pub fn run(args: &HostsArgs) -> Result<(), String> {
    check_url("--mirror", &args.mirror)?;
    let mirror = args.mirror.trim_end_matches('/');
    let registries = args
        .registries
        .iter()
        .map(|arg| parse_registry(arg))
        .collect::<Result<Vec<_>, _>>()?;
    for registry in &registries {
        let path = write(&args.certs_dir, registry, mirror, args.overwrite)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn write(
    dir: &Path,
    registry: &Registry,
    mirror: &str,
    overwrite: bool,
) -> Result<PathBuf, String> {
    let registry_dir = dir.join(&registry.name);
    let path = registry_dir.join("hosts.toml");
    let fail = |action: &str, e: std::io::Error| format!("cannot {action} {}: {e}", path.display());
    match fs::read_to_string(&path) {
        Ok(existing) if !overwrite && existing.lines().next() != Some(MARKER) => {
            return Err(format!(
                "{} exists and was not written by starling; move it away or pass --overwrite \
                 (agent.containerd.overwrite in the chart)",
                path.display()
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("read", e)),
    }
    fs::create_dir_all(&registry_dir).map_err(|e| fail("create the directory of", e))?;
    let temp = registry_dir.join(".hosts.toml.starling-tmp");
    let mut file = fs::File::create(&temp).map_err(|e| fail("write", e))?;
    file.write_all(render(registry, mirror).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| fail("write", e))?;
    fs::rename(&temp, &path).map_err(|e| fail("replace", e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path, registries: &[&str], overwrite: bool) -> HostsArgs {
        HostsArgs {
            certs_dir: dir.to_owned(),
            mirror: "http://127.0.0.1:16000/".into(),
            registries: registries.iter().map(|r| r.to_string()).collect(),
            overwrite,
        }
    }

    #[test]
    fn writes_one_file_per_registry_with_the_agent_first_and_the_registry_as_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let list = [
            "docker.io=https://registry-1.docker.io",
            "proxy.example:15000=http://proxy.example:15000/",
        ];
        run(&args(dir.path(), &list, false)).unwrap();
        let hub = fs::read_to_string(dir.path().join("docker.io/hosts.toml")).unwrap();
        assert_eq!(
            hub,
            "# managed-by: starling containerd-hosts\n\
             # Pulls of docker.io go through the node's Starling agent, then https://registry-1.docker.io.\n\
             server = \"https://registry-1.docker.io\"\n\n\
             [host.\"http://127.0.0.1:16000\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        );
        let proxy = fs::read_to_string(dir.path().join("proxy.example:15000/hosts.toml")).unwrap();
        assert!(
            proxy.contains("server = \"http://proxy.example:15000\"\n"),
            "{proxy}"
        );
        // Running again (every agent restart) replaces its own files.
        run(&args(dir.path(), &list, false)).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path().join("docker.io"))
            .unwrap()
            .collect();
        assert_eq!(names.len(), 1, "no temp file left behind");
    }

    #[test]
    fn a_foreign_hosts_toml_is_kept_unless_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("docker.io");
        fs::create_dir_all(&own).unwrap();
        fs::write(own.join("hosts.toml"), "server = \"https://mirror.corp\"\n").unwrap();
        let list = ["docker.io=https://registry-1.docker.io"];
        let err = run(&args(dir.path(), &list, false)).unwrap_err();
        assert!(err.contains("was not written by starling"), "{err}");
        let kept = fs::read_to_string(own.join("hosts.toml")).unwrap();
        assert_eq!(kept, "server = \"https://mirror.corp\"\n");
        run(&args(dir.path(), &list, true)).unwrap();
        let now = fs::read_to_string(own.join("hosts.toml")).unwrap();
        assert!(now.starts_with(MARKER), "{now}");
    }

    #[test]
    fn bad_arguments_are_named() {
        assert_eq!(
            parse_registry("docker.io").unwrap_err(),
            "--registry \"docker.io\": expected NAME=SERVER"
        );
        assert!(
            parse_registry("a/b=https://x")
                .unwrap_err()
                .contains("must be a registry host")
        );
        assert!(
            parse_registry("../etc=https://x")
                .unwrap_err()
                .contains("must be a registry host")
        );
        assert!(
            parse_registry("docker.io=ftp://x")
                .unwrap_err()
                .contains("http:// or https://")
        );
        let dir = tempfile::tempdir().unwrap();
        let mut bad = args(
            dir.path(),
            &["docker.io=https://registry-1.docker.io"],
            false,
        );
        bad.mirror = "127.0.0.1:16000".into();
        assert!(run(&bad).unwrap_err().starts_with("--mirror"));
        assert!(
            fs::read_dir(dir.path()).unwrap().next().is_none(),
            "nothing written"
        );
    }
}
