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
