//! Structured logs through `tracing`: human-readable text by default, JSON lines for
//! log collectors. Logs go to standard error, so command output on standard output stays clean.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

#[derive(Debug, thiserror::Error)]
#[error("log.level {level:?} is not a valid filter (try \"info\" or \"herald=debug\"): {reason}")]
pub struct BadLogFilter {
    level: String,
    reason: String,
}

pub fn init(config: &LogConfig) -> Result<(), BadLogFilter> {
    let filter = EnvFilter::try_new(&config.level).map_err(|error| BadLogFilter {
        level: config.level.clone(),
        reason: error.to_string(),
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    // A second initialisation (as in tests that start several servers) keeps the first.
    let _ = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    Ok(())
}

/// An error and its causes on one line, for a log or the command line. A cause whose words its
/// parent already quotes (`database error: {0}` over the sqlx error it wraps) is not repeated,
/// so a database error reads once, not three times.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("database error: {0}")]
        Database(#[from] Inner),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("disk I/O error")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot start")]
    struct Top(#[source] Outer);

    #[test]
    fn a_cause_its_parent_already_quotes_is_not_repeated() {
        let error = Top(Outer::from(Inner));
        assert_eq!(
            error_chain(&error),
            "cannot start: database error: disk I/O error"
        );
    }
}
