//! What the three Meta APIs (Facebook Pages, Instagram, Threads) share: the Graph error body
//! and its codes, the usage headers that say when a throttled app may call again, the token
//! answers, and sending a request with the token as a bearer header.
//!
//! Followed: <https://developers.facebook.com/docs/graph-api/guides/error-handling> (error body
//! and codes) and <https://developers.facebook.com/docs/graph-api/overview/rate-limiting>
//! (`X-App-Usage`, `X-Page-Usage`, `X-Business-Use-Case-Usage` and their
//! `estimated_time_to_regain_access`, in minutes).
//!
//! Also what Instagram and Threads share when they publish: a container made in one request
//! is published in another, and a carousel is a container whose `children` are item
//! containers (`is_carousel_item=true`).

use std::time::Duration;

use jiff::Timestamp;
use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;

pub(crate) use crate::error::nothing_posted;
use crate::http::{Answer, header, standard_retry_after};
pub(crate) use crate::oauth::TokenAnswer;
use crate::{Endpoint, Media, NetworkError, RetryAfter, Tokens};

/// Graph error codes that mean the access token is expired, revoked or invalid: the
/// gatekeeper must reconnect, whatever the HTTP status (Meta sends most of them with 400).
const TOKEN_CODES: [i64; 2] = [190, 102];

/// Graph error codes that mean "throttled": 4 (app), 17 (user), 32 (Page), 613 (calls within
/// one hour), 341 (application limit), and the Business Use Case codes 80001–80014 (80001
/// Pages, 80002 Instagram, …).
const RATE_LIMIT_CODES: [i64; 5] = [4, 17, 32, 341, 613];
const BUSINESS_USE_CASE_CODES: std::ops::RangeInclusive<i64> = 80001..=80014;

/// The usage headers, each JSON that may carry `estimated_time_to_regain_access` (minutes).
const USAGE_HEADERS: [&str; 3] = ["x-business-use-case-usage", "x-page-usage", "x-app-usage"];

/// Meta's own API hosts. An adapter pointed at one of them sends the browser to Meta's login
/// pages; pointed anywhere else (a local fake, a proxy), it takes that server to serve the
/// login pages and token exchanges too, as the LinkedIn adapter does.
const META_API_HOSTS: [&str; 4] = [
    "https://graph.facebook.com",
    "https://graph.instagram.com",
    "https://graph.threads.net",
    "https://graph.threads.com",
];

/// `{"error": {"message", "type", "code", "error_subcode", "error_user_msg", "fbtrace_id"}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Debug, Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default)]
    error_user_msg: Option<String>,
}

/// `{"success": true}`, what deletes and revocations answer.
#[derive(Debug, Deserialize)]
pub(crate) struct Success {
    #[serde(default)]
    pub success: bool,
}

/// `{"id": "…"}`, what every create answers.
#[derive(Debug, Deserialize)]
pub(crate) struct Created {
    pub id: String,
}

/// One page of a list edge: `{"data": [...], "paging": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// Adds the token as `Authorization: Bearer`, which every Graph host accepts, so tokens stay
/// out of URLs (and so out of proxies' logs).
pub(crate) fn bearer(request: RequestBuilder, tokens: &Tokens) -> RequestBuilder {
    request.bearer_auth(tokens.access.expose_secret())
}

/// Where the login pages (or code exchange) are for `endpoint`: `meta_host` (such as
/// `https://www.facebook.com`) when the endpoint is Meta's API, else the endpoint itself.
pub(crate) fn login_base<'a>(endpoint: &'a Endpoint, meta_host: &'a str) -> &'a str {
    if META_API_HOSTS.contains(&endpoint.base_url.as_str()) {
        meta_host
    } else {
        &endpoint.base_url
    }
}

/// Makes an Instagram or Threads container with `request` (a form post to the account's
/// media edge). A container is not a post: whatever happens to the answer, nothing was
/// published, so an unknown outcome is safe to try again.
pub(crate) async fn make_container(
    endpoint: &Endpoint,
    request: RequestBuilder,
    tokens: &Tokens,
) -> Result<String, NetworkError> {
    let created: Created = call(endpoint, bearer(request, tokens))
        .await
        .map_err(nothing_posted)?;
    Ok(created.id)
}

