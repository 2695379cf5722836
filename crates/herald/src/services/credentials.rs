//! The credential vault as the web app and the API use it: each social account's network
//! login, 2FA seed, recovery codes and notes, sealed by the vault and bound to their account
//! and field.
//!
//! Only the account's gatekeeper stores or reveals them, and revealing the password, the 2FA
//! seed or the recovery codes needs the gatekeeper's own second factor again. OAuth tokens are
//! for the server's own use and are never revealed to anyone. Every store and reveal is
//! audited; what is audited is which field, never its value.

use crate::domain::ids::{AccountId, UserId};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::breaches::Breaches;
use crate::domain::access::AccountAction;
use crate::domain::accounts::SecretField;
use crate::domain::audit::Actor;
use crate::domain::generator;
use crate::domain::password;
use crate::domain::totp::{self, TotpSecret};
use crate::keys::Keys;
use crate::services::audit::record;
use crate::services::people::step_up;
use crate::services::{AppError, Entity, Services};
use crate::store::{AccountRecord, SecretRecord, Store, UserRecord};

/// Longest value the vault takes for one field, in characters (as the API document and the
/// error message say).
const LONGEST: usize = 4096;
/// The detail of a "rotate now" for a breached password.
const BREACHED: &str = "this password appears in the imported breach data";

/// Which secret: one account's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub account_id: AccountId,
    pub field: SecretField,
}

/// What storing a secret found out, for the gatekeeper's eyes: nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// zxcvbn score 0–4, for passwords.
    pub strength: Option<u8>,
    /// Other accounts that use the same password (by id).
    pub shared_with: Vec<AccountId>,
    /// Whether the password is in the imported breach data; `None` for other fields and when
    /// no breach data was imported.
    pub breached: Option<bool>,
}

/// An account's security posture: what a gatekeeper should look at, nothing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posture {
    /// The gatekeeper is an active member; `false` once they have left and until an owner
    /// names a new one.
    pub gatekeeper_active: bool,
    /// `None` when no network password is stored.
    pub password: Option<PasswordPosture>,
    /// The network's own 2FA seed is in the vault.
    pub network_2fa_recorded: bool,
    /// Open "rotate now" requests, by reason.
    pub rotate_now: Vec<String>,
    /// When the oldest open request was made.
    pub rotate_now_since: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPosture {
    /// zxcvbn score 0–4.
    pub strength: Option<i64>,
    pub age_days: i64,
    pub reused: bool,
    /// Found in the imported breach data (an open "breached" rotation).
    pub breached: bool,
}

/// The non-secret facts about one stored field.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub field: String,
    pub updated_at: Timestamp,
    pub updated_by: UserId,
    pub strength: Option<i64>,
    pub reused: bool,
}

