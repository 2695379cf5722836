//! The fake Threads API for one profile: containers (`POST /{threads-user-id}/threads`,
//! `TEXT` or `IMAGE`), their `status`, `threads_publish`, the profile's threads, `/me`,
//! `DELETE /{threads-media-id}`, and the token endpoints (`/oauth/access_token`,
//! `/access_token` with `th_exchange_token`, `/refresh_access_token` with `th_refresh_token`).
//! Writes draw faults; a post exists only once a container is published.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{Value, json};

use super::facebook::{
    Container, Containers, after_write, before_write, graph_error, invalid_token, mime_of, newest,
    no_such_object, ok,
};
use super::{FakePost, FakeServer, FakeState};
use crate::threads::API_VERSION;

/// The one profile the fake holds.
pub const USER_ID: &str = "25000000000000001";
pub const USERNAME: &str = "herald.bakery";
pub const NAME: &str = "Herald Bakery";

/// The app-and-user call count code Threads answers when throttled.
const THROTTLED: i64 = 4;

#[derive(Debug, Clone)]
struct Fake {
    state: Arc<FakeState>,
    containers: Arc<Containers>,
}

pub fn router(state: Arc<FakeState>) -> Router {
    let fake = Fake {
        state,
        containers: Arc::default(),
    };
    Router::new()
        .route(
            &format!("/{API_VERSION}/{{node}}"),
            get(read_node).delete(delete_thread),
        )
        .route(
            &format!("/{API_VERSION}/{{node}}/{{edge}}"),
            get(list_threads).post(create),
        )
        .route("/oauth/access_token", post(exchange_code))
        .route("/access_token", get(long_lived))
        .route("/refresh_access_token", get(refresh))
        .with_state(fake)
}

pub async fn start(state: Arc<FakeState>) -> std::io::Result<FakeServer> {
    FakeServer::start(router(state.clone()), state).await
}

async fn read_node(
    State(fake): State<Fake>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if node == "me" || node == USER_ID {
        return ok(json!({"id": USER_ID, "username": USERNAME, "name": NAME}));
    }
    if fake.containers.get(&node).is_some() {
        return ok(json!({"id": node, "status": "FINISHED"}));
    }
    match fake.state.post(&node) {
        Some(post) => {
            ok(json!({"id": post.id, "text": post.text, "permalink": permalink(&post.id)}))
        }
        None => no_such_object(&node),
    }
}

async fn list_threads(
    State(fake): State<Fake>,
    Path((node, edge)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if node != USER_ID || edge != "threads" {
        return no_such_object(&node);
    }
    let threads: Vec<Value> = newest(&fake.state, &params)
        .into_iter()
        .map(|post| json!({"id": post.id, "text": post.text, "permalink": permalink(&post.id)}))
        .collect();
    ok(json!({"data": threads, "paging": {}}))
}

async fn create(
    State(fake): State<Fake>,
    Path((node, edge)): Path<(String, String)>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if node != USER_ID {
        return no_such_object(&node);
    }
    match edge.as_str() {
        "threads" => create_container(&fake, &params).await,
        "threads_publish" => publish(&fake, &params).await,
        _ => no_such_object(&edge),
    }
}

async fn create_container(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let text = params.get("text").cloned().unwrap_or_default();
    let image_url = params.get("image_url").filter(|url| !url.is_empty());
    let media_type = params
        .get("media_type")
        .map(String::as_str)
        .unwrap_or_default();
    let valid = match media_type {
        "TEXT" => !text.is_empty(),
        "IMAGE" => image_url.is_some(),
        _ => false,
    };
    if !valid {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Invalid parameter: a TEXT post needs text and an IMAGE post an image_url",
        );
    }
    // Threads counts the limit in characters; this fake counts Unicode scalar values.
    if text.chars().count() > 500 {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "The text is longer than 500 characters",
        );
    }
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let id = fake.state.next_id();
    fake.containers.add(
        &id,
        Container {
            text,
            media_type: media_type.to_owned(),
            image_url: image_url.cloned(),
            alt: params.get("alt_text").cloned().unwrap_or_default(),
            published: None,
        },
    );
    after_write(&fake.state, fault, json!({"id": id})).await
}

async fn publish(fake: &Fake, params: &HashMap<String, String>) -> Response {
    let creation_id = params.get("creation_id").cloned().unwrap_or_default();
    let Some(container) = fake.containers.get(&creation_id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            24,
            "The requested resource does not exist",
        );
    };
    if container.published.is_some() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "This media container has already been published",
        );
    }
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    let media = match &container.image_url {
        Some(url) => vec![(container.alt.clone(), mime_of(url).to_owned())],
        None => Vec::new(),
    };
    let (post, _) = fake.state.record(FakePost {
        id: String::new(),
        text: container.text.clone(),
        key: None,
        media,
        extra: json!({"container": creation_id, "media_type": container.media_type, "image_url": container.image_url}),
    });
    fake.containers.mark_published(&creation_id, &post.id);
    after_write(&fake.state, fault, json!({"id": post.id})).await
}

async fn delete_thread(
    State(fake): State<Fake>,
    Path(node): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !fake.state.authorized(&headers) {
        return invalid_token();
    }
    if fake.state.post(&node).is_none() {
        return no_such_object(&node);
    }
    let fault = match before_write(&fake.state, THROTTLED).await {
        Ok(fault) => fault,
        Err(answer) => return answer,
    };
    fake.state.remove(&node);
    after_write(
        &fake.state,
        fault,
        json!({"success": true, "deleted_id": node}),
    )
    .await
}

/// `POST /oauth/access_token`: a code becomes a short-lived token and the user id (a number).
async fn exchange_code(Form(params): Form<HashMap<String, String>>) -> Response {
    let complete = ["client_id", "client_secret", "redirect_uri", "code"]
        .iter()
        .all(|name| params.get(*name).is_some_and(|value| !value.is_empty()));
    let code = params.get("code").map(String::as_str).unwrap_or_default();
    if !complete
        || params.get("grant_type").map(String::as_str) != Some("authorization_code")
        || code == "bad-code"
    {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
        );
    }
    let user_id: u64 = USER_ID.parse().unwrap_or_default();
    ok(json!({"access_token": format!("short-lived-{code}"), "user_id": user_id}))
}

/// `GET /access_token?grant_type=th_exchange_token`: the long-lived token the fake accepts.
async fn long_lived(
    State(fake): State<Fake>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let short = params
        .get("access_token")
        .is_some_and(|token| token.starts_with("short-lived-"));
    let secret = params
        .get("client_secret")
        .is_some_and(|secret| !secret.is_empty());
    if params.get("grant_type").map(String::as_str) != Some("th_exchange_token")
        || !short
        || !secret
    {
        return invalid_token();
    }
    ok(json!({"access_token": fake.state.token, "token_type": "bearer", "expires_in": 5_183_944}))
}

/// `GET /refresh_access_token?grant_type=th_refresh_token`: 60 more days.
async fn refresh(
    State(fake): State<Fake>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let current = params
        .get("access_token")
        .is_some_and(|token| *token == fake.state.token);
    if params.get("grant_type").map(String::as_str) != Some("th_refresh_token") || !current {
        return invalid_token();
    }
    ok(json!({"access_token": fake.state.token, "token_type": "bearer", "expires_in": 5_184_000}))
}

fn permalink(media_id: &str) -> String {
    format!("https://www.threads.com/@{USERNAME}/post/{media_id}")
}
