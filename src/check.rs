//! `starling <component> --config FILE --check`: load and validate a configuration the
//! way the component would at start (`${VAR}` expansion, parsing, validation, `*_file`
//! secrets read) and report, without binding a socket, opening a store or registering
//! signal handlers. Deployment tooling (the Helm chart's CI, an init step) runs it on
//! rendered files: exit 0 and `… OK` on stdout, or the error naming the field (or the
//! unset variable) on stderr and exit 1.

use std::path::Path;

use starling_config::Component;

/// Loads `path` as `T`'s configuration and prints the outcome line on success.
pub fn run<T: Component>(path: &Path) -> Result<(), String> {
    starling_config::load::<T>(path).map_err(|e| format!("starling {}: {e}", T::NAME))?;
    println!("starling {}: {} OK", T::NAME, path.display());
    Ok(())
}