pub async fn put(
    services: &Services,
    actor: &UserRecord,
    Slot { account_id, field }: Slot,
    value: &str,
    now: Timestamp,
) -> Result<Stored, AppError> {
    let Services {
        store,
        keys,
        breaches,
        ..
    } = services;
    crate::services::accounts::open(store, actor, account_id, AccountAction::RevealSecrets).await?;
    let invalid = |message: &str| AppError::Invalid {
        field: "value",
        message: message.to_owned(),
    };
    if field == SecretField::OauthTokens {
        return Err(invalid(
            "OAuth tokens are stored by connecting the account, not typed in",
        ));
    }
    if value.trim().is_empty() || value.chars().count() > LONGEST {
        return Err(invalid("enter a value of 1 to 4096 characters"));
    }
    if field == SecretField::TotpSeed {
        TotpSecret::from_network_seed(value).map_err(|error| invalid(&error.to_string()))?;
    }
    let (strength, fingerprint) = match field {
        SecretField::LoginPassword => {
            let score = password::strength(value, &[]).score;
            (Some(score), Some(fingerprint(keys, value)))
        }
        _ => (None, None),
    };
    let context = context(account_id, field);
    let sealed = vault::seal(
        keys.vault.current(),
        &context.as_vault(),
        value.as_bytes(),
        &mut rand::rngs::OsRng,
    );
    let record_row = SecretRecord {
        account_id,
        field: field.as_str().to_owned(),
        sealed,
        key_version: i64::from(keys.vault.current().version()),
        strength: strength.map(i64::from),
        fingerprint: fingerprint.clone(),
        updated_at: now,
        updated_by: actor.id,
    };
    let work = store.write().await?;
    let store: &Store = &work;
    store.put_secret(&record_row).await?;
    if field == SecretField::LoginPassword {
        // A new password answers every open "rotate now" for the account.
        store.complete_rotations(account_id, actor.id, now).await?;
    }
    let shared_with = match &fingerprint {
        Some(fingerprint) => {
            store
                .accounts_sharing_password(account_id, fingerprint)
                .await?
        }
        None => Vec::new(),
    };
    let breached = match field {
        SecretField::LoginPassword => is_breached(breaches, value).await?,
        _ => None,
    };
    if breached == Some(true) {
        ask_rotation(store, account_id, "breached", BREACHED, now).await?;
    }
    for other in &shared_with {
        let detail = |with: AccountId| format!("the same password is used on account {with}");
        ask_rotation(store, account_id, "reused", &detail(*other), now).await?;
        ask_rotation(store, *other, "reused", &detail(account_id), now).await?;
    }
    let details = serde_json::json!({
        "field": field.as_str(),
        "reused": !shared_with.is_empty(),
        "breached": breached,
    });
    audit_account(
        store,
        now,
        actor,
        "account.credential_stored",
        account_id,
        details,
    )
    .await?;
    work.commit().await?;
    Ok(Stored {
        strength,
        shared_with,
        breached,
    })
}

/// A new password for the account's network, to its rules. For the gatekeeper, who will set
/// it on the network and then store it here.
pub async fn generate_password(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    length: Option<usize>,
) -> Result<Zeroizing<String>, AppError> {
    let account =
        crate::services::accounts::open(store, actor, account_id, AccountAction::RevealSecrets)
            .await?;
    generator::generate(account.account.network, length, &mut rand::rngs::OsRng).map_err(|error| {
        AppError::Invalid {
            field: "length",
            message: error.to_string(),
        }
    })
}

/// After new breach data is imported: checks every stored network password against it and
/// marks the breached ones "rotate now". Returns their account ids.
pub async fn recheck_breaches(
    store: &Store,
    keys: &Keys,
    breaches: &Breaches,
    now: Timestamp,
) -> Result<Vec<AccountId>, AppError> {
    let mut found = Vec::new();
    for secret in store.all_secrets().await? {
        if secret.field != SecretField::LoginPassword.as_str() {
            continue;
        }
        let password =
            open_value(store, keys, secret.account_id, SecretField::LoginPassword).await?;
        if is_breached(breaches, &password).await? != Some(true) {
            continue;
        }
        ask_rotation(store, secret.account_id, "breached", BREACHED, now).await?;
        found.push(secret.account_id);
    }
    Ok(found)
}

/// The account's posture, for anyone who may see the account.
pub async fn posture(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    now: Timestamp,
) -> Result<Posture, AppError> {
    let visible =
        crate::services::accounts::open(store, actor, account_id, AccountAction::View).await?;
    account_posture(store, &visible.account, now).await
}

/// The account's posture, for a caller who has already checked who may see it (the security
/// review reads every account's).
pub(crate) async fn account_posture(
    store: &Store,
    account: &AccountRecord,
    now: Timestamp,
) -> Result<Posture, AppError> {
    let account_id = account.id;
    let gatekeeper_active = store
        .user_by_id(account.gatekeeper_id)
        .await?
        .is_some_and(|user| user.active);
    let secrets = store.secrets_of(account_id).await?;
    let open: Vec<_> = store
        .rotations_of(account_id)
        .await?
        .into_iter()
        .filter(|rotation| rotation.done_at.is_none())
        .collect();
    let rotate_now_since = open.iter().map(|rotation| rotation.requested_at).min();
    let rotate_now: Vec<String> = open.into_iter().map(|rotation| rotation.reason).collect();
    let stored = |field: SecretField| secrets.iter().find(|secret| secret.field == field.as_str());
    let password = match stored(SecretField::LoginPassword) {
        None => None,
        Some(password) => Some(PasswordPosture {
            strength: password.strength,
            age_days: password.updated_at.duration_until(now).as_hours() / 24,
            reused: is_reused(store, password).await?,
            breached: rotate_now.iter().any(|reason| reason == "breached"),
        }),
    };
    Ok(Posture {
        gatekeeper_active,
        password,
        network_2fa_recorded: stored(SecretField::TotpSeed).is_some(),
        rotate_now,
        rotate_now_since,
    })
}

