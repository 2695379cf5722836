//! The services: what Herald does, one file per feature, each function a whole use case
//! (check who may, validate, change in one unit of work with its audit entry, answer). The HTTP
//! handlers (`http/`), the CLI (`main.rs`) and the jobs (`jobs/`) call these; these call the
//! pure rules (`domain/`), the store (`store/`), the vault and the networks.
//!
//! Infrastructure lives beside this folder, not in it: configuration, clock, keys, data
//! directory, metrics, telemetry, the server and the CLI's maintenance commands.

pub mod accounts;
pub mod audit;
pub mod connections;
pub mod credentials;
mod error;
pub mod export;
pub mod home;
pub mod import;
pub mod inbox;
pub mod links;
pub mod media;
pub mod notify;
pub mod oauth;
pub mod people;
pub mod policy;
pub mod posts;
pub mod schedule;

pub use error::AppError;
