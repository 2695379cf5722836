//! Connecting an account from the browser with OAuth 2.0 (authorization code with PKCE, RFC
//! 7636): the gatekeeper starts on the account's page, the network asks them to let Herald
//! post, and sends them back with a code that Herald exchanges for tokens sealed in the vault.
//!
//! Between the two steps the server keeps no state, as with passkeys: the PKCE verifier, the
//! account, the member, the network (and Mastodon instance) and the expiry are sealed by the
//! vault into a cookie the browser carries, bound to a random `state` that makes the round
//! trip through the network. A state completes once (`spent_ceremonies`, keyed by its
//! SHA-256), within ten minutes, and only for the member who started it. Each Mastodon
//! instance registers Herald on first use; its client secret is sealed in `oauth_apps`.
//!
//! Bluesky uses AT Protocol OAuth (`networks::bluesky::oauth`): the request is pushed to the
//! account's own authorization server first, and the tokens are bound to a key made for the
//! connection, which the ceremony carries (sealed) with the verifier. A Herald with an https
//! `public_url` is a confidential client (its metadata at
//! [`networks::bluesky::oauth::METADATA_PATH`]); one used on this machine is a loopback
//! client, reached at `http://127.0.0.1:PORT`.

use crate::domain::ids::{AccountId, UserId};
use base64::Engine;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use networks::bluesky::OAuthSettings;
use networks::bluesky::oauth::{AtprotoClient, Pending, Returned};
use networks::mastodon::Mastodon;
use networks::{Adapter, AuthorizeRequest, Endpoint, Grant, NetworkError, OAuthClient};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::access::AccountAction;
use crate::domain::accounts::Network;
use crate::domain::audit::Actor;
use crate::domain::constant_time_eq;
use crate::keys::Keys;
use crate::services::audit::record;
use crate::services::connections::{self, Networks};
use crate::services::people::{random_token, token_hash};
use crate::services::{AppError, Services};
use crate::store::{OAuthAppRecord, Store, UserRecord};

/// How long the gatekeeper has to allow Herald at the network.
pub const CEREMONY_LASTS: SignedDuration = SignedDuration::from_mins(10);
/// Where networks send the gatekeeper back, below Herald's origin.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// The name Herald registers itself under at a Mastodon instance.
const APP_NAME: &str = "Herald";

/// A started connection: where to send the browser, and the sealed ceremony it must carry
/// back (as a cookie).
pub struct Started {
    pub authorize_url: String,
    pub sealed: String,
    pub network: Network,
}

debug_without_secrets!(Started);

/// What the network sent back to the callback.
pub struct Callback<'a> {
    pub state: Option<&'a str>,
    pub code: Option<SecretString>,
    /// The network's OAuth error code (`access_denied`, …), when the gatekeeper declined.
    pub error: Option<&'a str>,
    /// The authorization server that answered (RFC 9207), where the network says.
    pub issuer: Option<&'a str>,
}

impl std::fmt::Debug for Callback<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Callback { .. }")
    }
}

/// A finished connection: which account, and who Herald now posts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    pub account_id: AccountId,
    pub handle: String,
}

/// Why a callback connected nothing. Nothing is stored in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// Unknown, tampered, already used, expired, or started by another member.
    #[error(
        "this connection was not started here in the last ten minutes by you, or it was already used; nothing was changed. Start again from the account's page."
    )]
    State,
    /// The gatekeeper (or the network) declined.
    #[error("{network} did not let Herald connect ({reason}); nothing was changed.")]
    Declined {
        account_id: AccountId,
        network: &'static str,
        reason: String,
    },
    #[error(transparent)]
    People(#[from] AppError),
}

/// What the browser carries between the two steps, sealed.
#[derive(Serialize, Deserialize)]
struct Ceremony {
    state: String,
    account_id: AccountId,
    user_id: UserId,
    verifier: String,
    network: String,
    /// The Mastodon instance's origin.
    instance: Option<String>,
    redirect_uri: String,
    expires_ms: i64,
    /// Bluesky: the pending AT Protocol authorization (its DPoP key and where to redeem).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    atproto: Option<String>,
}