/// Instagram's and Threads' containers: made from a form on the account's edge, and checked
/// ready (the network has fetched the image) before they are used.
pub(crate) trait Containers: Sync {
    fn checked_container(
        &self,
        tokens: &Tokens,
        form: &[(&str, &str)],
    ) -> impl Future<Output = Result<String, NetworkError>> + Send;
}

/// A carousel as Instagram and Threads both make one: an item container per image, from
/// `item` (the network's own fields), the image's `image_url` and `alt_text`, and
/// `is_carousel_item=true`; then a `CAROUSEL` container naming them in order as `children`,
/// with the post's text in the network's field for it. The carousel's id, ready to publish.
pub(crate) async fn carousel(
    network: &impl Containers,
    tokens: &Tokens,
    images: &[(&Media, &str)],
    item: &[(&str, &str)],
    (text_field, text): (&str, &str),
) -> Result<String, NetworkError> {
    let mut children = Vec::with_capacity(images.len());
    for (media, image_url) in images {
        let mut form = item.to_vec();
        form.extend([
            ("image_url", *image_url),
            ("alt_text", media.alt.as_str()),
            ("is_carousel_item", "true"),
        ]);
        children.push(network.checked_container(tokens, &form).await?);
    }
    let children = children.join(",");
    let form = [
        ("media_type", "CAROUSEL"),
        ("children", children.as_str()),
        (text_field, text),
    ];
    network.checked_container(tokens, &form).await
}

/// Refreshes a long-lived Instagram or Threads token the documented way: the token itself in
/// the query of `GET /refresh_access_token`, with the network's `grant_type`
/// (`ig_refresh_token`, `th_refresh_token`). The new expiry counts from `now`.
pub(crate) async fn refresh_long_lived(
    endpoint: &Endpoint,
    tokens: &Tokens,
    grant_type: &str,
    now: Timestamp,
) -> Result<Tokens, NetworkError> {
    let request = endpoint
        .client
        .get(endpoint.url(None, "/refresh_access_token"))
        .query(&[
            ("grant_type", grant_type),
            ("access_token", tokens.access.expose_secret()),
        ]);
    let fresh: TokenAnswer = call(endpoint, request).await?;
    Ok(Tokens {
        expires_at: fresh.expires_at(now),
        server: tokens.server.clone(),
        ..Tokens::bearer(fresh.access_token, tokens.subject.clone())
    })
}

/// Sends a request and reads a success as `T`; anything else becomes the error it means.
pub(crate) async fn call<T: DeserializeOwned>(
    endpoint: &Endpoint,
    request: RequestBuilder,
) -> Result<T, NetworkError> {
    endpoint.call(request, failure).await?.json()
}

/// The error a failed Graph answer means.
pub(crate) fn failure(answer: &Answer) -> NetworkError {
    let retry_after =
        usage_retry_after(&answer.headers).or_else(|| standard_retry_after(&answer.headers));
    let Ok(ErrorBody { error }) = serde_json::from_slice::<ErrorBody>(&answer.body) else {
        return answer.error(&login_message(&answer.body), retry_after);
    };
    let message = describe(&error);
    let sorted = answer.error(&message, retry_after);
    let code = error.code.unwrap_or_default();
    if TOKEN_CODES.contains(&code) {
        return NetworkError::Unauthorized(text_of(sorted));
    }
    if RATE_LIMIT_CODES.contains(&code) || BUSINESS_USE_CASE_CODES.contains(&code) {
        return NetworkError::RateLimited {
            retry_after,
            message: text_of(sorted),
        };
    }
    sorted
}

/// The Graph error code of a failed answer, if its body is the Graph's error body.
pub(crate) fn error_code(answer: &Answer) -> Option<i64> {
    serde_json::from_slice::<ErrorBody>(&answer.body)
        .ok()?
        .error
        .code
}

