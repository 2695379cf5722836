//! Passkeys (WebAuthn) as a phishing-resistant second factor, instead of an authenticator code.
//!
//! Registration and sign-in are two round trips each. Between them the server keeps no state:
//! the WebAuthn ceremony state travels with the browser as a token sealed by the vault, bound
//! to its purpose and valid for five minutes. Sign-in with a passkey still starts with the
//! password, so a passkey replaces the code, never the password.

use crate::domain::ids::UserId;
use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

use super::login::{self, SignedIn};
use super::step_up;
use crate::config::Config;
use crate::domain::audit::Actor;
use crate::keys::Keys;
use crate::services::audit::record;
use crate::services::{AppError, Entity, Services};
use crate::store::{PasskeyRecord, Store, UserRecord};

const CEREMONY_LASTS: SignedDuration = SignedDuration::from_mins(5);

/// The relying party: who passkeys are created for. WebAuthn needs a domain name, so this is
/// `public_url`'s host, or `localhost` on the bound port when no public URL is set.
pub fn relying_party(config: &Config, port: u16) -> Result<Webauthn, String> {
    let origin = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://localhost:{port}"),
    };
    let origin =
        Url::parse(&origin).map_err(|error| format!("public_url is not a URL: {error}"))?;
    let id = origin
        .domain()
        .ok_or("passkeys need public_url to name a host by domain, not by IP address")?
        .to_owned();
    WebauthnBuilder::new(&id, &origin)
        .and_then(|builder| builder.rp_name("Herald").build())
        .map_err(|error| format!("passkeys are not available: {error}"))
}

/// The ceremony state sealed into the token the browser carries between the two steps.
#[derive(Serialize, Deserialize)]
struct Ceremony<T> {
    /// Random, so each ceremony can be completed once only.
    id: String,
    user_id: UserId,
    expires_ms: i64,
    state: T,
}

/// Step one of adding a passkey, after a fresh code from the authenticator app (a stolen
/// session must not be able to add its own second factor): options for
/// `navigator.credentials.create`, and the token.
pub async fn start_registration(
    services: &Services,
    webauthn: &Webauthn,
    user: &UserRecord,
    code: &str,
    now: Timestamp,
) -> Result<(CreationChallengeResponse, String), AppError> {
    let Services { store, keys, .. } = services;
    step_up::require(services, user, code, "add a passkey", now).await?;
    let existing = parse_all(&store.passkeys_of(user.id).await?)?;
    let exclude = existing
        .iter()
        .map(|passkey| passkey.cred_id().clone())
        .collect();
    let (options, state) = webauthn
        .start_passkey_registration(user_handle(user.id), &user.email, &user.name, Some(exclude))
        .map_err(|error| AppError::Internal(format!("passkey registration: {error}")))?;
    let token = seal(
        keys,
        "registration",
        &Ceremony {
            id: super::random_token(),
            user_id: user.id,
            expires_ms: expiry(now),
            state,
        },
    )?;
    Ok((options, token))
}

/// Step two: checks the browser's answer and stores the passkey under `name`.
pub async fn finish_registration(
    services: &Services,
    webauthn: &Webauthn,
    user: &UserRecord,
    name: &str,
    token: &str,
    credential: &RegisterPublicKeyCredential,
    now: Timestamp,
) -> Result<i64, AppError> {
    let Services { store, keys, .. } = services;
    // The length counts the name as sent, so the documented 100 holds before trimming too.
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(AppError::Invalid {
            field: "name",
            message: "name the passkey (1 to 100 characters), such as \"work laptop\"".to_owned(),
        });
    }
    let name = name.trim();
    let ceremony: Ceremony<PasskeyRegistration> = open(keys, "registration", token, now)?;
    if ceremony.user_id != user.id {
        return Err(expired());
    }
    spend(store, &ceremony).await?;
    let passkey = webauthn
        .finish_passkey_registration(credential, &ceremony.state)
        .map_err(|error| AppError::Invalid {
            field: "credential",
            message: format!("the passkey could not be verified: {error}"),
        })?;
    let credential_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(passkey.cred_id());
    let work = store.write().await?;
    let store: &Store = &work;
    let id = store
        .add_passkey(user.id, name, &credential_id, &to_json(&passkey)?, now)
        .await?;
    record(
        store,
        now,
        Actor::User(user.id),
        "auth.passkey.added",
        Some(format!("passkey:{id}")),
        None,
        serde_json::json!({ "name": name }),
    )
    .await?;
    work.commit().await?;
    Ok(id)
}