debug_without_secrets!(Ceremony);

/// How Herald connects Bluesky accounts by OAuth: as a confidential client when it has an
/// https `public_url`, else as a loopback client made per connection.
pub fn bluesky_settings(config: &Config, keys: &Keys, clock: Arc<dyn Clock>) -> OAuthSettings {
    let confidential = config
        .public_url
        .as_deref()
        .filter(|_| config.served_over_tls())
        .map(|url| AtprotoClient::confidential(url, CALLBACK_PATH, keys.bluesky_client.clone()));
    OAuthSettings {
        confidential,
        plc_url: config.networks.bluesky_plc_url.clone(),
        now: Arc::new(move || clock.now()),
    }
}

/// The AT Protocol client a Bluesky connection to `redirect_uri` is made as.
fn bluesky_client(networks: &Networks, redirect_uri: &str) -> Result<AtprotoClient, AppError> {
    if let Some(client) = networks.bluesky().confidential_client() {
        return Ok(client.clone());
    }
    let loopback = ["http://127.0.0.1:", "http://[::1]:"]
        .iter()
        .any(|prefix| redirect_uri.starts_with(prefix));
    if !loopback {
        return Err(AppError::Invalid {
            field: "oauth",
            message: "Bluesky lets a Herald without an https address connect only when it is opened at http://127.0.0.1 (not localhost): open Herald at that address, or give Herald its https address in public_url. You can also connect with an app password below.".to_owned(),
        });
    }
    Ok(AtprotoClient::loopback(redirect_uri))
}

/// Step one (the account's gatekeeper): a PKCE verifier and challenge and a state, sealed;
/// for Mastodon, Herald's application at `instance` (typed by the gatekeeper; empty means
/// `default_instance`), registered there first if need be.
pub async fn start(
    services: &Services,
    actor: &UserRecord,
    account_id: AccountId,
    instance: &str,
    redirect_uri: &str,
    now: Timestamp,
) -> Result<Started, AppError> {
    let Services {
        store,
        keys,
        networks,
        ..
    } = services;
    let default_instance = services.config.networks.mastodon_instance_url.as_str();
    let visible =
        crate::services::accounts::open(store, actor, account_id, AccountAction::Connect).await?;
    let network = visible.account.network;
    let (state, verifier) = (random_token(), random_token());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    let request = AuthorizeRequest {
        redirect_uri,
        state: &state,
        code_challenge: &challenge,
    };
    // Where to send the browser, the Mastodon instance, and Bluesky's pending authorization.
    let (authorize_url, instance, atproto) = if network == Network::Bluesky {
        let client = bluesky_client(networks, redirect_uri)?;
        let started = networks
            .bluesky()
            .start_oauth(&client, &visible.account.handle, &request, now)
            .await
            .map_err(connections::refused_at(
                network,
                "the account's Bluesky server",
            ))?;
        let pending = started.pending.to_json().to_string();
        (Some(started.authorize_url), None, Some(pending))
    } else if network == Network::Mastodon {
        let typed = Some(instance.trim()).filter(|typed| !typed.is_empty());
        let instance = instance_origin(networks, typed.unwrap_or(default_instance))?;
        let client =
            mastodon_app(store, keys, networks, actor, &instance, redirect_uri, now).await?;
        let adapter = mastodon_at(networks, &instance, client);
        (adapter.authorize_url(&request), Some(instance), None)
    } else {
        let adapter = networks
            .adapter(network)
            .map_err(|_| not_offered(network))?;
        (adapter.authorize_url(&request), None, None)
    };
    let authorize_url = authorize_url.ok_or_else(|| not_offered(network))?;
    let ceremony = Ceremony {
        state,
        account_id,
        user_id: actor.id,
        verifier,
        network: network.as_str().to_owned(),
        instance,
        redirect_uri: redirect_uri.to_owned(),
        expires_ms: now
            .saturating_add(CEREMONY_LASTS)
            .unwrap_or(now)
            .as_millisecond(),
        atproto,
    };
    Ok(Started {
        authorize_url,
        sealed: seal(keys, &ceremony)?,
        network,
    })
}

