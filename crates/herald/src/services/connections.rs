//! Herald's connections to the networks: one adapter per network, built from the
//! configuration; connecting an account (its gatekeeper gives Herald a grant, Herald keeps the
//! tokens sealed in the vault); and the tokens the publisher uses, refreshed before they
//! expire. Tokens never leave the server: no page or API answer holds one.
//!
//! Every request goes out through the hardened client (`networks::outbound`): a server a
//! gatekeeper names is kept as its origin, and refused when it is a private or local address
//! (unless `networks.allow_private_addresses`); what such a server answers is never quoted
//! back ([`refused_at`]), so the form cannot be used to find out what listens where.

use crate::domain::ids::AccountId;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use networks::bluesky::{Bluesky, OAuthSettings};
use networks::outbound::{OriginError, REFUSED_ADDRESS};
use networks::{
    Adapter, Endpoint, Grant, NetworkError, OAuthClient, Outbound, ReadInbox, Tokens, Watch,
};
use secrecy::{ExposeSecret, SecretString};

use crate::config::NetworksConfig;
use crate::domain::access::AccountAction;
use crate::domain::accounts::{Handle, Network};
use crate::domain::audit::Actor;
use crate::services::audit::record;
use crate::services::credentials;
use crate::services::{AppError, Entity, Services};
use crate::store::{AccountRecord, Store, UserRecord};

/// Tokens this close to expiry are refreshed before use.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_mins(5);

/// One adapter per network.
#[derive(Debug, Clone)]
pub struct Networks {
    adapters: Arc<[(Network, Arc<dyn Adapter>)]>,
    /// The Bluesky adapter again, as itself: connecting by AT Protocol OAuth is its own.
    bluesky: Arc<Bluesky>,
    /// The networks whose inbox Herald reads, and how (`networks::inbox`).
    readers: Arc<[(Network, Arc<dyn ReadInbox>)]>,
    /// How Herald watches an account's own posts and profile (`networks::watch`), for every
    /// network but Mastodon, whose watcher is made for the account's own instance.
    watchers: Arc<[(Network, Arc<dyn Watch>)]>,
    outbound: Outbound,
}

impl Networks {
    /// The adapters `config` describes; Bluesky's connects by OAuth with `bluesky_oauth`.
    pub fn from_config(config: &NetworksConfig, bluesky_oauth: OAuthSettings) -> Networks {
        let timeout = Duration::from_secs(config.request_timeout_seconds);
        let outbound =
            Outbound::new(timeout).allow_private_addresses(config.allow_private_addresses);
        let endpoint = |url: &str, oauth: Option<OAuthClient>| Endpoint::new(url, outbound, oauth);
        let x = oauth_client(&config.x_client_id, &config.x_client_secret);
        let linkedin = oauth_client(&config.linkedin_client_id, &config.linkedin_client_secret);
        let meta = oauth_client(&config.meta_app_id, &config.meta_app_secret);
        let instagram = oauth_client(&config.instagram_app_id, &config.instagram_app_secret);
        let threads = oauth_client(&config.threads_app_id, &config.threads_app_secret);
        let bluesky = Arc::new(
            Bluesky::new(endpoint(&config.bluesky_service_url, None)).with_oauth(bluesky_oauth),
        );
        // Each Mastodon instance registers Herald itself (`crate::services::oauth`), so the
        // default instance's adapter carries no client.
        let mastodon = Arc::new(networks::mastodon::Mastodon::new(endpoint(
            &config.mastodon_instance_url,
            None,
        )));
        let x = Arc::new(networks::x::X::new(endpoint(&config.x_api_url, x)));
        let linkedin = Arc::new(networks::linkedin::LinkedIn::new(endpoint(
            &config.linkedin_api_url,
            linkedin,
        )));
        let threads = Arc::new(networks::threads::Threads::new(endpoint(
            &config.threads_api_url,
            threads,
        )));
        let facebook = Arc::new(networks::facebook::Facebook::new(endpoint(
            &config.graph_api_url,
            meta,
        )));
        let instagram = Arc::new(networks::instagram::Instagram::new(endpoint(
            &config.instagram_api_url,
            instagram,
        )));
        let adapters: Vec<(Network, Arc<dyn Adapter>)> = vec![
            (Network::X, x.clone()),
            (Network::Linkedin, linkedin.clone()),
            (Network::Threads, threads.clone()),
            (Network::Bluesky, bluesky.clone()),
            (Network::Mastodon, mastodon.clone()),
            (Network::Facebook, facebook.clone()),
            (Network::Instagram, instagram.clone()),
        ];
        let watchers: Vec<(Network, Arc<dyn Watch>)> = vec![
            (Network::X, x.clone()),
            (Network::Linkedin, linkedin),
            (Network::Threads, threads),
            (Network::Bluesky, bluesky.clone()),
            (Network::Facebook, facebook.clone()),
            (Network::Instagram, instagram.clone()),
        ];
        let readers: Vec<(Network, Arc<dyn ReadInbox>)> = vec![
            (Network::Bluesky, bluesky.clone()),
            (Network::Mastodon, mastodon),
            (Network::X, x),
            (Network::Facebook, facebook),
            (Network::Instagram, instagram),
        ];
        Networks {
            adapters: adapters.into(),
            bluesky,
            readers: readers.into(),
            watchers: watchers.into(),
            outbound,
        }
    }

