//! Webhook endpoints (the signing secret sealed) and their deliveries: written in the unit of
//! work of the event, with the job that delivers each; every try's outcome is kept on the
//! delivery for the endpoint's log.

use jiff::Timestamp;
use sqlx::FromRow;

use super::{Store, StoreError, millis, with_pool};
use crate::domain::ids::UserId;
use crate::domain::jobs::NewJob;

/// The job that delivers one webhook delivery (see `jobs/webhooks.rs`).
pub const WEBHOOK_DELIVER_KIND: &str = "webhook_deliver";
/// Tries of one delivery at most; the day's limit usually ends it first.
const DELIVERY_ATTEMPTS: u32 = 40;

/// An endpoint as stored.
#[derive(Clone, PartialEq)]
pub struct EndpointRecord {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub format: String,
    /// The events it wants, as stored names.
    pub events: Vec<String>,
    pub sealed_secret: Vec<u8>,
    pub key_version: i64,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub failures_in_a_row: i64,
    pub disabled_at: Option<Timestamp>,
    pub disabled_reason: Option<String>,
}

debug_without_secrets!(EndpointRecord);

/// A new endpoint; the secret already sealed.
#[derive(Clone, PartialEq)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub format: String,
    pub events: Vec<String>,
    pub sealed_secret: Vec<u8>,
    pub key_version: i64,
    pub created_by: UserId,
}

debug_without_secrets!(NewEndpoint);

/// One delivery and its last try.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: i64,
    pub endpoint_id: i64,
    /// The `webhook-id`: the same on every try.
    pub message_id: String,
    pub event: String,
    pub payload: String,
    pub created_at: Timestamp,
    /// `pending`, `delivered` or `failed` (given up).
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_duration_ms: Option<i64>,
    pub last_attempt_at: Option<Timestamp>,
    pub delivered_at: Option<Timestamp>,
}

/// What one try gave.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryTry {
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// `delivered`, `pending` (tried again later) or `failed` (given up).
    pub state: &'static str,
}

#[derive(FromRow)]
struct EndpointRow {
    id: i64,
    url: String,
    description: String,
    format: String,
    events: String,
    sealed_secret: Vec<u8>,
    key_version: i64,
    created_by: UserId,
    created_at: i64,
    failures_in_a_row: i64,
    disabled_at: Option<i64>,
    disabled_reason: Option<String>,
}

const ENDPOINT_COLUMNS: &str = "id, url, description, format, events, sealed_secret, key_version, created_by, created_at, failures_in_a_row, disabled_at, disabled_reason";

impl TryFrom<EndpointRow> for EndpointRecord {
    type Error = StoreError;

    fn try_from(row: EndpointRow) -> Result<EndpointRecord, StoreError> {
        Ok(EndpointRecord {
            id: row.id,
            url: row.url,
            description: row.description,
            format: row.format,
            events: serde_json::from_str(&row.events)
                .map_err(|_| StoreError::Corrupt(format!("events of webhook {}", row.id)))?,
            sealed_secret: row.sealed_secret,
            key_version: row.key_version,
            created_by: row.created_by,
            created_at: millis(row.created_at)?,
            failures_in_a_row: row.failures_in_a_row,
            disabled_at: row.disabled_at.map(millis).transpose()?,
            disabled_reason: row.disabled_reason,
        })
    }
}

#[derive(FromRow)]
struct DeliveryRow {
    id: i64,
    endpoint_id: i64,
    message_id: String,
    event: String,
    payload: String,
    created_at: i64,
    state: String,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    last_duration_ms: Option<i64>,
    last_attempt_at: Option<i64>,
    delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "id, endpoint_id, message_id, event, payload, created_at, state, attempts, last_status, last_error, last_duration_ms, last_attempt_at, delivered_at";

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<DeliveryRecord, StoreError> {
        Ok(DeliveryRecord {
            id: row.id,
            endpoint_id: row.endpoint_id,
            message_id: row.message_id,
            event: row.event,
            payload: row.payload,
            created_at: millis(row.created_at)?,
            state: row.state,
            attempts: row.attempts,
            last_status: row.last_status,
            last_error: row.last_error,
            last_duration_ms: row.last_duration_ms,
            last_attempt_at: row.last_attempt_at.map(millis).transpose()?,
            delivered_at: row.delivered_at.map(millis).transpose()?,
        })
    }
}