/// Step two (the same member, back from the network): checks the state against the sealed
/// ceremony, spends it, and exchanges the code for tokens through `connections`.
pub async fn finish(
    services: &Services,
    actor: &UserRecord,
    sealed: Option<&str>,
    callback: Callback<'_>,
    now: Timestamp,
) -> Result<Connected, CallbackError> {
    let Services {
        store,
        keys,
        networks,
        ..
    } = services;
    let ceremony = open(keys, sealed.unwrap_or_default(), now)?;
    let given = callback.state.unwrap_or_default();
    if !constant_time_eq(given.as_bytes(), ceremony.state.as_bytes())
        || ceremony.user_id != actor.id
    {
        return Err(CallbackError::State);
    }
    let expires =
        Timestamp::from_millisecond(ceremony.expires_ms).map_err(|_| CallbackError::State)?;
    let spent = format!("oauth:{}", token_hash(&ceremony.state));
    if !store
        .spend_ceremony(&spent, expires)
        .await
        .map_err(AppError::from)?
    {
        return Err(CallbackError::State);
    }
    let network = Network::parse(&ceremony.network).map_err(|_| CallbackError::State)?;
    let account_id = ceremony.account_id;
    let declined = |reason: String| CallbackError::Declined {
        account_id,
        network: network.label(),
        reason,
    };
    if let Some(error) = callback.error {
        return Err(declined(reason(error)));
    }
    let code = callback
        .code
        .filter(|code| !code.expose_secret().is_empty())
        .ok_or_else(|| declined("it sent no authorization code".to_owned()))?;
    let verifier = SecretString::from(ceremony.verifier.clone());
    let grant = Grant::AuthorizationCode {
        code: code.clone(),
        verifier: verifier.clone(),
        redirect_uri: ceremony.redirect_uri.clone(),
    };
    let visible =
        crate::services::accounts::open(store, actor, account_id, AccountAction::Connect).await?;
    if visible.account.network != network {
        return Err(CallbackError::State);
    }
    let handle = match (network, &ceremony.instance) {
        (Network::Bluesky, _) => {
            let returned = Returned {
                code: &code,
                verifier: &verifier,
                issuer: callback.issuer,
            };
            let tokens = bluesky_tokens(networks, &ceremony, &returned, declined, now).await?;
            let bluesky = networks.bluesky();
            connections::save(services, bluesky, actor, account_id, network, &tokens, now).await?
        }
        (Network::Mastodon, Some(instance)) => {
            let app = store
                .oauth_app(instance, &ceremony.redirect_uri)
                .await
                .map_err(AppError::from)?
                .ok_or(CallbackError::State)?;
            let client = open_app(keys, &app).map_err(|_| CallbackError::State)?;
            let adapter = mastodon_at(networks, instance, client);
            connections::connect_with(services, &adapter, instance, actor, account_id, &grant, now)
                .await?
        }
        _ => connections::connect(services, actor, account_id, &grant, now).await?,
    };
    Ok(Connected { account_id, handle })
}

