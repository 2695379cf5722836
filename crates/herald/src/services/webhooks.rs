//! Webhooks: owners add endpoints with the events they want and a format (Standard Webhooks
//! JSON, Slack, Teams, Discord); events are raised in the unit of work of the change that
//! causes them ([`raise`]), one delivery per endpoint that wants them, each delivered by a job
//! through Herald's hardened outbound client (no private addresses unless allowed, no
//! redirects, 10 seconds, the answer's body never read), signed as Standard Webhooks says,
//! retried with backoff for a day. An endpoint that fails [`DISABLE_AFTER`] tries in a row is
//! turned off and the owners are told. The signing secret is sealed and shown once.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::audit::Actor;
use crate::domain::notifications::NotificationKind;
use crate::domain::webhooks::{self, EventText, WebhookEvent, WebhookFormat};
use crate::keys::Keys;
use crate::services::audit::record;
use crate::services::{AppError, Entity, Services, notify};
use crate::store::{DeliveryRecord, DeliveryTry, EndpointRecord, NewEndpoint, Store, UserRecord};

/// Failed tries in a row after which an endpoint is turned off.
pub const DISABLE_AFTER: i64 = 20;
/// How long one try may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a delivery is retried.
const RETRY_FOR: SignedDuration = SignedDuration::from_hours(24);

/// An endpoint as owners see it (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EndpointView {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub format: WebhookFormat,
    pub events: Vec<WebhookEvent>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Failed tries in a row; at 20 the endpoint is turned off.
    pub failures_in_a_row: i64,
    /// Set when Herald turned it off after failing (enable it again to resume).
    pub disabled: Option<String>,
}

/// One delivery in an endpoint's log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The `webhook-id` header: the same on every try.
    pub message_id: String,
    pub event: String,
    /// `pending` (tried again later), `delivered` or `failed` (given up).
    pub state: String,
    pub attempts: i64,
    /// The endpoint's HTTP status at the last try.
    pub status: Option<i64>,
    /// Why the last try failed.
    pub error: Option<String>,
    pub response_ms: Option<i64>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A new endpoint and its secret, shown this once.
pub struct Created {
    pub endpoint: EndpointView,
    pub secret: SecretString,
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Created")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// What an owner asks for.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub description: String,
    pub format: WebhookFormat,
    pub events: Vec<WebhookEvent>,
}

/// Raises `event` in `store`'s unit of work: a delivery (and its job) for every enabled
/// endpoint that wants it. `link` is a path in Herald.
pub async fn raise(
    store: &Store,
    event: WebhookEvent,
    title: &str,
    text: &str,
    link: Option<&str>,
    data: serde_json::Value,
    now: Timestamp,
) -> Result<(), crate::store::StoreError> {
    let wanted: Vec<EndpointRecord> = store
        .webhook_endpoints()
        .await?
        .into_iter()
        .filter(|endpoint| endpoint.disabled_at.is_none())
        .filter(|endpoint| endpoint.events.iter().any(|e| e == event.as_str()))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let payload = payload(title, text, link, data);
    for endpoint in wanted {
        store
            .add_webhook_delivery(endpoint.id, &message_id(), event.as_str(), &payload, now)
            .await?;
    }
    Ok(())
}

fn payload(title: &str, text: &str, link: Option<&str>, data: serde_json::Value) -> String {
    serde_json::json!({ "title": title, "text": text, "link": link, "data": data }).to_string()
}