    /// How Herald watches an account on `network` (`services::watch`); Mastodon's is made for
    /// each account's instance there instead.
    pub fn watcher(&self, network: Network) -> Option<Arc<dyn Watch>> {
        self.watchers
            .iter()
            .find(|(known, _)| *known == network)
            .map(|(_, watcher)| watcher.clone())
    }

    /// How Herald reads `network`'s inbox, where it does (see the README for what each
    /// network allows).
    pub fn reader(&self, network: Network) -> Option<Arc<dyn ReadInbox>> {
        self.readers
            .iter()
            .find(|(known, _)| *known == network)
            .map(|(_, reader)| reader.clone())
    }

    /// The Bluesky adapter, for connecting by OAuth.
    pub fn bluesky(&self) -> &Bluesky {
        &self.bluesky
    }

    /// How requests go out (`networks.request_timeout_seconds`,
    /// `networks.allow_private_addresses`), for adapters made on the spot, such as one for a
    /// Mastodon instance named by a gatekeeper.
    pub fn outbound(&self) -> Outbound {
        self.outbound
    }

    /// A server as the gatekeeper typed it, as its origin, if Herald may send it requests;
    /// the refusal names `field`.
    pub fn server_origin(&self, typed: &str, field: &'static str) -> Result<String, AppError> {
        let invalid = |message: &str| AppError::Invalid {
            field,
            message: message.to_owned(),
        };
        self.outbound.origin(typed).map_err(|error| match error {
            OriginError::Refused => invalid(REFUSED_ADDRESS),
            OriginError::Unreadable => {
                invalid("type the server's address, such as mastodon.social")
            }
            OriginError::NotBare => {
                invalid("type only the server's address (such as mastodon.social), without a path")
            }
            OriginError::Insecure => {
                invalid("the server must be reached over https://, such as https://mastodon.social")
            }
        })
    }

    /// The adapter for `network`; every network has one, so the error is for a build that
    /// lists a network before its adapter exists.
    pub fn adapter(&self, network: Network) -> Result<Arc<dyn Adapter>, NetworkError> {
        self.adapters
            .iter()
            .find(|(candidate, _)| *candidate == network)
            .map(|(_, adapter)| adapter.clone())
            .ok_or_else(|| {
                NetworkError::Rejected(format!("Herald cannot publish to {} yet", network.label()))
            })
    }
}

/// Connects an account: the gatekeeper's grant is checked with the network, and the tokens
/// it gives are sealed in the vault. Returns the handle the connection acts as.
pub async fn connect(
    services: &Services,
    actor: &UserRecord,
    account_id: AccountId,
    grant: &Grant,
    now: Timestamp,
) -> Result<String, AppError> {
    let Services {
        store, networks, ..
    } = services;
    let visible =
        crate::services::accounts::open(store, actor, account_id, AccountAction::Connect).await?;
    let network = visible.account.network;
    let adapter = networks.adapter(network).map_err(refused(network))?;
    let adapter = adapter.as_ref();
    refuse_control_characters(grant)?;
    let grant = with_checked_server(networks, grant)?;
    connect_opened(services, adapter, actor, account_id, network, &grant, now).await
}

/// A pasted token or app password with a line break or another control character in it was
/// pasted wrongly; it can never be sent in a header, so it is refused here, naming the field,
/// rather than failing later as if the network were down.
fn refuse_control_characters(grant: &Grant) -> Result<(), AppError> {
    let (field, secret) = match grant {
        Grant::AccessToken { token, .. } => ("token", token),
        Grant::AppPassword { password, .. } => ("password", password),
        Grant::AuthorizationCode { .. } => return Ok(()),
    };
    if secret.expose_secret().chars().any(char::is_control) {
        return Err(AppError::Invalid {
            field,
            message: format!(
                "the {field} has a line break or another invisible character in it; copy it again from the network and paste only the {field}"
            ),
        });
    }
    Ok(())
}

/// The grant with the server it names (if any) as that server's origin, or why Herald will
/// not send it requests. Without this, `http://169.254.169.254/latest#` would become the base
/// of every request, its path and fragment swallowing Herald's own.
fn with_checked_server(networks: &Networks, grant: &Grant) -> Result<Grant, AppError> {
    let mut grant = grant.clone();
    if let Grant::AccessToken { server, .. } | Grant::AppPassword { server, .. } = &mut grant
        && let Some(typed) = server.as_deref()
    {
        *server = Some(networks.server_origin(typed, "server")?);
    }
    Ok(grant)
}