/// Redeems the code of a Bluesky ceremony for DPoP-bound tokens; Bluesky's refusal becomes
/// `declined`.
async fn bluesky_tokens(
    networks: &Networks,
    ceremony: &Ceremony,
    returned: &Returned<'_>,
    declined: impl Fn(String) -> CallbackError,
    now: Timestamp,
) -> Result<networks::Tokens, CallbackError> {
    let pending = ceremony
        .atproto
        .as_deref()
        .and_then(Pending::from_json)
        .ok_or(CallbackError::State)?;
    let client = bluesky_client(networks, &ceremony.redirect_uri)?;
    networks
        .bluesky()
        .finish_oauth(&client, &pending, returned, now)
        .await
        .map_err(|error| match error {
            // Herald's own checks (the `iss`, the account the tokens are for) in its words.
            NetworkError::Rejected(reason) if !connections::quotes_an_answer(&reason) => {
                declined(reason)
            }
            // The server's refusal (a code already used, …), never in its words.
            NetworkError::Unauthorized(_) | NetworkError::Rejected(_) => {
                tracing::debug!(%error, "the Bluesky authorization server refused the code");
                declined("the account's Bluesky server did not accept the authorization".to_owned())
            }
            _ => CallbackError::People(connections::unreachable_server(
                "the account's Bluesky server",
            )),
        })
}

/// A Mastodon instance as typed (`mastodon.social`, `https://mastodon.social/`) as its
/// origin. Herald sends the instance requests, so only https is accepted, and never to a
/// private or local address unless `networks.allow_private_addresses` (which also lets such an
/// address be reached over http).
pub fn instance_origin(networks: &Networks, typed: &str) -> Result<String, AppError> {
    networks.server_origin(typed, "instance")
}

/// Herald's application at a Mastodon instance, registered there on first use. A stored one
/// whose secret no longer opens (a master key replaced since) is registered again.
async fn mastodon_app(
    store: &Store,
    keys: &Keys,
    networks: &Networks,
    actor: &UserRecord,
    instance: &str,
    redirect_uri: &str,
    now: Timestamp,
) -> Result<OAuthClient, AppError> {
    if let Some(app) = store.oauth_app(instance, redirect_uri).await? {
        match open_app(keys, &app) {
            Ok(client) => return Ok(client),
            Err(_) => tracing::warn!(
                server = instance,
                "Herald's application at this Mastodon instance does not open; registering again"
            ),
        }
    }
    let registrar = Mastodon::new(Endpoint::new(instance, networks.outbound(), None));
    let client = registrar
        .register_app(APP_NAME, redirect_uri)
        .await
        .map_err(|error| registration_refused(instance, error))?;
    let secret = zeroize::Zeroizing::new(
        client
            .secret
            .as_ref()
            .map(|secret| secret.expose_secret().to_owned())
            .unwrap_or_default(),
    );
    let sealed_secret = vault::seal(
        keys.vault.current(),
        &app_context(instance, redirect_uri),
        secret.as_bytes(),
        &mut rand::rngs::OsRng,
    );
    let work = store.write().await?;
    let store: &Store = &work;
    store
        .put_oauth_app(&OAuthAppRecord {
            server: instance.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            client_id: client.id.clone(),
            sealed_secret,
            key_version: i64::from(keys.vault.current().version()),
            created_at: now,
        })
        .await?;
    record(
        store,
        now,
        Actor::User(actor.id),
        "network.app_registered",
        Some(format!("server:{instance}")),
        None,
        serde_json::json!({ "network": Network::Mastodon.as_str(), "server": instance }),
    )
    .await?;
    work.commit().await?;
    Ok(client)
}

/// Herald's application at a Mastodon instance, if Herald registered one there (a lockdown
/// needs it to revoke a token the instance issued to it). The instance's origin as
/// `Tokens::server` keeps it.
pub(crate) async fn mastodon_client_at(
    store: &Store,
    keys: &Keys,
    instance: &str,
) -> Result<Option<OAuthClient>, AppError> {
    let instance = instance.trim_end_matches('/');
    for app in store.all_oauth_apps().await? {
        if app.server.trim_end_matches('/') == instance
            && let Ok(client) = open_app(keys, &app)
        {
            return Ok(Some(client));
        }
    }
    Ok(None)
}

fn open_app(keys: &Keys, app: &OAuthAppRecord) -> Result<OAuthClient, vault::VaultError> {
    let opened = vault::open(
        &keys.vault,
        &app_context(&app.server, &app.redirect_uri),
        &app.sealed_secret,
    )?;
    let secret = String::from_utf8_lossy(opened.expose()).into_owned();
    Ok(OAuthClient {
        id: app.client_id.clone(),
        secret: Some(secret)
            .filter(|secret| !secret.is_empty())
            .map(SecretString::from),
    })
}

