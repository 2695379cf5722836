//! E-mail: invitations, notifications (at once or in a daily digest, as each member chose per
//! kind; security alerts always at once), and the owners' test message. Every message goes
//! into the outbox (`store/mail.rs`) in the unit of work of the change that caused it, sealed;
//! the `mail_send` job sends it, retrying with backoff while the server is down or refuses
//! Herald's password, and marks it sent so it is never sent twice.

pub mod compose;
pub mod smtp;

use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use self::compose::{Letter, Parts};
use crate::domain::audit::Actor;
use crate::domain::ids::UserId;
use crate::domain::notifications::{MailMode, NotificationKind};
use crate::domain::people::Email;
use crate::keys::Keys;
use crate::services::audit::record;
use crate::services::{AppError, Services};
use crate::store::{NewMail, OutboxRecord, Store, UserRecord};

/// A member's choice for one kind, as the preferences page and API show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preference {
    pub kind: NotificationKind,
    /// In people's words.
    pub label: &'static str,
    pub mode: MailMode,
    /// Security alerts are always mailed at once; the choice cannot be changed.
    pub fixed: bool,
}

/// Whether mail is set up, for other pages (the security page) to show.
pub fn configured(services: &Services) -> bool {
    services.config.mail.enabled()
}

/// The organisation's name as messages show it.
pub async fn organisation(services: &Services) -> Result<String, AppError> {
    if let Some(name) = &services.config.mail.organisation {
        return Ok(name.clone());
    }
    Ok(services.store.organisation_name().await?)
}

/// Puts `parts` for `recipient` in the outbox (in `store`'s unit of work when it is one),
/// sealed; a message with the same key is not added again.
pub async fn enqueue(
    store: &Store,
    keys: &Keys,
    message_key: &str,
    recipient: &str,
    subject: &str,
    parts: &Parts,
    now: Timestamp,
) -> Result<Option<i64>, AppError> {
    let body = serde_json::to_vec(parts).map_err(|error| AppError::Internal(error.to_string()))?;
    let sealed_body = vault::seal(
        keys.vault.current(),
        &context(message_key),
        &body,
        &mut rand::rngs::OsRng,
    );
    let mail = NewMail {
        message_key: message_key.to_owned(),
        recipient: recipient.to_owned(),
        subject: subject.to_owned(),
        sealed_body,
        key_version: i64::from(keys.vault.current().version()),
    };
    Ok(store.add_to_outbox(&mail, now).await?)
}

/// Where an outbox message's body is sealed.
pub(crate) fn context(message_key: &str) -> vault::Context<'_> {
    vault::Context {
        organisation: "herald",
        record: "mail_outbox",
        field: message_key,
    }
}