/// What the sign-in token carries between the two steps.
#[derive(Serialize, Deserialize)]
struct SignIn {
    /// Whether the password given with step one was right. Sealed in the token, never told:
    /// step one answers alike either way, so it cannot be used to try passwords.
    password_right: bool,
    /// `None` for decoy options (no such member, or no passkeys).
    webauthn: Option<PasskeyAuthentication>,
}

/// Step one of signing in with a passkey: options for `navigator.credentials.get` and the
/// token. The options depend on the email address only, never on whether the password is
/// right: the member's passkeys when they have some, otherwise decoy options (a credential
/// id derived from the address with a key, so the same address always gets the same id)
/// that no authenticator answers. The password is checked (and throttled, and a wrong one
/// audited) here, but its verdict is sealed in the token and told only by step two, together
/// with the passkey's: "the email address, password or code is not right".
pub async fn start_sign_in(
    services: &Services,
    webauthn: &Webauthn,
    email: &str,
    password: &str,
    from: login::SignInFrom<'_>,
    now: Timestamp,
) -> Result<(RequestChallengeResponse, String), AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    let email = email.trim().to_lowercase();
    let checked =
        match login::check_password(store, keys, config, &email, password, from, now).await {
            Ok(checked) => {
                // Right, so it counts as an attempt until the passkey completes the sign-in.
                checked.count_attempt(store, now).await?;
                Some(checked)
            }
            Err(AppError::WrongCredentials) => None,
            Err(other) => return Err(other),
        };
    let member = store
        .user_by_email(&email)
        .await?
        .filter(|user| user.active && user.second_factor_reset_at.is_none());
    let passkeys = match &member {
        Some(member) => parse_all(&store.passkeys_of(member.id).await?)?,
        None => Vec::new(),
    };
    let (options, state, user_id) = match (member, passkeys.is_empty()) {
        (Some(member), false) => {
            let (options, state) = webauthn
                .start_passkey_authentication(&passkeys)
                .map_err(|error| AppError::Internal(format!("passkey sign-in: {error}")))?;
            (options, Some(state), member.id)
        }
        _ => (decoy_options(keys, webauthn, &email)?, None, UserId::new(0)),
    };
    let token = seal(
        keys,
        "authentication",
        &Ceremony {
            id: super::random_token(),
            user_id,
            expires_ms: expiry(now),
            state: SignIn {
                password_right: checked.is_some(),
                webauthn: state,
            },
        },
    )?;
    Ok((options, token))
}

/// Options shaped like real ones for an address with no passkeys (or no member).
fn decoy_options(
    keys: &Keys,
    webauthn: &Webauthn,
    email: &str,
) -> Result<RequestChallengeResponse, AppError> {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    let mac = |key: &[u8], message: &[u8]| -> Vec<u8> {
        match <Hmac<Sha256> as Mac>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => vec![0; 32],
        }
    };
    let decoy_key = mac(keys.fingerprint.as_slice(), b"herald decoy passkey ids");
    let id = mac(&decoy_key, email.as_bytes());
    let mut challenge = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut challenge);
    let base64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    // The relying party id is the origin's host, as `relying_party` built it.
    let rp_id = webauthn
        .get_allowed_origins()
        .first()
        .and_then(|origin| origin.domain())
        .unwrap_or("localhost");
    let options = serde_json::json!({
        "publicKey": {
            "challenge": base64(&challenge),
            "timeout": DECOY_TIMEOUT_MS,
            "rpId": rp_id,
            "allowCredentials": [{ "type": "public-key", "id": base64(&id) }],
            "userVerification": "required",
        }
    });
    serde_json::from_value(options)
        .map_err(|error| AppError::Internal(format!("decoy passkey options: {error}")))
}

/// webauthn-rs's default authenticator timeout, so decoy options look like real ones.
const DECOY_TIMEOUT_MS: u32 = 300_000;