/// The server a grant names, where the gatekeeper typed one.
fn named_server(grant: &Grant) -> Option<&str> {
    match grant {
        Grant::AccessToken { server, .. } | Grant::AppPassword { server, .. } => server.as_deref(),
        Grant::AuthorizationCode { .. } => None,
    }
}

/// [`connect`] through an adapter made for this connection rather than the configured one
/// (a Mastodon instance with Herald's application there, for an OAuth code from it): the
/// instance's answers are not quoted; `server` names it in messages.
pub async fn connect_with(
    services: &Services,
    adapter: &dyn Adapter,
    server: &str,
    actor: &UserRecord,
    account_id: AccountId,
    grant: &Grant,
    now: Timestamp,
) -> Result<String, AppError> {
    let Services { store, .. } = services;
    let visible =
        crate::services::accounts::open(store, actor, account_id, AccountAction::Connect).await?;
    let network = visible.account.network;
    let tokens = adapter
        .connect(grant, now)
        .await
        .map_err(refused_at(network, server))?;
    save(services, adapter, actor, account_id, network, &tokens, now).await
}

/// Turns the grant into tokens at the network, for an account already opened, and saves them.
async fn connect_opened(
    services: &Services,
    adapter: &dyn Adapter,
    actor: &UserRecord,
    account_id: AccountId,
    network: Network,
    grant: &Grant,
    now: Timestamp,
) -> Result<String, AppError> {
    let tokens = match named_server(grant) {
        Some(server) => adapter
            .connect(grant, now)
            .await
            .map_err(refused_at(network, server))?,
        None => adapter
            .connect(grant, now)
            .await
            .map_err(refused(network))?,
    };
    save(services, adapter, actor, account_id, network, &tokens, now).await
}

/// Keeps the tokens of a new connection: who they act as is asked of the network, they are
/// sealed in the vault, and the connection is audited. Returns the handle.
pub async fn save(
    services: &Services,
    adapter: &dyn Adapter,
    actor: &UserRecord,
    account_id: AccountId,
    network: Network,
    tokens: &Tokens,
    now: Timestamp,
) -> Result<String, AppError> {
    let Services { store, .. } = services;
    let info = match &tokens.server {
        // A server the gatekeeper named, or a PDS found from the account's handle.
        Some(server) => adapter
            .account_info(tokens)
            .await
            .map_err(refused_at(network, server))?,
        None => adapter
            .account_info(tokens)
            .await
            .map_err(refused(network))?,
    };
    require_registered_account(store, actor, account_id, network, &info.handle, now).await?;
    let work = store.write().await?;
    let store: &Store = &work;
    credentials::seal_tokens(
        store,
        &services.keys,
        account_id,
        &tokens.to_vault_json(),
        actor.id,
        now,
    )
    .await?;
    store
        .set_connection(account_id, "connected", Some(&info.handle))
        .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "account.connected",
        Some(format!("account:{account_id}")),
        None,
        serde_json::json!({ "network": network.as_str(), "as": info.handle }),
    )
    .await?;
    work.commit().await?;
    Ok(info.handle)
}

/// Refuses tokens that act as another network account than the one registered (`@walkcafe`
/// connected as `@herald`): publishing would go to the wrong account. Audited. A handle the
/// network gives that is not one by the network's rules (a LinkedIn member's name) cannot be
/// compared and is accepted.
async fn require_registered_account(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    network: Network,
    reported: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let account = store.account(account_id).await?.ok_or_else(|| {
        AppError::not_found(Entity::Account, format!("there is no account {account_id}"))
    })?;
    let Ok(reported) = Handle::parse(network, reported) else {
        return Ok(());
    };
    let registered = account.handle.as_str();
    if reported.as_str().eq_ignore_ascii_case(registered) {
        return Ok(());
    }
    let reported = reported.as_str();
    record(
        store,
        now,
        Actor::User(actor.id),
        "account.connection_refused",
        Some(format!("account:{account_id}")),
        None,
        serde_json::json!({
            "network": network.as_str(),
            "registered": registered,
            "reported": reported,
        }),
    )
    .await?;
    Err(AppError::Invalid {
        field: "credentials",
        message: format!(
            "these credentials are for {reported} on {}, but this account is {registered}: sign in to {} as {registered} and connect again, or add {reported} as an account of its own",
            network.label(),
            network.label()
        ),
    })
}

/// Why tokens could not be had for publishing.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error(
        "the account is not connected to {0}; its gatekeeper connects it on the account's page"
    )]
    NotConnected(&'static str),
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error(transparent)]
    People(#[from] AppError),
}