/// A Mastodon adapter for one instance, with Herald's application there.
fn mastodon_at(networks: &Networks, instance: &str, client: OAuthClient) -> Mastodon {
    Mastodon::new(Endpoint::new(instance, networks.outbound(), Some(client)))
}

/// Why the browser cannot be sent to `network` to connect: how that network connects instead.
fn not_offered(network: Network) -> AppError {
    let setting = match network {
        Network::X => "x_client_id",
        Network::Linkedin => "linkedin_client_id",
        Network::Facebook => "meta_app_id",
        Network::Instagram => "instagram_app_id",
        Network::Threads => "threads_app_id",
        Network::Bluesky | Network::Mastodon => {
            return AppError::Invalid {
                field: "oauth",
                message: format!(
                    "Herald cannot send you to {} to connect just now: use the form below",
                    network.label()
                ),
            };
        }
    };
    AppError::Invalid {
        field: "oauth",
        message: format!(
            "Herald has no app at {} yet, so it cannot send you there to connect: an administrator sets networks.{setting} and its secret in Herald's configuration. Until then, paste a token made at {} below.",
            network.label(),
            network.label()
        ),
    }
}

/// Why Herald could not register at `instance`: a refused address says so; anything else the
/// instance did (or did not) answer is one message, never its own words.
fn registration_refused(instance: &str, error: NetworkError) -> AppError {
    match connections::refused_at(Network::Mastodon, instance)(error) {
        AppError::Invalid {
            field: "server",
            message,
        } => AppError::Invalid {
            field: "instance",
            message,
        },
        _ => connections::unreachable_server(instance),
    }
}

/// The network's OAuth error code in words. Only the code's letters are quoted: the rest of
/// what arrives in the callback's address could be anyone's text.
fn reason(error: &str) -> String {
    match error {
        "access_denied" => "Herald was not allowed to post for the account".to_owned(),
        other => {
            let code: String = other
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            format!("the network answered \"{code}\"")
        }
    }
}

/// Where the secret of Herald's application at `instance` is sealed.
pub(crate) fn app_context<'a>(instance: &'a str, redirect_uri: &'a str) -> vault::Context<'a> {
    vault::Context {
        organisation: "herald",
        record: instance,
        field: redirect_uri,
    }
}

fn ceremony_context() -> vault::Context<'static> {
    vault::Context {
        organisation: "herald",
        record: "oauth-ceremony",
        field: "connect",
    }
}

fn seal(keys: &Keys, ceremony: &Ceremony) -> Result<String, AppError> {
    let json = zeroize::Zeroizing::new(
        serde_json::to_string(ceremony)
            .map_err(|error| AppError::Internal(format!("OAuth ceremony encoding: {error}")))?,
    );
    let sealed = vault::seal(
        keys.vault.current(),
        &ceremony_context(),
        json.as_bytes(),
        &mut rand::rngs::OsRng,
    );
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

fn open(keys: &Keys, sealed: &str, now: Timestamp) -> Result<Ceremony, CallbackError> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sealed.trim())
        .map_err(|_| CallbackError::State)?;
    let opened =
        vault::open(&keys.vault, &ceremony_context(), &sealed).map_err(|_| CallbackError::State)?;
    let ceremony: Ceremony =
        serde_json::from_slice(opened.expose()).map_err(|_| CallbackError::State)?;
    if now.as_millisecond() > ceremony.expires_ms {
        return Err(CallbackError::State);
    }
    Ok(ceremony)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_oauth_error_code_letters_are_quoted() {
        assert_eq!(
            reason("access_denied"),
            "Herald was not allowed to post for the account"
        );
        assert_eq!(
            reason("<script>alert(1)</script>"),
            "the network answered \"scriptalert1script\""
        );
    }
}