fn message_id() -> String {
    format!("msg_{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// The vault field an endpoint's secret is sealed under.
pub(crate) fn secret_field(id: i64) -> String {
    format!("webhook_endpoint:{id}")
}

/// Where an endpoint's secret is sealed (`field` from [`secret_field`]).
pub(crate) fn secret_context(field: &str) -> vault::Context<'_> {
    vault::Context {
        organisation: "herald",
        record: "webhook_endpoints",
        field,
    }
}

fn require_owner(actor: &UserRecord) -> Result<(), AppError> {
    if actor.role == crate::domain::people::Role::Owner {
        Ok(())
    } else {
        Err(AppError::Denied(
            "only an owner can manage webhooks".to_owned(),
        ))
    }
}

/// The hardened client for deliveries: the operator's private-address setting, no redirects.
pub fn outbound(services: &Services) -> networks::Outbound {
    networks::Outbound::new(TIMEOUT)
        .allow_private_addresses(services.config.networks.allow_private_addresses)
}

/// Adds an endpoint. The URL must be one Herald may send to (https, or http to a private
/// address where those are allowed); the secret is made here, sealed, and returned once.
pub async fn create(
    services: &Services,
    actor: &UserRecord,
    new: &NewWebhook,
    now: Timestamp,
) -> Result<Created, AppError> {
    require_owner(actor)?;
    let url = check_url(services, &new.url)?;
    if new.events.is_empty() || new.events.contains(&WebhookEvent::Test) {
        return Err(AppError::Invalid {
            field: "events",
            message:
                "choose at least one event (the test event is sent with the button, not chosen)"
                    .to_owned(),
        });
    }
    let description = new.description.trim();
    if description.chars().count() > 200 || description.chars().any(char::is_control) {
        return Err(AppError::Invalid {
            field: "description",
            message: "at most 200 characters, no control characters".to_owned(),
        });
    }
    let secret = webhooks::new_secret(rand::random());
    let work = services.store.write().await?;
    // The id is known once the row exists; the secret is sealed for it, then stored.
    let id = work
        .add_webhook_endpoint(
            &NewEndpoint {
                url: url.clone(),
                description: description.to_owned(),
                format: new.format.as_str().to_owned(),
                events: new.events.iter().map(|e| e.as_str().to_owned()).collect(),
                sealed_secret: Vec::new(),
                key_version: i64::from(services.keys.vault.current().version()),
                created_by: actor.id,
            },
            now,
        )
        .await?;
    let sealed = seal(&services.keys, id, &secret);
    work.set_webhook_secret(
        id,
        &sealed,
        i64::from(services.keys.vault.current().version()),
    )
    .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "webhook.created",
        Some(format!("webhook:{id}")),
        None,
        serde_json::json!({ "url": url, "format": new.format.as_str(), "events": new.events.iter().map(|e| e.as_str()).collect::<Vec<_>>() }),
    )
    .await?;
    let endpoint = work
        .webhook_endpoint(id)
        .await?
        .ok_or_else(|| AppError::Internal("the endpoint vanished".to_owned()))?;
    work.commit().await?;
    Ok(Created {
        endpoint: view(&endpoint),
        secret: SecretString::from(secret),
    })
}

fn seal(keys: &Keys, id: i64, secret: &str) -> Vec<u8> {
    let field = secret_field(id);
    vault::seal(
        keys.vault.current(),
        &secret_context(&field),
        secret.as_bytes(),
        &mut rand::rngs::OsRng,
    )
}

fn open_secret(keys: &Keys, endpoint: &EndpointRecord) -> Result<Vec<u8>, String> {
    let field = secret_field(endpoint.id);
    let opened = vault::open(
        &keys.vault,
        &secret_context(&field),
        &endpoint.sealed_secret,
    )
    .map_err(|error| format!("the signing secret cannot be opened: {error}"))?;
    let text = opened
        .expose_str()
        .map_err(|error| format!("the signing secret is damaged: {error}"))?;
    webhooks::secret_key(text).ok_or_else(|| "the signing secret is damaged".to_owned())
}

fn check_url(services: &Services, typed: &str) -> Result<String, AppError> {
    let invalid = |message: String| AppError::Invalid {
        field: "url",
        message,
    };
    let url = reqwest::Url::parse(typed.trim())
        .map_err(|_| invalid(format!("{typed:?} is not a web address")))?;
    let outbound = outbound(services);
    outbound
        .check_url(&url)
        .map_err(|error| invalid(format!("{}: {error}", url.as_str())))?;
    if url.scheme() == "http" && !outbound.allow_private_addresses {
        return Err(invalid(
            "webhooks are sent over https:// only (http:// is allowed only where private addresses are, for testing)".to_owned(),
        ));
    }
    Ok(url.to_string())
}

pub fn view(endpoint: &EndpointRecord) -> EndpointView {
    EndpointView {
        id: endpoint.id,
        url: endpoint.url.clone(),
        description: endpoint.description.clone(),
        format: WebhookFormat::parse(&endpoint.format).unwrap_or(WebhookFormat::Standard),
        events: endpoint
            .events
            .iter()
            .filter_map(|event| WebhookEvent::parse(event))
            .collect(),
        created_at: endpoint.created_at.to_string(),
        failures_in_a_row: endpoint.failures_in_a_row,
        disabled: endpoint.disabled_at.map(|at| {
            format!(
                "Turned off at {}: {}",
                at.strftime("%Y-%m-%d %H:%M UTC"),
                endpoint.disabled_reason.as_deref().unwrap_or("by Herald")
            )
        }),
    }
}

pub fn delivery_view(delivery: &DeliveryRecord) -> DeliveryView {
    DeliveryView {
        id: delivery.id,
        message_id: delivery.message_id.clone(),
        event: delivery.event.clone(),
        state: delivery.state.clone(),
        attempts: delivery.attempts,
        status: delivery.last_status,
        error: delivery.last_error.clone(),
        response_ms: delivery.last_duration_ms,
        created_at: delivery.created_at.to_string(),
    }
}