/// Reveals one stored value to the gatekeeper. `code` is their own authenticator code (or a
/// recovery code), needed for the password, 2FA seed and recovery codes.
pub async fn reveal(
    services: &Services,
    actor: &UserRecord,
    account_id: AccountId,
    field: SecretField,
    code: &str,
    now: Timestamp,
) -> Result<Zeroizing<String>, AppError> {
    let Services { store, keys, .. } = services;
    open_to_reveal(store, actor, account_id, field.as_str(), now).await?;
    if field == SecretField::OauthTokens {
        return Err(AppError::Denied(
            "OAuth tokens never leave the server".to_owned(),
        ));
    }
    if field.needs_second_factor() {
        confirm_second_factor(services, actor, account_id, field, code, now).await?;
    }
    let value = open_value(store, keys, account_id, field).await?;
    audit_account(
        store,
        now,
        actor,
        "account.credential_revealed",
        account_id,
        serde_json::json!({ "field": field.as_str() }),
    )
    .await?;
    Ok(value)
}

/// The current code of the network's own 2FA seed, so the team is not tied to one phone.
pub async fn network_code(
    services: &Services,
    actor: &UserRecord,
    account_id: AccountId,
    code: &str,
    now: Timestamp,
) -> Result<String, AppError> {
    let Services { store, keys, .. } = services;
    open_to_reveal(store, actor, account_id, "network_code", now).await?;
    confirm_second_factor(
        services,
        actor,
        account_id,
        SecretField::TotpSeed,
        code,
        now,
    )
    .await?;
    let seed = open_value(store, keys, account_id, SecretField::TotpSeed).await?;
    let secret = TotpSecret::from_network_seed(&seed)
        .map_err(|error| AppError::Internal(error.to_string()))?;
    audit_account(
        store,
        now,
        actor,
        "account.network_code_shown",
        account_id,
        serde_json::json!({}),
    )
    .await?;
    Ok(secret.code_at_step(totp::step_at(now)))
}

/// The account's "rotate now" requests, open and done, for anyone who may see the account.
pub async fn rotations(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
) -> Result<Vec<crate::store::RotationRecord>, AppError> {
    crate::services::accounts::open(store, actor, account_id, AccountAction::View).await?;
    Ok(store.rotations_of(account_id).await?)
}

/// Offboarding: the accounts whose credentials `leaver` could reveal (those they kept as
/// gatekeeper) are marked "rotate now". Returns their ids.
pub async fn after_departure(
    store: &Store,
    leaver: &UserRecord,
    now: Timestamp,
) -> Result<Vec<AccountId>, AppError> {
    let kept = store.accounts_kept_by(leaver.id).await?;
    for account_id in &kept {
        let detail = format!("{} could reveal its credentials and has left", leaver.email);
        ask_rotation(store, *account_id, "member_left", &detail, now).await?;
    }
    Ok(kept)
}

/// A new gatekeeper: the one before could reveal the account's credentials, so they are
/// marked "rotate now" and the new gatekeeper is asked to change the password.
pub async fn after_gatekeeper_change(
    store: &Store,
    account_id: AccountId,
    former: &UserRecord,
    now: Timestamp,
) -> Result<(), AppError> {
    let detail = format!(
        "{} could reveal its credentials and is no longer its gatekeeper",
        former.email
    );
    ask_rotation(store, account_id, "gatekeeper_changed", &detail, now).await
}

