//! Webhook pages for owners: `/settings/webhooks` lists the endpoints and adds one (its secret
//! shown once), `/settings/webhooks/{id}` shows its delivery log (status, response time,
//! error) with "send test event", "turn on again" and "delete".

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::ExposeSecret;

use super::people::NoFields;
use super::{Layout, PageError, render};
use crate::domain::access::Permission;
use crate::domain::webhooks::{WebhookEvent, WebhookFormat};
use crate::http::AppState;
use crate::http::auth::{Caller, CsrfForm};
use crate::services::webhooks::{self, DeliveryView, EndpointView, NewWebhook};

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    layout: Layout,
    csrf: String,
    endpoints: Vec<EndpointView>,
    events: Vec<(&'static str, &'static str)>,
    formats: Vec<(&'static str, &'static str)>,
    /// A new endpoint's id and secret, shown this once.
    created: Option<(i64, String)>,
    error: Option<String>,
    url: String,
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct EndpointPage {
    layout: Layout,
    csrf: String,
    endpoint: EndpointView,
    deliveries: Vec<DeliveryView>,
    notice: Option<String>,
}

/// The add form: the events are checkboxes, so they come as repeated `events` fields.
type AddForm = Vec<(String, String)>;

pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    list_page(&state, &caller, None, None, String::new()).await
}

pub async fn add(
    State(state): State<AppState>,
    CsrfForm { caller, form }: CsrfForm<AddForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let events = form
        .iter()
        .filter(|(key, _)| key == "events")
        .filter_map(|(_, value)| WebhookEvent::parse(value))
        .collect();
    let new = NewWebhook {
        url: field("url"),
        description: field("description"),
        format: WebhookFormat::parse(&field("format")).unwrap_or(WebhookFormat::Standard),
        events,
    };
    match webhooks::create(&state.services, &caller.user, &new, state.clock.now()).await {
        Ok(created) => {
            let shown = (
                created.endpoint.id,
                created.secret.expose_secret().to_owned(),
            );
            list_page(&state, &caller, Some(shown), None, String::new()).await
        }
        Err(error) => list_page(&state, &caller, None, Some(error.to_string()), new.url).await,
    }
}

async fn list_page(
    state: &AppState,
    caller: &Caller,
    created: Option<(i64, String)>,
    error: Option<String>,
    url: String,
) -> Result<Response, PageError> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ListPage {
        layout: Layout::signed_in("Webhooks · Herald", "/account", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        endpoints: webhooks::list(&state.services, &caller.user).await?,
        events: WebhookEvent::CHOOSABLE
            .into_iter()
            .map(|event| (event.as_str(), event.label()))
            .collect(),
        formats: WebhookFormat::ALL
            .into_iter()
            .map(|format| (format.as_str(), format.label()))
            .collect(),
        created,
        error,
        url,
    };
    Ok(render(status, &page))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    endpoint_page(&state, &caller, id, None).await
}

async fn endpoint_page(
    state: &AppState,
    caller: &Caller,
    id: i64,
    notice: Option<String>,
) -> Result<Response, PageError> {
    let (endpoint, deliveries) = webhooks::show(&state.services, &caller.user, id).await?;
    let page = EndpointPage {
        layout: Layout::signed_in("Webhook · Herald", "/account", caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        endpoint,
        deliveries,
        notice,
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn test(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    let base = crate::http::api::people::public_base(&state, &headers);
    let delivery =
        webhooks::send_test(&state.services, &base, &caller.user, id, state.clock.now()).await?;
    let notice = match delivery.error {
        None => "The test event was delivered.".to_owned(),
        Some(why) => format!("The test event was not delivered: {why}."),
    };
    endpoint_page(&state, &caller, id, Some(notice)).await
}

pub async fn enable(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    webhooks::enable(&state.services, &caller.user, id, state.clock.now()).await?;
    endpoint_page(&state, &caller, id, Some("Turned on again.".to_owned())).await
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> Result<Response, PageError> {
    caller.require(Permission::ManageIntegrations)?;
    webhooks::delete(&state.services, &caller.user, id, state.clock.now()).await?;
    Ok(Redirect::to("/settings/webhooks").into_response())
}