/// The invitation e-mail, in the invitation's unit of work (`store`), when mail is set up.
/// `link` holds the invitation's token: the message is sealed in the outbox like a secret.
pub async fn invitation(
    services: &Services,
    store: &Store,
    inviter: &UserRecord,
    email: &str,
    link: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<bool, AppError> {
    if !configured(services) {
        return Ok(false);
    }
    let organisation = organisation(services).await?;
    let subject = format!("{} invites you to {organisation} on Herald", inviter.name);
    let letter = Letter {
        organisation: organisation.clone(),
        subject: subject.clone(),
        paragraphs: vec![
            format!(
                "{} invites you to join {organisation} on Herald, where the team writes, checks and publishes the company's social media posts.",
                inviter.name
            ),
            format!(
                "Open the link to choose a password and set up an authenticator app. It works once, until {}.",
                expires_at.strftime("%Y-%m-%d %H:%M UTC")
            ),
        ],
        action: Some(("Join the team".to_owned(), link.to_owned())),
        footer: format!(
            "You get this because {} invited {email}. If you did not expect it, ignore it: nothing happens unless the link is opened.",
            inviter.name
        ),
    };
    let token = link.rsplit('/').next().unwrap_or(link);
    let key = format!("invitation:{}", crate::services::people::token_hash(token));
    enqueue(
        store,
        &services.keys,
        &key,
        email,
        &subject,
        &letter.parts(),
        now,
    )
    .await?;
    Ok(true)
}

/// What the `mail_notification` job does with notification `id`: nothing without mail; into
/// the outbox when its kind is mailed at once for the member; marked for the digest, or
/// skipped. Idempotent: a notification already looked at is left alone.
/// `base` is where people reach Herald, for the link.
pub async fn notification(
    services: &Services,
    base: &str,
    id: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    let store = &services.store;
    let Some(notification) = store.mailable_notification(id).await? else {
        return Ok(());
    };
    if notification.mail_state.is_some() {
        return Ok(());
    }
    let user = store.user_by_id(notification.user_id).await?;
    let mode = match &user {
        Some(user) if user.active && configured(services) => {
            let chosen = store
                .mail_preferences(user.id)
                .await?
                .into_iter()
                .find(|(kind, _)| *kind == notification.kind)
                .map(|(_, mode)| mode);
            notification.kind.mail_mode(chosen)
        }
        _ => MailMode::None,
    };
    let work = store.write().await?;
    match (mode, user) {
        (MailMode::Now, Some(user)) => {
            let organisation = organisation(services).await?;
            let letter = Letter {
                organisation,
                subject: notification.subject.clone(),
                paragraphs: vec![notification.body.clone()],
                action: notification
                    .link
                    .as_ref()
                    .map(|link| ("Open in Herald".to_owned(), format!("{base}{link}"))),
                footer: footer(notification.kind, base),
            };
            enqueue(
                &work,
                &services.keys,
                &format!("notification:{id}"),
                &user.email,
                &notification.subject,
                &letter.parts(),
                now,
            )
            .await?;
            work.set_notification_mail_state(id, "queued").await?;
        }
        (MailMode::Digest, Some(_)) => work.set_notification_mail_state(id, "digest").await?,
        _ => work.set_notification_mail_state(id, "skipped").await?,
    }
    Ok(work.commit().await?)
}

fn footer(kind: NotificationKind, base: &str) -> String {
    if kind.is_security_alert() {
        format!(
            "Security alerts are always e-mailed at once. Herald never asks for your password or codes by e-mail. Your notifications: {base}/account/notifications"
        )
    } else {
        format!(
            "You chose to get this at once. To get it in a daily digest or not at all: {base}/account/notifications"
        )
    }
}

/// One member's daily digest: every notification waiting for it, in one message with a
/// `List-Unsubscribe` link to their choices. `day` names the digest, so a second run on the
/// same day adds nothing.
pub async fn digest(
    services: &Services,
    base: &str,
    user_id: UserId,
    day: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let store = &services.store;
    let waiting = store.digest_of(user_id).await?;
    let (Some(last), Some(user)) = (waiting.last(), store.user_by_id(user_id).await?) else {
        return Ok(());
    };
    let work = store.write().await?;
    if user.active && configured(services) {
        let organisation = organisation(services).await?;
        let subject = match waiting.len() {
            1 => format!("{organisation}: 1 notification from Herald"),
            n => format!("{organisation}: {n} notifications from Herald"),
        };
        let paragraphs = waiting
            .iter()
            .map(|item| {
                let link = item
                    .link
                    .as_ref()
                    .map(|link| format!("\n{base}{link}"))
                    .unwrap_or_default();
                format!(
                    "{} ({})\n{}{link}",
                    item.subject,
                    item.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                    item.body
                )
            })
            .collect();
        let unsubscribe = format!("{base}/account/notifications");
        let mut parts = Letter {
            organisation,
            subject: subject.clone(),
            paragraphs,
            action: Some(("Open Herald".to_owned(), format!("{base}/"))),
            footer: format!(
                "Your daily digest. To choose what comes at once, in the digest or not at all: {unsubscribe}"
            ),
        }
        .parts();
        parts.unsubscribe = Some(unsubscribe);
        let key = format!("digest:{user_id}:{day}:{}", last.id);
        enqueue(
            &work,
            &services.keys,
            &key,
            &user.email,
            &subject,
            &parts,
            now,
        )
        .await?;
    }
    work.mark_digested(user_id, last.id).await?;
    Ok(work.commit().await?)
}

/// Sends outbox message `id` unless it was sent already. A failure is recorded on the message
/// (for the settings page) and returned.
pub async fn send_outboxed(services: &Services, id: i64) -> Result<(), smtp::SendError> {
    let store = &services.store;
    let internal = |error: &dyn std::fmt::Display| smtp::SendError {
        explanation: format!("Herald could not read the message: {error}"),
        permanent: false,
    };
    let Some(message) = store.outbox_message(id).await.map_err(|e| internal(&e))? else {
        return Ok(());
    };
    if message.sent_at.is_some() {
        return Ok(());
    }
    let result = match open(&services.keys, &message) {
        Ok(parts) => {
            smtp::send(
                &services.config.mail,
                &message.recipient,
                &message.subject,
                &parts,
                &message_id(&message),
            )
            .await
        }
        Err(error) => Err(error),
    };
    let now = services.now();
    match &result {
        Ok(()) => {
            store
                .mark_mail_sent(id, now)
                .await
                .map_err(|e| internal(&e))?;
        }
        Err(error) => {
            tracing::warn!(mail.id = id, reason = %error.explanation, "an e-mail was not sent");
            store
                .mail_attempt_failed(id, &error.explanation, now)
                .await
                .map_err(|e| internal(&e))?;
        }
    }
    result
}

fn open(keys: &Keys, message: &OutboxRecord) -> Result<Parts, smtp::SendError> {
    let opened = vault::open(
        &keys.vault,
        &context(&message.message_key),
        &message.sealed_body,
    )
    .map_err(|error| smtp::SendError {
        explanation: format!("the message cannot be opened with Herald's keys: {error}"),
        permanent: true,
    })?;
    serde_json::from_slice(opened.expose()).map_err(|error| smtp::SendError {
        explanation: format!("the stored message is damaged: {error}"),
        permanent: true,
    })
}

/// The Message-ID's left part: the same on every try of one message.
fn message_id(message: &OutboxRecord) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(message.message_key.as_bytes());
    format!("herald.{}.{}", message.id, hex::encode(&digest[..8]))
}