pub async fn list(services: &Services, actor: &UserRecord) -> Result<Vec<EndpointView>, AppError> {
    require_owner(actor)?;
    Ok(services
        .store
        .webhook_endpoints()
        .await?
        .iter()
        .map(view)
        .collect())
}

async fn endpoint(services: &Services, id: i64) -> Result<EndpointRecord, AppError> {
    services
        .store
        .webhook_endpoint(id)
        .await?
        .ok_or_else(|| AppError::not_found(Entity::Webhook, format!("there is no webhook {id}")))
}

/// An endpoint and its newest 50 deliveries.
pub async fn show(
    services: &Services,
    actor: &UserRecord,
    id: i64,
) -> Result<(EndpointView, Vec<DeliveryView>), AppError> {
    require_owner(actor)?;
    let endpoint = endpoint(services, id).await?;
    let deliveries = services.store.webhook_deliveries(id, 50).await?;
    Ok((
        view(&endpoint),
        deliveries.iter().map(delivery_view).collect(),
    ))
}

pub async fn delete(
    services: &Services,
    actor: &UserRecord,
    id: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    require_owner(actor)?;
    let endpoint = endpoint(services, id).await?;
    let work = services.store.write().await?;
    work.delete_webhook_endpoint(id, now).await?;
    work.give_up_webhook_deliveries(id, "the endpoint was deleted")
        .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "webhook.deleted",
        Some(format!("webhook:{id}")),
        None,
        serde_json::json!({ "url": endpoint.url }),
    )
    .await?;
    Ok(work.commit().await?)
}

/// Turns an endpoint Herald turned off on again (its failures forgotten).
pub async fn enable(
    services: &Services,
    actor: &UserRecord,
    id: i64,
    now: Timestamp,
) -> Result<EndpointView, AppError> {
    require_owner(actor)?;
    endpoint(services, id).await?;
    let work = services.store.write().await?;
    work.set_webhook_disabled(id, None, now).await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "webhook.enabled",
        Some(format!("webhook:{id}")),
        None,
        serde_json::json!({}),
    )
    .await?;
    let endpoint = work
        .webhook_endpoint(id)
        .await?
        .ok_or_else(|| AppError::Internal("the endpoint vanished".to_owned()))?;
    work.commit().await?;
    Ok(view(&endpoint))
}

/// Sends a test event at once and returns its log entry (delivered or why not). Not retried.
pub async fn send_test(
    services: &Services,
    base: &str,
    actor: &UserRecord,
    id: i64,
    now: Timestamp,
) -> Result<DeliveryView, AppError> {
    require_owner(actor)?;
    endpoint(services, id).await?;
    let payload = payload(
        "Test event from Herald",
        &format!(
            "{} sent this from the webhook's page. If you see it, the webhook works.",
            actor.name
        ),
        Some(&format!("/settings/webhooks/{id}")),
        serde_json::json!({ "sent_by": actor.id }),
    );
    let delivery = services
        .store
        .add_webhook_delivery_by_hand(
            id,
            &message_id(),
            WebhookEvent::Test.as_str(),
            &payload,
            now,
        )
        .await?;
    let client = outbound(services).client();
    let _ = deliver(services, &client, base, delivery, true).await?;
    let delivery = services
        .store
        .webhook_delivery(delivery)
        .await?
        .ok_or_else(|| AppError::Internal("the delivery vanished".to_owned()))?;
    Ok(delivery_view(&delivery))
}

/// What one try of a delivery came to, for the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tried {
    /// Delivered, given up, or nothing left to do.
    Finished,
    /// Try again later.
    Again(String),
}

