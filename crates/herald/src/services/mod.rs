//! The services: what Herald does, one file per feature, each function a whole use case
//! (check who may, validate, change in one unit of work with its audit entry, answer). The HTTP
//! handlers (`http/`), the CLI (`main.rs`) and the jobs (`jobs/`) call these; these call the
//! pure rules (`domain/`), the store (`store/`), the vault and the networks.
//!
//! Infrastructure lives beside this folder, not in it: configuration, clock, keys, data
//! directory, metrics, telemetry, the server and the CLI's maintenance commands.

pub mod accounts;
pub mod attacker_posts;
pub mod audit;
pub mod connections;
pub mod credentials;
mod error;
pub mod export;
pub mod home;
pub mod import;
pub mod inbox;
pub mod incidents;
pub mod links;
pub mod lockdown;
pub mod mail;
pub mod media;
pub mod notify;
pub mod oauth;
pub mod people;
pub mod policy;
pub mod posts;
pub mod schedule;
pub mod security;
pub mod staff;
pub mod training;
pub mod watch;
pub mod webhooks;

pub use error::{AppError, Entity};

use std::sync::Arc;

use jiff::Timestamp;

use crate::clock::Clock;
use crate::config::Config;
use crate::keys::Keys;
use crate::store::Store;

/// What a use case may reach, passed as one value instead of a parameter each: the store, the
/// configuration, the clock, the keys, the social networks' adapters, the policy guard (with
/// link safety), the media library and the breached-password data. Built once at start-up ([`crate::server`]); cheap to
/// clone (every part is shared).
#[derive(Debug, Clone)]
pub struct Services {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<Keys>,
    /// One adapter per social network.
    pub networks: connections::Networks,
    /// The company's policy rules, compiled once per saved version, and link safety.
    pub policy: Arc<policy::PolicyGuard>,
    /// Where posts' images are kept, and the key for signed links to them.
    pub media: media::Library,
    /// The imported breached-password data (possibly none).
    pub breaches: crate::breaches::Breaches,
    /// One token refresh at a time per account (see [`connections::tokens_for`]).
    pub token_locks: Arc<connections::TokenLocks>,
}

impl Services {
    /// The time now, by the clock Herald runs on (a manual one in tests).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }
}
