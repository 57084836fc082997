//! `${VAR}` expansion of environment variables in a config file's text, before YAML
//! parsing, so one file (a Kubernetes ConfigMap) serves every pod: `advertise:
//! ${POD_IP}:16001`.
//!
//! Syntax, applied to every line except whole-line `#` comments:
//! - `${NAME}`: the variable's value; an unset variable is an error naming it and the
//!   line. NAME is `[A-Za-z_][A-Za-z0-9_]*`.
//! - `${NAME:-default}`: the value, or `default` (literal text up to the `}`) when the
//!   variable is unset or empty. `${ZONE:-}` thus becomes nothing, which YAML reads as
//!   null: an optional field stays unset.
//! - `$${`: a literal `${`. Any other `$` is kept as it is.
//!
//! The value is inserted as text: it should be a plain scalar (an address, a name, a
//! number); quote the placeholder (`password: "${PASS}"`) when the value may hold YAML
//! syntax.

use std::fmt;

/// Why a file's text could not be expanded; [`crate::Error::Expand`] adds the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError {
    /// 1-based line of the placeholder.
    pub line: usize,
    pub kind: ExpandErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandErrorKind {
    /// `${NAME}` without a default, and NAME is not set.
    Unset(String),
    /// `${` not followed by a valid name and `}` (or `:-default}`).
    Malformed(String),
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExpandErrorKind::Unset(name) => write!(
                f,
                "line {}: environment variable {name} is not set (used as ${{{name}}}; \
                 write ${{{name}:-default}} for a default, $${{ for a literal ${{)",
                self.line
            ),
            ExpandErrorKind::Malformed(text) => write!(
                f,
                "line {}: {text:?} is not a placeholder: expected ${{NAME}} or \
                 ${{NAME:-default}} (write $${{ for a literal ${{)",
                self.line
            ),
        }
    }
}

impl std::error::Error for ExpandError {}

/// Expands `text` with variables from `lookup` (the process environment in
/// [`crate::load`]).
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            expand_line(line, i + 1, lookup, &mut out)?;
        }
    }
    Ok(out)
}

fn expand_line(
    line: &str,
    number: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> Result<(), ExpandError> {
    let mut rest = line;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let (value, consumed) = placeholder(after, number, lookup)?;
            out.push_str(&value);
            rest = &after[consumed..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(())
}

/// Resolves the placeholder whose body starts at `body` (just after `${`); returns the
/// value and how many bytes of `body` it used, the closing `}` included.
fn placeholder(
    body: &str,
    line: usize,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, usize), ExpandError> {
    let malformed = || ExpandError {
        line,
        kind: ExpandErrorKind::Malformed(format!("${{{}", body.trim_end_matches(['\n', '\r']))),
    };
    let close = body.find('}').ok_or_else(malformed)?;
    let inner = &body[..close];
    let (name, default) = match inner.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (inner, None),
    };
    if !valid_name(name) {
        return Err(malformed());
    }
    let value = match (lookup(name), default) {
        (Some(value), Some(default)) if value.is_empty() => default.to_owned(),
        (Some(value), _) => value,
        (None, Some(default)) => default.to_owned(),
        (None, None) => {
            return Err(ExpandError {
                line,
                kind: ExpandErrorKind::Unset(name.to_owned()),
            });
        }
    };
    Ok((value, close + 1))
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "POD_IP" => Some("10.1.2.3".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(text: &str) -> Result<String, String> {
        expand(text, &env).map_err(|e| e.to_string())
    }

    #[test]
    fn variables_defaults_and_escapes() {
        assert_eq!(
            run("advertise: ${POD_IP}:16001\n").unwrap(),
            "advertise: 10.1.2.3:16001\n"
        );
        assert_eq!(run("zone: ${ZONE:-}\n").unwrap(), "zone: \n");
        assert_eq!(run("zone: ${EMPTY:-a1}").unwrap(), "zone: a1");
        assert_eq!(run("zone: ${POD_IP:-a1}").unwrap(), "zone: 10.1.2.3");
        assert_eq!(run("x: ${EMPTY}").unwrap(), "x: ");
        assert_eq!(
            run("p: '$${POD_IP} costs $5'").unwrap(),
            "p: '${POD_IP} costs $5'"
        );
        assert_eq!(run("a: $$\nb: $").unwrap(), "a: $$\nb: $");
    }

    #[test]
    fn whole_line_comments_are_left_alone() {
        let text = "# set ${NOT_SET} here\n  # ${ALSO}\nx: 1 # ${POD_IP}\n";
        assert_eq!(
            run(text).unwrap(),
            "# set ${NOT_SET} here\n  # ${ALSO}\nx: 1 # 10.1.2.3\n"
        );
    }

    #[test]
    fn an_unset_variable_names_itself_and_its_line() {
        let err = run("listen: 0.0.0.0:1\nadvertise: ${HOST_IP}:16001\n").unwrap_err();
        assert!(
            err.starts_with("line 2: environment variable HOST_IP is not set"),
            "{err}"
        );
        let err = expand("a: ${X}", &env).unwrap_err();
        assert_eq!(err.kind, ExpandErrorKind::Unset("X".into()));
    }

    #[test]
    fn malformed_placeholders_are_errors() {
        for text in ["a: ${POD_IP", "a: ${}", "a: ${1X}", "a: ${A B}", "a: ${-x}"] {
            let err = run(text).unwrap_err();
            assert!(err.starts_with("line 1: \"${"), "{text}: {err}");
            assert!(err.contains("is not a placeholder"), "{text}: {err}");
        }
    }
}