/// Opens the account for revealing `what`: its gatekeeper only. A refusal (a member who is not
/// the gatekeeper, or cannot see the account at all) is audited, as a gatekeeper's wrong code
/// is; it still answers as before, so an account one cannot see stays unseen.
async fn open_to_reveal(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    what: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let opened =
        crate::services::accounts::open(store, actor, account_id, AccountAction::RevealSecrets)
            .await;
    let reason = match &opened {
        Ok(_) => return Ok(()),
        Err(AppError::Denied(_)) => "not_gatekeeper",
        Err(AppError::NotFound { .. }) => "no_access",
        Err(_) => return opened.map(drop),
    };
    let details = serde_json::json!({ "field": what, "reason": reason });
    audit_account(
        store,
        now,
        actor,
        "account.credential_reveal_refused",
        account_id,
        details,
    )
    .await?;
    opened.map(drop)
}

/// What is stored for an account, without any value: for anyone who may see the account.
pub async fn facts(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
) -> Result<Vec<Fact>, AppError> {
    crate::services::accounts::open(store, actor, account_id, AccountAction::View).await?;
    let mut facts = Vec::new();
    for secret in store.secrets_of(account_id).await? {
        let reused = is_reused(store, &secret).await?;
        facts.push(Fact {
            field: secret.field,
            updated_at: secret.updated_at,
            updated_by: secret.updated_by,
            strength: secret.strength,
            reused,
        });
    }
    Ok(facts)
}

/// Opens a "rotate now" request (unless one for the reason is open), audits it, and tells
/// whoever must act: the gatekeeper, or the owners when the gatekeeper is the one who left.
pub(crate) async fn ask_rotation(
    store: &Store,
    account_id: AccountId,
    reason: &str,
    detail: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let work = store.write().await?;
    let store: &Store = &work;
    if !store
        .request_rotation(account_id, reason, detail, now)
        .await?
    {
        return Ok(());
    }
    record(
        store,
        now,
        Actor::System,
        "account.rotation_requested",
        Some(format!("account:{account_id}")),
        None,
        serde_json::json!({ "reason": reason }),
    )
    .await?;
    let Some(account) = store.account(account_id).await? else {
        return Ok(work.commit().await?);
    };
    let (name, network) = (&account.display_name, account.network.label());
    let subject = format!("Change the password of {name}");
    crate::services::webhooks::raise(
        store,
        crate::domain::webhooks::WebhookEvent::RotateNow,
        &subject,
        &format!("The password of {name} on {network} must be changed now ({reason})."),
        Some(&format!("/accounts/{account_id}")),
        serde_json::json!({ "account_id": account_id, "reason": reason }),
        now,
    )
    .await?;
    if reason == "member_left" {
        let body = format!(
            "{detail}. Name a new gatekeeper for {name}; they should set a new password on {network} and store it in Herald."
        );
        crate::services::notify::owners(
            store,
            crate::domain::notifications::NotificationKind::RotateNow,
            &account,
            &subject,
            &body,
            now,
        )
        .await?;
    } else {
        let why = match reason {
            "breached" => "appears in breached-password data".to_owned(),
            _ => format!("needs changing: {detail}"),
        };
        let body = format!(
            "The password of {name} on {network} {why}. Set a new one on {network} (Herald can suggest one), then store it in Herald."
        );
        crate::services::notify::gatekeeper(
            store,
            crate::domain::notifications::NotificationKind::RotateNow,
            &account,
            &subject,
            &body,
            now,
        )
        .await?;
    }
    Ok(work.commit().await?)
}

async fn confirm_second_factor(
    services: &Services,
    actor: &UserRecord,
    account_id: AccountId,
    field: SecretField,
    code: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let Services { store, .. } = services;
    let purpose = "reveal an account's credentials";
    if let Err(reason) = step_up::confirm(services, actor, code, purpose, now).await? {
        let details = serde_json::json!({ "field": field.as_str(), "reason": reason });
        audit_account(
            store,
            now,
            actor,
            "account.credential_reveal_refused",
            account_id,
            details,
        )
        .await?;
        return Err(AppError::Denied(
            "your code is not right; enter the current code from your authenticator app".to_owned(),
        ));
    }
    Ok(())
}