/// The id a path segment may hold: Graph ids are digits, sometimes joined by `_`. Anything
/// else is refused before it can change the path or the query.
pub(crate) fn node(id: &str) -> Result<&str, NetworkError> {
    let safe = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if safe {
        Ok(id)
    } else {
        Err(NetworkError::Rejected(format!(
            "{:?} is not a Graph id",
            id.chars().take(40).collect::<String>()
        )))
    }
}

/// A JSON id that may be a number or a string (`user_id` is a number in some token answers).
pub(crate) fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) if !text.is_empty() => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The Meta app's id and secret, which the code exchange needs.
pub(crate) fn app(endpoint: &Endpoint) -> Result<(&str, &str), NetworkError> {
    let oauth = endpoint.oauth.as_ref();
    match oauth.and_then(|oauth| {
        oauth
            .secret
            .as_ref()
            .map(|secret| (oauth.id.as_str(), secret))
    }) {
        Some((id, secret)) => Ok((id, secret.expose_secret())),
        None => Err(NetworkError::Rejected(
            "no Meta app is configured for this network: connect with an access token instead"
                .to_owned(),
        )),
    }
}

/// The Instagram login host answers errors as `{"error_type", "code", "error_message"}`.
fn login_message(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct LoginError {
        error_message: String,
    }
    serde_json::from_slice::<LoginError>(body)
        .map(|error| error.error_message)
        .unwrap_or_default()
}

/// The person-facing message with Meta's code, which support pages are keyed by.
fn describe(error: &GraphError) -> String {
    let text = error
        .error_user_msg
        .as_deref()
        .filter(|text| !text.trim().is_empty())
        .unwrap_or(&error.message);
    let mut message = text.to_owned();
    if let Some(code) = error.code {
        message.push_str(&format!(
            " ({} {code}",
            error.kind.as_deref().unwrap_or("code")
        ));
        if let Some(subcode) = error.error_subcode {
            message.push_str(&format!(", subcode {subcode}"));
        }
        message.push(')');
    }
    message
}

fn text_of(error: NetworkError) -> String {
    match error {
        NetworkError::RateLimited { message, .. }
        | NetworkError::Unavailable(message)
        | NetworkError::Unauthorized(message)
        | NetworkError::Rejected(message)
        | NetworkError::Unknown(message) => message,
    }
}

/// The longest `estimated_time_to_regain_access` any usage header gives, as a delay; `None`
/// when no header says (or all say zero).
fn usage_retry_after(headers: &HeaderMap) -> Option<RetryAfter> {
    let minutes = USAGE_HEADERS
        .iter()
        .filter_map(|name| header(headers, name))
        .filter_map(|value| serde_json::from_str::<serde_json::Value>(value).ok())
        .filter_map(|usage| regain_minutes(&usage))
        .max()?;
    (minutes > 0).then(|| RetryAfter::Delay(Duration::from_secs(minutes * 60)))
}