/// Step two: checks the password's verdict from step one and the passkey's signature, and
/// starts a session. Either one wrong gets the same answer.
pub async fn finish_sign_in(
    services: &Services,
    webauthn: &Webauthn,
    token: &str,
    credential: &PublicKeyCredential,
    from: login::SignInFrom<'_>,
    now: Timestamp,
) -> Result<SignedIn, AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    let ip = from.ip;
    let ceremony: Ceremony<SignIn> = open(keys, "authentication", token, now)?;
    spend(store, &ceremony).await?;
    // A wrong password was counted and audited by step one.
    let (true, Some(state)) = (ceremony.state.password_right, &ceremony.state.webauthn) else {
        return Err(AppError::WrongCredentials);
    };
    let user = store
        .user_by_id(ceremony.user_id)
        .await?
        .filter(|user| user.active)
        .ok_or(AppError::WrongCredentials)?;
    let checked = login::PasswordChecked::passed(keys, user, from, now).await;
    let result = match webauthn.finish_passkey_authentication(credential, state) {
        Ok(result) => result,
        Err(_) => {
            return Err(login::second_factor_failed(
                store,
                &checked,
                "passkey not verified",
                ip,
                now,
            )
            .await);
        }
    };
    for stored in store.passkeys_of(checked.user.id).await? {
        let mut passkey: Passkey = from_json(&stored.passkey)?;
        if passkey.update_credential(&result).is_some() {
            store
                .passkey_used(stored.id, &to_json(&passkey)?, now)
                .await?;
        }
    }
    login::complete(store, keys, config, checked, "passkey", ip, now).await
}

/// Removes one of the member's passkeys, after a fresh code from the authenticator app.
pub async fn remove(
    services: &Services,
    user: &UserRecord,
    id: i64,
    code: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let Services { store, .. } = services;
    if !store
        .passkeys_of(user.id)
        .await?
        .iter()
        .any(|passkey| passkey.id == id)
    {
        return Err(AppError::not_found(
            Entity::Passkey,
            format!("you have no passkey {id}"),
        ));
    }
    step_up::require(services, user, code, "remove a passkey", now).await?;
    let work = store.write().await?;
    let store: &Store = &work;
    if !store.delete_passkey(user.id, id).await? {
        return Err(AppError::not_found(
            Entity::Passkey,
            format!("you have no passkey {id}"),
        ));
    }
    record(
        store,
        now,
        Actor::User(user.id),
        "auth.passkey.removed",
        Some(format!("passkey:{id}")),
        None,
        serde_json::json!({}),
    )
    .await?;
    Ok(work.commit().await?)
}

/// A stable WebAuthn user handle for a member. Not secret: it only tells an authenticator
/// which of its passkeys belong to the same account.
fn user_handle(user_id: UserId) -> Uuid {
    Uuid::from_u64_pair(
        0x6865_7261_6c64_0000,
        u64::from_ne_bytes(user_id.get().to_ne_bytes()),
    )
}

fn expiry(now: Timestamp) -> i64 {
    now.saturating_add(CEREMONY_LASTS)
        .unwrap_or(now)
        .as_millisecond()
}

fn context(purpose: &str) -> vault::Context<'_> {
    vault::Context {
        organisation: "herald",
        record: "passkey-ceremony",
        field: purpose,
    }
}

fn expired() -> AppError {
    AppError::Invalid {
        field: "state",
        message: "the passkey prompt expired or was not meant for this account; try again"
            .to_owned(),
    }
}

fn seal<T: Serialize>(keys: &Keys, purpose: &str, ceremony: &T) -> Result<String, AppError> {
    let json = to_json(ceremony)?;
    let sealed = vault::seal(
        keys.vault.current(),
        &context(purpose),
        json.as_bytes(),
        &mut rand::rngs::OsRng,
    );
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

fn open<T: DeserializeOwned>(
    keys: &Keys,
    purpose: &str,
    token: &str,
    now: Timestamp,
) -> Result<Ceremony<T>, AppError> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| expired())?;
    let opened = vault::open(&keys.vault, &context(purpose), &sealed).map_err(|_| expired())?;
    let ceremony: Ceremony<T> = serde_json::from_slice(opened.expose()).map_err(|_| expired())?;
    if now.as_millisecond() > ceremony.expires_ms {
        return Err(expired());
    }
    Ok(ceremony)
}

/// Completes a ceremony once: a second use of the same token (a replay) is refused.
async fn spend<T>(store: &Store, ceremony: &Ceremony<T>) -> Result<(), AppError> {
    let expires = Timestamp::from_millisecond(ceremony.expires_ms).map_err(|_| expired())?;
    if !store.spend_ceremony(&ceremony.id, expires).await? {
        return Err(expired());
    }
    Ok(())
}

fn parse_all(records: &[PasskeyRecord]) -> Result<Vec<Passkey>, AppError> {
    records
        .iter()
        .map(|record| from_json(&record.passkey))
        .collect()
}

fn to_json<T: Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value)
        .map_err(|error| AppError::Internal(format!("passkey encoding: {error}")))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, AppError> {
    serde_json::from_str(text)
        .map_err(|error| AppError::Internal(format!("stored passkey is unreadable: {error}")))
}