/// Seals a connected account's network tokens (the server's own use only; never revealed).
/// `by` is the member who connected the account.
pub(crate) async fn seal_tokens(
    store: &Store,
    keys: &Keys,
    account_id: AccountId,
    json: &str,
    by: UserId,
    now: Timestamp,
) -> Result<(), AppError> {
    let field = SecretField::OauthTokens;
    let context = context(account_id, field);
    let sealed = vault::seal(
        keys.vault.current(),
        &context.as_vault(),
        json.as_bytes(),
        &mut rand::rngs::OsRng,
    );
    let row = SecretRecord {
        account_id,
        field: field.as_str().to_owned(),
        sealed,
        key_version: i64::from(keys.vault.current().version()),
        strength: None,
        fingerprint: None,
        updated_at: now,
        updated_by: by,
    };
    Ok(store.put_secret(&row).await?)
}

/// Opens a connected account's network tokens, with who stored them; `None` when the
/// account was never connected.
pub(crate) async fn open_tokens(
    store: &Store,
    keys: &Keys,
    account_id: AccountId,
) -> Result<Option<(Zeroizing<String>, UserId)>, AppError> {
    let field = SecretField::OauthTokens;
    let Some(stored) = store.secret(account_id, field.as_str()).await? else {
        return Ok(None);
    };
    let value = open_sealed(keys, account_id, field, &stored.sealed)?;
    Ok(Some((value, stored.updated_by)))
}

async fn open_value(
    store: &Store,
    keys: &Keys,
    account_id: AccountId,
    field: SecretField,
) -> Result<Zeroizing<String>, AppError> {
    let stored = store
        .secret(account_id, field.as_str())
        .await?
        .ok_or_else(|| {
            AppError::not_found(
                Entity::Credential,
                format!("no {} is stored for this account", field.as_str()),
            )
        })?;
    open_sealed(keys, account_id, field, &stored.sealed)
}

fn open_sealed(
    keys: &Keys,
    account_id: AccountId,
    field: SecretField,
    sealed: &[u8],
) -> Result<Zeroizing<String>, AppError> {
    let context = context(account_id, field);
    let opened = vault::open(&keys.vault, &context.as_vault(), sealed).map_err(|error| {
        AppError::Internal(format!("account {account_id} {}: {error}", field.as_str()))
    })?;
    let text = opened
        .expose_str()
        .map_err(|error| AppError::Internal(error.to_string()))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Records an action on an account's credentials in the audit log (never a value).
async fn audit_account(
    store: &Store,
    now: Timestamp,
    actor: &UserRecord,
    action: &str,
    account_id: AccountId,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let target = Some(format!("account:{account_id}"));
    record(
        store,
        now,
        Actor::User(actor.id),
        action,
        target,
        None,
        details,
    )
    .await
}

/// Whether another account stores the same password (by keyed fingerprint).
async fn is_reused(store: &Store, secret: &SecretRecord) -> Result<bool, AppError> {
    Ok(match &secret.fingerprint {
        Some(fingerprint) => !store
            .accounts_sharing_password(secret.account_id, fingerprint)
            .await?
            .is_empty(),
        None => false,
    })
}

/// Looks the password up in the breach data, off the async threads (it reads a file).
async fn is_breached(breaches: &Breaches, password: &str) -> Result<Option<bool>, AppError> {
    let breaches = breaches.clone();
    let password = Zeroizing::new(password.to_owned());
    tokio::task::spawn_blocking(move || breaches.contains(&password))
        .await
        .map_err(|error| AppError::Internal(error.to_string()))?
        .map_err(|error| AppError::Internal(error.to_string()))
}

/// A keyed fingerprint of a password: equal for equal passwords, useless without the master
/// key, so reuse shows without revealing anything.
fn fingerprint(keys: &Keys, value: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(keys.fingerprint.as_slice())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The vault context of one account's field, owning its record name.
struct FieldContext {
    record: String,
    field: SecretField,
}

fn context(account_id: AccountId, field: SecretField) -> FieldContext {
    FieldContext {
        record: format!("account:{account_id}"),
        field,
    }
}

impl FieldContext {
    fn as_vault(&self) -> vault::Context<'_> {
        vault::Context {
            organisation: "herald",
            record: &self.record,
            field: self.field.as_str(),
        }
    }
}
