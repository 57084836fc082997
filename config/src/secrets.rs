//! Secrets read from files (`*_file` fields), so credentials come from a mounted
//! Kubernetes Secret instead of sitting inline in a ConfigMap.
//!
//! Each credential field `x` has an alternative `x_file`; validation accepts at most one
//! of the two ([`one_of`]), and [`crate::load`] then reads the file into `x` and clears
//! `x_file` ([`take_file`]), so everything past loading sees the credential inline. A
//! file's content is used as it is, except for one trailing newline (`echo` and
//! `kubectl create secret --from-file` add one).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// At most one of an inline credential and its file may be set.
pub(crate) fn one_of(
    inline: (&str, &Option<String>),
    file: (&str, &Option<PathBuf>),
) -> Result<()> {
    match (inline.1, file.1) {
        (Some(_), Some(_)) => Err(Error::invalid(
            file.0,
            format!("set either {} or {}, not both", inline.0, file.0),
        )),
        (None, Some(path)) if path.as_os_str().is_empty() => {
            Err(Error::invalid(file.0, "must be a file path"))
        }
        _ => Ok(()),
    }
}

/// Moves the content of `file` (if set) into `inline`; errors name `field` (the file
/// field's name).
pub(crate) fn take_file(
    field: &str,
    inline: &mut Option<String>,
    file: &mut Option<PathBuf>,
) -> Result<()> {
    if let Some(path) = file.take() {
        *inline = Some(read_secret(field, &path)?);
    }
    Ok(())
}

fn read_secret(field: &str, path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::invalid(field, format!("cannot read {}: {e}", path.display())))?;
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if text.is_empty() {
        return Err(Error::invalid(
            field,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_moves_into_the_inline_field_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "s3cret\n").unwrap();
        let (mut inline, mut file) = (None, Some(path));
        take_file("password_file", &mut inline, &mut file).unwrap();
        assert_eq!((inline.as_deref(), file), (Some("s3cret"), None));
    }

    #[test]
    fn missing_and_empty_files_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = take_file("password_file", &mut None, &mut Some(missing.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("password_file: cannot read {}", missing.display())),
            "{err}"
        );
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = take_file("password_file", &mut None, &mut Some(empty))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("is empty"), "{err}");
    }

    #[test]
    fn inline_and_file_together_are_rejected() {
        let err = one_of(
            ("password", &Some("p".into())),
            ("password_file", &Some(PathBuf::from("/run/secrets/p"))),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "password_file: set either password or password_file, not both"
        );
        one_of(("password", &None), ("password_file", &None)).unwrap();
    }
}