/// Owners: sends a test message to `to` at once (not through the outbox), so the settings
/// page can say straight away what is wrong. Audited.
pub async fn send_test(
    services: &Services,
    actor: &UserRecord,
    to: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    if actor.role != crate::domain::people::Role::Owner {
        return Err(AppError::Denied(
            "only an owner can send a test e-mail".to_owned(),
        ));
    }
    if !configured(services) {
        return Err(AppError::Conflict(
            "No mail server is configured: set [mail] host and from in Herald's configuration."
                .to_owned(),
        ));
    }
    let to = Email::parse(to).map_err(|_| AppError::Invalid {
        field: "to",
        message: format!("{to:?} is not an e-mail address"),
    })?;
    let organisation = organisation(services).await?;
    let subject = format!("Test e-mail from Herald for {organisation}");
    let parts = Letter {
        organisation,
        subject: subject.clone(),
        paragraphs: vec![format!(
            "{} sent this test from Herald's mail settings. If you can read it, Herald can send e-mail.",
            actor.name
        )],
        action: None,
        footer: "Sent by hand from the mail settings page.".to_owned(),
    }
    .parts();
    let id = format!("test.{}", hex::encode(rand::random::<[u8; 8]>()));
    let sent = smtp::send(&services.config.mail, to.as_str(), &subject, &parts, &id).await;
    let work = services.store.write().await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "mail.test_sent",
        Some(format!("email:{to}")),
        None,
        serde_json::json!({ "sent": sent.is_ok() }),
    )
    .await?;
    work.commit().await?;
    sent.map_err(|error| AppError::Unavailable(error.explanation))
}

/// A member's choices for every kind.
pub async fn preferences(
    services: &Services,
    user: &UserRecord,
) -> Result<Vec<Preference>, AppError> {
    let chosen = services.store.mail_preferences(user.id).await?;
    Ok(NotificationKind::ALL
        .into_iter()
        .map(|kind| {
            let mine = chosen
                .iter()
                .find(|(k, _)| *k == kind)
                .map(|(_, mode)| *mode);
            Preference {
                kind,
                label: kind.label(),
                mode: kind.mail_mode(mine),
                fixed: kind.is_security_alert(),
            }
        })
        .collect())
}

/// Saves a member's choices; a choice for a security alert is refused.
pub async fn set_preferences(
    services: &Services,
    user: &UserRecord,
    choices: &[(NotificationKind, MailMode)],
    now: Timestamp,
) -> Result<Vec<Preference>, AppError> {
    if let Some((kind, _)) = choices.iter().find(|(kind, _)| kind.is_security_alert()) {
        return Err(AppError::Invalid {
            field: "kind",
            message: format!(
                "\"{}\" is a security alert: it is always e-mailed at once",
                kind.label()
            ),
        });
    }
    let work = services.store.write().await?;
    for (kind, mode) in choices {
        work.set_mail_preference(user.id, *kind, *mode).await?;
    }
    let details: serde_json::Map<String, serde_json::Value> = choices
        .iter()
        .map(|(kind, mode)| (kind.as_str().to_owned(), mode.as_str().into()))
        .collect();
    record(
        &work,
        now,
        Actor::User(user.id),
        "member.mail_preferences_changed",
        Some(format!("user:{}", user.id)),
        None,
        serde_json::Value::Object(details),
    )
    .await?;
    work.commit().await?;
    preferences(services, user).await
}

/// The newest messages for the owners' mail settings page.
pub async fn recent(services: &Services) -> Result<Vec<OutboxRecord>, AppError> {
    Ok(services.store.recent_outbox(20).await?)
}