/// `X-App-Usage` and `X-Page-Usage` are one object; `X-Business-Use-Case-Usage` maps each
/// business id to a list of objects, one per use case.
fn regain_minutes(usage: &serde_json::Value) -> Option<u64> {
    match usage {
        serde_json::Value::Object(fields) => {
            let own = fields
                .get("estimated_time_to_regain_access")
                .and_then(serde_json::Value::as_u64);
            let nested = fields.values().filter_map(regain_minutes).max();
            own.max(nested)
        }
        serde_json::Value::Array(items) => items.iter().filter_map(regain_minutes).max(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use reqwest::header::HeaderValue;

    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    fn graph_body(code: i64, message: &str) -> String {
        serde_json::json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}})
            .to_string()
    }

    #[test]
    fn an_expired_token_is_unauthorized_even_when_meta_answers_400() {
        let error = failure(&answer(
            400,
            &[],
            &graph_body(190, "Error validating access token"),
        ));
        let NetworkError::Unauthorized(message) = error else {
            panic!("code 190 means reconnect: {error:?}");
        };
        assert_eq!(
            message,
            "400 Bad Request: Error validating access token (OAuthException 190)"
        );
    }

    #[test]
    fn throttling_codes_are_rate_limits_with_the_time_to_regain_access() {
        let usage = r#"{"1234":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":12,"estimated_time_to_regain_access":7}]}"#;
        let error = failure(&answer(
            400,
            &[("x-business-use-case-usage", usage)],
            &graph_body(80001, "There have been too many calls to this Page"),
        ));
        assert_eq!(
            error,
            NetworkError::RateLimited {
                retry_after: Some(RetryAfter::Delay(Duration::from_secs(7 * 60))),
                message: "400 Bad Request: There have been too many calls to this Page (OAuthException 80001)".to_owned(),
            }
        );
        let page_usage = r#"{"call_count":100,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":2}"#;
        let error = error_of(403, &[("x-page-usage", page_usage)], 32);
        assert!(
            matches!(error, NetworkError::RateLimited { retry_after: Some(RetryAfter::Delay(delay)), .. } if delay == Duration::from_secs(120)),
            "{error:?}"
        );
        let no_headers = error_of(400, &[], 4);
        assert!(matches!(
            no_headers,
            NetworkError::RateLimited {
                retry_after: None,
                ..
            }
        ));
    }

    fn error_of(status: u16, headers: &[(&'static str, &str)], code: i64) -> NetworkError {
        failure(&answer(status, headers, &graph_body(code, "slow down")))
    }

    #[test]
    fn a_429_without_a_graph_body_still_reads_retry_after() {
        let error = failure(&answer(429, &[("retry-after", "30")], "Too Many Requests"));
        assert!(
            matches!(error, NetworkError::RateLimited { retry_after: Some(RetryAfter::Delay(d)), .. } if d == Duration::from_secs(30))
        );
    }

    #[test]
    fn other_graph_errors_sort_by_status_with_metas_message() {
        let rejected = failure(&answer(400, &[], &graph_body(100, "Invalid parameter")));
        assert_eq!(
            rejected,
            NetworkError::Rejected(
                "400 Bad Request: Invalid parameter (OAuthException 100)".to_owned()
            )
        );
        assert!(matches!(
            failure(&answer(
                500,
                &[],
                &graph_body(1, "An unknown error occurred")
            )),
            NetworkError::Unknown(_)
        ));
        assert!(matches!(
            failure(&answer(503, &[], "<html>down</html>")),
            NetworkError::Unavailable(_)
        ));
        assert!(matches!(
            failure(&answer(502, &[], "")),
            NetworkError::Unavailable(_)
        ));
    }

    #[test]
    fn user_messages_are_preferred_and_subcodes_kept() {
        let body = serde_json::json!({"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
            "error_subcode": 2207026, "error_user_msg": "The image format is not supported"}});
        let NetworkError::Rejected(message) = failure(&answer(400, &[], &body.to_string())) else {
            panic!("a 400 is a rejection");
        };
        assert_eq!(
            message,
            "400 Bad Request: The image format is not supported (OAuthException 100, subcode 2207026)"
        );
    }

    #[test]
    fn login_pages_are_metas_for_metas_hosts_and_the_servers_own_otherwise() {
        let endpoint =
            |url: &str| Endpoint::new(url, crate::Outbound::new(Duration::from_secs(1)), None);
        let www = "https://www.facebook.com";
        assert_eq!(
            login_base(&endpoint("https://graph.facebook.com/"), www),
            www
        );
        assert_eq!(login_base(&endpoint("https://graph.threads.net"), www), www);
        assert_eq!(
            login_base(&endpoint("http://127.0.0.1:4000"), www),
            "http://127.0.0.1:4000"
        );
    }

    #[test]
    fn only_plain_ids_make_it_into_a_path() {
        assert_eq!(node("123_456").ok(), Some("123_456"));
        assert!(node("123/../me").is_err());
        assert!(node("1?access_token=x").is_err());
        assert!(node("").is_err());
    }

    #[test]
    fn metas_token_answers_expire_from_now() {
        let answer: TokenAnswer = serde_json::from_str(
            r#"{"access_token":"t","token_type":"bearer","expires_in":5184000}"#,
        )
        .expect("json");
        let now = Timestamp::from_second(1_000_000).expect("time");
        assert_eq!(
            answer.expires_at(now),
            Some(Timestamp::from_second(1_000_000 + 5_184_000).expect("time"))
        );
    }
}
