//! Log output of the `starling` process, for a terminal and for `kubectl logs`.
//!
//! Logs go to stderr. The format is `text` (human-readable) or `json` (one object per
//! line, for log collectors), chosen by `--log-format` or else the `STARLING_LOG_FORMAT`
//! environment variable; `RUST_LOG` sets the filter (default `info`). Text is coloured
//! only when stderr is a terminal and `NO_COLOR` is unset, so files and container logs
//! never carry ANSI escapes.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// The environment variable read when `--log-format` is not given.
pub const FORMAT_ENV: &str = "STARLING_LOG_FORMAT";

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The format from the flag, else from [`FORMAT_ENV`], else text; a bad environment
/// value is an error naming the variable.
pub fn resolve(flag: Option<LogFormat>, env: Option<String>) -> Result<LogFormat, String> {
    if let Some(format) = flag {
        return Ok(format);
    }
    match env.as_deref().map(str::trim) {
        None | Some("") => Ok(LogFormat::Text),
        Some(value) => LogFormat::from_str(value, true).map_err(|_| {
            format!("starling: {FORMAT_ENV}={value:?} is not a log format: expected text or json")
        }),
    }
}

/// Installs the process's subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().with_current_span(true).init(),
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(colour).init()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_variable_then_text() {
        let env = |v: &str| Some(v.to_owned());
        assert_eq!(
            resolve(Some(LogFormat::Text), env("json")),
            Ok(LogFormat::Text)
        );
        assert_eq!(resolve(None, env("json")), Ok(LogFormat::Json));
        assert_eq!(resolve(None, env("JSON")), Ok(LogFormat::Json));
        assert_eq!(resolve(None, env("")), Ok(LogFormat::Text));
        assert_eq!(resolve(None, None), Ok(LogFormat::Text));
        let err = resolve(None, env("yaml")).unwrap_err();
        assert_eq!(
            err,
            "starling: STARLING_LOG_FORMAT=\"yaml\" is not a log format: expected text or json"
        );
    }
}