/// Tries delivery `id` once: signed, through `client`; records the outcome, and turns the
/// endpoint off (telling the owners) after [`DISABLE_AFTER`] failures in a row. `last_try`:
/// a failure is not retried (the test button).
pub async fn deliver(
    services: &Services,
    client: &reqwest::Client,
    base: &str,
    id: i64,
    last_try: bool,
) -> Result<Tried, AppError> {
    let store = &services.store;
    let Some(delivery) = store.webhook_delivery(id).await? else {
        return Ok(Tried::Finished);
    };
    if delivery.state != "pending" {
        return Ok(Tried::Finished);
    }
    let Some(endpoint) = store.webhook_endpoint(delivery.endpoint_id).await? else {
        store
            .give_up_webhook_deliveries(delivery.endpoint_id, "the endpoint was deleted")
            .await?;
        return Ok(Tried::Finished);
    };
    if endpoint.disabled_at.is_some() && delivery.event != WebhookEvent::Test.as_str() {
        store
            .give_up_webhook_deliveries(endpoint.id, "the endpoint is turned off")
            .await?;
        return Ok(Tried::Finished);
    }
    let started = Instant::now();
    let sent = post(services, client, base, &endpoint, &delivery).await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = services.now();
    let out_of_time = now.duration_since(delivery.created_at) >= RETRY_FOR;
    let (status, error) = match sent {
        Ok(status) if (200..300).contains(&status) => (Some(status), None),
        Ok(status) => (Some(status), Some(answered(status))),
        Err(error) => (None, Some(error)),
    };
    let state = match (&error, last_try || out_of_time) {
        (None, _) => "delivered",
        (Some(_), true) => "failed",
        (Some(_), false) => "pending",
    };
    let outcome = DeliveryTry {
        status,
        error: error.clone(),
        duration_ms,
        state,
    };
    let Some(failures) = store.record_webhook_try(&delivery, &outcome, now).await? else {
        return Ok(Tried::Finished);
    };
    if failures >= DISABLE_AFTER && endpoint.disabled_at.is_none() {
        turn_off(
            services,
            &endpoint,
            error.as_deref().unwrap_or_default(),
            now,
        )
        .await?;
        return Ok(Tried::Finished);
    }
    Ok(match (state, error) {
        ("pending", Some(error)) => Tried::Again(error),
        _ => Tried::Finished,
    })
}

fn answered(status: i64) -> String {
    match status {
        300..=399 => format!(
            "the endpoint answered {status}, a redirect; Herald does not follow redirects from webhook endpoints (give the final address)"
        ),
        _ => format!("the endpoint answered {status}"),
    }
}

async fn turn_off(
    services: &Services,
    endpoint: &EndpointRecord,
    last_error: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    let reason = format!("{DISABLE_AFTER} tries in a row failed; the last: {last_error}");
    let work = services.store.write().await?;
    work.set_webhook_disabled(endpoint.id, Some(&reason), now)
        .await?;
    work.give_up_webhook_deliveries(endpoint.id, "the endpoint was turned off")
        .await?;
    record(
        &work,
        now,
        Actor::System,
        "webhook.disabled",
        Some(format!("webhook:{}", endpoint.id)),
        None,
        serde_json::json!({ "url": endpoint.url, "reason": reason }),
    )
    .await?;
    notify::all_owners(
        &work,
        NotificationKind::Operations,
        &format!("A webhook was turned off: {}", endpoint.url),
        &format!(
            "Herald turned off the webhook to {} after {DISABLE_AFTER} failed tries in a row (the last: {last_error}). Fix the receiving end, then turn it on again on the webhook's page.",
            endpoint.url
        ),
        Some(&format!("/settings/webhooks/{}", endpoint.id)),
        now,
    )
    .await?;
    Ok(work.commit().await?)
}

/// One POST: the body in the endpoint's format, the Standard Webhooks headers, the answer's
/// status (its body is never read).
async fn post(
    services: &Services,
    client: &reqwest::Client,
    base: &str,
    endpoint: &EndpointRecord,
    delivery: &DeliveryRecord,
) -> Result<i64, String> {
    let key = open_secret(&services.keys, endpoint)?;
    let stored: serde_json::Value = serde_json::from_str(&delivery.payload)
        .map_err(|_| "the stored event is damaged".to_owned())?;
    let text = EventText {
        title: stored["title"].as_str().unwrap_or_default().to_owned(),
        text: stored["text"].as_str().unwrap_or_default().to_owned(),
        link: stored["link"].as_str().map(|path| format!("{base}{path}")),
        data: stored["data"].clone(),
    };
    let event = WebhookEvent::parse(&delivery.event).unwrap_or(WebhookEvent::Test);
    let format = WebhookFormat::parse(&endpoint.format).unwrap_or(WebhookFormat::Standard);
    let now = services.now();
    let body = webhooks::body(format, event, &delivery.created_at.to_string(), &text);
    let timestamp = now.as_second();
    let signature = webhooks::signature(&key, &delivery.message_id, timestamp, &body);
    let secret = SecretString::from(signature);
    let response = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", secret.expose_secret())
        .body(body)
        .send()
        .await
        .map_err(|error| explain(&error))?;
    Ok(i64::from(response.status().as_u16()))
}

fn explain(error: &reqwest::Error) -> String {
    if networks::outbound::is_refused(error) {
        return format!(
            "{}: the endpoint's address is private or local (networks.allow_private_addresses is off)",
            networks::outbound::REFUSED_ADDRESS
        );
    }
    if error.is_timeout() {
        return format!(
            "the endpoint did not answer within {} seconds",
            TIMEOUT.as_secs()
        );
    }
    if error.is_connect() {
        return "Herald could not connect to the endpoint".to_owned();
    }
    let mut words = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        words.push_str(": ");
        words.push_str(&cause.to_string());
        source = cause.source();
    }
    format!("the request failed: {words}")
}
