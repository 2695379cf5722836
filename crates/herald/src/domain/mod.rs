//! Pure types and rules: no IO, no async, no database or HTTP imports. Functions that depend on
//! time take `now` as an argument.

pub mod audit;
pub mod jobs;
pub mod password;