/// One lock per account, so that only one task at a time reads and refreshes its tokens: a
/// refresh token is single-use at most networks, and the publisher, the inbox reader and the
/// watcher all ask for tokens. Within one process (several processes on PostgreSQL can still
/// race; the loser's token is refused and it tries again later).
#[derive(Debug, Default)]
pub struct TokenLocks(
    std::sync::Mutex<std::collections::HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>,
);

impl TokenLocks {
    async fn lock(&self, account: AccountId) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = match self.0.lock() {
            Ok(mut locks) => locks.entry(account).or_default().clone(),
            Err(poisoned) => poisoned.into_inner().entry(account).or_default().clone(),
        };
        lock.lock_owned().await
    }
}

/// The account's tokens for publishing, refreshed (and sealed again) when they are about to
/// expire. One caller at a time per account: a second one reads the tokens the first sealed.
pub async fn tokens_for(
    services: &Services,
    adapter: &dyn Adapter,
    account: &AccountRecord,
    now: Timestamp,
) -> Result<Tokens, TokensError> {
    let _turn = services.token_locks.lock(account.id).await;
    let Services { store, keys, .. } = services;
    let Some((json, stored_by)) = credentials::open_tokens(store, keys, account.id).await? else {
        return Err(TokensError::NotConnected(account.network.label()));
    };
    let tokens = Tokens::from_vault_json(&json)
        .map_err(|error| AppError::Internal(format!("account {} tokens: {error}", account.id)))?;
    if !tokens.expires_within(now, REFRESH_MARGIN) {
        return Ok(tokens);
    }
    let fresh = adapter.refresh(&tokens, now).await?;
    credentials::seal_tokens(
        &services.store,
        &services.keys,
        account.id,
        &fresh.to_vault_json(),
        stored_by,
        now,
    )
    .await?;
    tracing::info!(
        account.id = account.id.get(),
        "refreshed the account's network tokens"
    );
    Ok(fresh)
}

/// Herald's OAuth client at a network, when its id is configured.
fn oauth_client(id: &Option<String>, secret: &Option<SecretString>) -> Option<OAuthClient> {
    let id = id.as_deref().map(str::trim).filter(|id| !id.is_empty())?;
    Some(OAuthClient {
        id: id.to_owned(),
        secret: secret.clone(),
    })
}

/// A network's refusal, for the gatekeeper connecting the account.
pub(crate) fn refused(network: Network) -> impl Fn(NetworkError) -> AppError {
    move |error| match error {
        NetworkError::Unauthorized(reason) | NetworkError::Rejected(reason) => AppError::Invalid {
            field: "credentials",
            message: format!(
                "{} did not accept these credentials: {reason}",
                network.label()
            ),
        },
        other => AppError::Unavailable(format!(
            "{} could not be asked just now ({other}); try again in a minute",
            network.label()
        )),
    }
}

/// A refusal from a server the gatekeeper named or Herald found from what they typed (a
/// Mastodon instance, a Bluesky PDS or authorization server), called `server` in the message.
/// A refused address says so; whatever else went wrong there (no connection, a closed one, a
/// status, an answer that is not what was asked for) is one message, so the form cannot tell
/// anyone what listens at an address. Herald's own reasons (an app password's format, a
/// handle the DID document does not claim) are kept; the server's own words are not.
pub(crate) fn refused_at(network: Network, server: &str) -> impl Fn(NetworkError) -> AppError + '_ {
    move |error| {
        tracing::debug!(network = network.as_str(), %error, "a named server refused or failed");
        match error {
            NetworkError::Rejected(reason) if reason == REFUSED_ADDRESS => AppError::Invalid {
                field: "server",
                message: format!("{REFUSED_ADDRESS}, and {server} is one"),
            },
            NetworkError::Unauthorized(_) => AppError::Invalid {
                field: "credentials",
                message: format!("{server} did not accept these credentials"),
            },
            NetworkError::Rejected(reason) if !quotes_an_answer(&reason) => AppError::Invalid {
                field: "credentials",
                message: format!(
                    "{} did not accept these credentials: {reason}",
                    network.label()
                ),
            },
            _ => unreachable_server(server),
        }
    }
}

/// The one message for a named server Herald could not use.
pub(crate) fn unreachable_server(server: &str) -> AppError {
    AppError::Unavailable(format!(
        "Herald could not get an answer it understands from {server}; check the address, or try again in a minute"
    ))
}

/// Whether a refusal's reason quotes a server's answer: those start with its status
/// (`403 Forbidden: …`, as `networks` words them).
pub(crate) fn quotes_an_answer(reason: &str) -> bool {
    let digits = reason.bytes().take_while(u8::is_ascii_digit).count();
    digits == 3 && matches!(reason.as_bytes().get(3), None | Some(b' '))
}