impl Store {
    pub async fn add_webhook_endpoint(
        &self,
        endpoint: &NewEndpoint,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let events = serde_json::to_string(&endpoint.events)
            .map_err(|error| StoreError::Corrupt(error.to_string()))?;
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO webhook_endpoints (url, description, format, events, sealed_secret, key_version, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(&endpoint.url)
            .bind(&endpoint.description)
            .bind(&endpoint.format)
            .bind(&events)
            .bind(&endpoint.sealed_secret)
            .bind(endpoint.key_version)
            .bind(endpoint.created_by)
            .bind(now.as_millisecond())
            .fetch_one(pool)
            .await)?)
    }

    /// Stores an endpoint's sealed signing secret (sealed for its id, so after the insert).
    pub async fn set_webhook_secret(
        &self,
        id: i64,
        sealed: &[u8],
        key_version: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE webhook_endpoints SET sealed_secret = $1, key_version = $2 WHERE id = $3")
            .bind(sealed)
            .bind(key_version)
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// Endpoints not deleted, oldest first.
    pub async fn webhook_endpoints(&self) -> Result<Vec<EndpointRecord>, StoreError> {
        let query = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY id"
        );
        let rows: Vec<EndpointRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(EndpointRecord::try_from).collect()
    }

    pub async fn webhook_endpoint(&self, id: i64) -> Result<Option<EndpointRecord>, StoreError> {
        let query = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL"
        );
        let row: Option<EndpointRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(EndpointRecord::try_from).transpose()
    }

    /// Deletes an endpoint (kept for its log's sake, never delivered to again).
    pub async fn delete_webhook_endpoint(
        &self,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, pool => sqlx::query(
            "UPDATE webhook_endpoints SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }

    /// Turns an endpoint off (`Some(reason)`) or on again (`None`, failures forgotten).
    pub async fn set_webhook_disabled(
        &self,
        id: i64,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE webhook_endpoints
                SET disabled_at = CASE WHEN $1 IS NULL THEN NULL ELSE $2 END,
                    disabled_reason = $1,
                    failures_in_a_row = CASE WHEN $1 IS NULL THEN 0 ELSE failures_in_a_row END
              WHERE id = $3")
            .bind(reason)
            .bind(now.as_millisecond())
            .bind(id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// A delivery of `event` to `endpoint_id`, with the job that delivers it.
    pub async fn add_webhook_delivery(
        &self,
        endpoint_id: i64,
        message_id: &str,
        event: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let id = self
            .add_webhook_delivery_by_hand(endpoint_id, message_id, event, payload, now)
            .await?;
        let job = NewJob {
            kind: WEBHOOK_DELIVER_KIND.to_owned(),
            payload: serde_json::json!({ "delivery": id }),
            run_at: now,
            dedupe_key: Some(format!("{WEBHOOK_DELIVER_KIND}:{id}")),
            max_attempts: DELIVERY_ATTEMPTS,
        };
        self.enqueue_job(&job, now).await?;
        Ok(id)
    }

    /// Like [`Store::add_webhook_delivery`] but without a job: the caller tries it itself.
    pub async fn add_webhook_delivery_by_hand(
        &self,
        endpoint_id: i64,
        message_id: &str,
        event: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (endpoint_id, message_id, event, payload, created_at, state)
             VALUES ($1, $2, $3, $4, $5, 'pending') RETURNING id")
            .bind(endpoint_id)
            .bind(message_id)
            .bind(event)
            .bind(payload)
            .bind(now.as_millisecond())
            .fetch_one(pool)
            .await)?)
    }

    pub async fn webhook_delivery(&self, id: i64) -> Result<Option<DeliveryRecord>, StoreError> {
        let query = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        let row: Option<DeliveryRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(DeliveryRecord::try_from).transpose()
    }

    /// An endpoint's newest deliveries, newest first.
    pub async fn webhook_deliveries(
        &self,
        endpoint_id: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let query = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2"
        );
        let rows: Vec<DeliveryRow> = with_pool!(self, pool => sqlx::query_as(&query)
            .bind(endpoint_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
    }

    /// Records one try of a pending delivery, and the endpoint's failures in a row (returned).
    /// `None` when the delivery was no longer pending (another worker recorded it).
    pub async fn record_webhook_try(
        &self,
        delivery: &DeliveryRecord,
        outcome: &DeliveryTry,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        let work = self.write().await?;
        let changed = with_pool!(work, pool => sqlx::query(
            "UPDATE webhook_deliveries
                SET state = $1, attempts = attempts + 1, last_status = $2, last_error = $3,
                    last_duration_ms = $4, last_attempt_at = $5,
                    delivered_at = CASE WHEN $1 = 'delivered' THEN $5 ELSE NULL END
              WHERE id = $6 AND state = 'pending'")
            .bind(outcome.state)
            .bind(outcome.status)
            .bind(&outcome.error)
            .bind(outcome.duration_ms)
            .bind(now.as_millisecond())
            .bind(delivery.id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        if changed == 0 {
            return Ok(None);
        }
        let reset = outcome.state == "delivered";
        with_pool!(work, pool => sqlx::query(
            "UPDATE webhook_endpoints
                SET failures_in_a_row = CASE WHEN $1 THEN 0 ELSE failures_in_a_row + 1 END
              WHERE id = $2")
            .bind(reset)
            .bind(delivery.endpoint_id)
            .execute(pool)
            .await
            .map(drop))?;
        let failures: i64 = with_pool!(work, pool => sqlx::query_scalar(
            "SELECT failures_in_a_row FROM webhook_endpoints WHERE id = $1")
            .bind(delivery.endpoint_id)
            .fetch_one(pool)
            .await)?;
        work.commit().await?;
        Ok(Some(failures))
    }

    /// Gives up every pending delivery of an endpoint (it was disabled or deleted).
    pub async fn give_up_webhook_deliveries(
        &self,
        endpoint_id: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', last_error = COALESCE(last_error, $1)
              WHERE endpoint_id = $2 AND state = 'pending'")
            .bind(reason)
            .bind(endpoint_id)
            .execute(pool)
            .await
            .map(drop))?;
        Ok(())
    }

    /// How many endpoints are turned off after failing (for the security page).
    pub async fn disabled_webhook_endpoints(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhook_endpoints WHERE deleted_at IS NULL AND disabled_at IS NOT NULL")
            .fetch_one(pool)
            .await)?)
    }
}
