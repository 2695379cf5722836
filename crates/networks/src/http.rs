//! The HTTP every adapter shares: one client per endpoint (the hardened client of
//! [`crate::outbound`]), sending a request (its address checked, its answer read up to a cap)
//! and sorting what comes back into [`NetworkError`]s, and the standard rate-limit headers.

use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use secrecy::SecretString;

use crate::outbound::{Outbound, is_refused};
use crate::{NetworkError, RetryAfter};

/// Where a network's API is, and the client Herald talks to it with.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Without a trailing slash, e.g. `https://api.x.com`.
    pub base_url: String,
    /// Built from `outbound`: requests sent with it go through [`send`] or [`execute`].
    pub client: reqwest::Client,
    pub outbound: Outbound,
    /// Herald's registered OAuth application at this network, where it needs one.
    pub oauth: Option<OAuthClient>,
}

/// An OAuth client registered at a network.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub id: String,
    pub secret: Option<SecretString>,
}

/// A network's answer: status, headers and the whole body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Network messages are quoted to people at most this long.
const LONGEST_MESSAGE: usize = 300;

impl Endpoint {
    /// An endpoint at `base_url` whose requests go out as `outbound` allows.
    pub fn new(base_url: &str, outbound: Outbound, oauth: Option<OAuthClient>) -> Endpoint {
        Endpoint {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client: outbound.client(),
            outbound,
            oauth,
        }
    }

    /// Sends a request made with [`Endpoint::client`]; see [`send`].
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Answer, NetworkError> {
        send(&self.outbound, request).await
    }

    /// Sends a request and turns any answer but a success into the error `failure` (the
    /// network's reading of its error bodies) says it means.
    pub(crate) async fn call(
        &self,
        request: RequestBuilder,
        failure: fn(&Answer) -> NetworkError,
    ) -> Result<Answer, NetworkError> {
        let answer = self.send(request).await?;
        if answer.is_success() {
            return Ok(answer);
        }
        Err(failure(&answer))
    }

    /// `base_url` + `path`, or `server` + `path` when the tokens name their own server.
    pub(crate) fn url(&self, server: Option<&str>, path: &str) -> String {
        let base = server.map_or(self.base_url.as_str(), |server| {
            server.trim_end_matches('/')
        });
        format!("{base}{path}")
    }
}

/// Sends a request, if `outbound` lets its address be reached. A failure to connect means
/// nothing reached the network; a timeout or broken connection after that leaves the outcome
/// unknown.
pub(crate) async fn send(
    outbound: &Outbound,
    request: RequestBuilder,
) -> Result<Answer, NetworkError> {
    let (client, request) = request.build_split();
    execute(outbound, &client, request.map_err(transport)?).await
}

/// Sends a request already built, as [`send`] does; for callers that must see or change the
/// request first (a DPoP proof names its method and URL) or send it again. An address written
/// in the URL is checked here (names are checked by the client's resolver), and the answer is
/// read chunk by chunk, refused past `outbound.max_body_bytes`.
pub(crate) async fn execute(
    outbound: &Outbound,
    client: &reqwest::Client,
    request: reqwest::Request,
) -> Result<Answer, NetworkError> {
    outbound.check_url(request.url())?;
    let mut response = client.execute(request).await.map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let too_large = || {
        tracing::debug!(
            limit = outbound.max_body_bytes,
            "refused an answer larger than Herald reads"
        );
        NetworkError::Unknown("the answer was larger than Herald reads".to_owned())
    };
    let cap = outbound.max_body_bytes;
    if response
        .content_length()
        .is_some_and(|length| length > cap as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > cap {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// What a failed request means, in words that say nothing of what answered (or did not) at the
/// address: the cause goes to the debug log only, without the URL (a query string can hold a
/// token).
fn transport(error: reqwest::Error) -> NetworkError {
    if is_refused(&error) {
        return NetworkError::Rejected(crate::outbound::REFUSED_ADDRESS.to_owned());
    }
    let (connect, timeout) = (error.is_connect() || error.is_builder(), error.is_timeout());
    let error = error.without_url();
    tracing::debug!(error = %error, cause = ?std::error::Error::source(&error), "a request to a network failed");
    if connect {
        NetworkError::Unavailable("could not connect".to_owned())
    } else if timeout {
        NetworkError::Unknown("no answer before the time-out".to_owned())
    } else {
        NetworkError::Unknown("the connection broke".to_owned())
    }
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// The body as JSON of type `T`; a success that cannot be read leaves the outcome unknown.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, NetworkError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            tracing::debug!(status = %self.status, error = %error, "an answer Herald cannot read");
            NetworkError::Unknown(format!(
                "the network answered {} with a body Herald cannot read",
                self.status
            ))
        })
    }

    /// The error this answer means, with the network's own `message` (already extracted from
    /// the body by the adapter) and the rate-limit reset the adapter read from the headers.
    pub(crate) fn error(&self, message: &str, retry_after: Option<RetryAfter>) -> NetworkError {
        let status = self.status;
        let message = quote(status, message);
        match status {
            StatusCode::UNAUTHORIZED => NetworkError::Unauthorized(message),
            StatusCode::TOO_MANY_REQUESTS => NetworkError::RateLimited {
                retry_after: retry_after.or_else(|| standard_retry_after(&self.headers)),
                message,
            },
            // A server error or gateway time-out may come after the post was made.
            StatusCode::INTERNAL_SERVER_ERROR | StatusCode::GATEWAY_TIMEOUT => {
                NetworkError::Unknown(message)
            }
            status if status.is_server_error() => NetworkError::Unavailable(message),
            _ => NetworkError::Rejected(message),
        }
    }
}

/// `"403 Forbidden: message"`, the message cut short and stripped of control characters.
fn quote(status: StatusCode, message: &str) -> String {
    let clean: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(LONGEST_MESSAGE)
        .collect();
    match clean.trim() {
        "" => status.to_string(),
        text => format!("{status}: {text}"),
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn standard_retry_after(headers: &HeaderMap) -> Option<RetryAfter> {
    let value = header(headers, "retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(RetryAfter::Delay(Duration::from_secs(seconds)));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?;
    Some(RetryAfter::At(date.timestamp()))
}

/// A header that holds a Unix time in seconds (`x-rate-limit-reset`, Bluesky's
/// `RateLimit-Reset`).
pub(crate) fn epoch_seconds_header(headers: &HeaderMap, name: &str) -> Option<RetryAfter> {
    let seconds = header(headers, name)?.parse::<i64>().ok()?;
    Timestamp::from_second(seconds).ok().map(RetryAfter::At)
}

/// A header that holds an ISO 8601 time (Mastodon's `X-RateLimit-Reset`, e.g.
/// `2026-12-01T07:25:00.019685Z`).
pub(crate) fn iso_time_header(headers: &HeaderMap, name: &str) -> Option<RetryAfter> {
    let value = header(headers, name)?;
    value.parse::<Timestamp>().ok().map(RetryAfter::At)
}

pub(crate) fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: map,
            body: Vec::new(),
        }
    }

    #[test]
    fn statuses_sort_into_what_herald_does_next() {
        assert!(
            matches!(answer(401, &[]).error("bad token", None), NetworkError::Unauthorized(m) if m == "401 Unauthorized: bad token")
        );
        assert!(matches!(
            answer(422, &[]).error("too long", None),
            NetworkError::Rejected(_)
        ));
        assert!(
            matches!(answer(503, &[]).error("", None), NetworkError::Unavailable(m) if m == "503 Service Unavailable")
        );
        assert!(matches!(
            answer(502, &[]).error("", None),
            NetworkError::Unavailable(_)
        ));
        assert!(
            matches!(answer(500, &[]).error("", None), NetworkError::Unknown(_)),
            "a 500 may come after the post was made"
        );
        assert!(matches!(
            answer(504, &[]).error("", None),
            NetworkError::Unknown(_)
        ));
    }

    #[test]
    fn rate_limits_carry_the_time_to_wait() {
        let seconds = answer(429, &[("retry-after", "120")]).error("slow down", None);
        assert_eq!(
            seconds,
            NetworkError::RateLimited {
                retry_after: Some(RetryAfter::Delay(Duration::from_secs(120))),
                message: "429 Too Many Requests: slow down".to_owned()
            }
        );
        let date = answer(429, &[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")]).error("", None);
        let at: Timestamp = "2026-10-21T07:28:00Z".parse().expect("time");
        assert!(
            matches!(date, NetworkError::RateLimited { retry_after: Some(RetryAfter::At(t)), .. } if t == at)
        );
        let reset = epoch_seconds_header(
            &answer(429, &[("x-rate-limit-reset", "1800000000")]).headers,
            "x-rate-limit-reset",
        );
        assert_eq!(
            reset,
            Some(RetryAfter::At(
                Timestamp::from_second(1_800_000_000).expect("time")
            ))
        );
        let iso = iso_time_header(
            &answer(429, &[("x-ratelimit-reset", "2026-12-01T07:25:00.019685Z")]).headers,
            "x-ratelimit-reset",
        );
        let at: Timestamp = "2026-12-01T07:25:00.019685Z".parse().expect("time");
        assert_eq!(iso, Some(RetryAfter::At(at)));
    }

    #[test]
    fn quoted_messages_are_short_and_have_no_control_characters() {
        let long = format!("line\none\u{7}{}", "x".repeat(1000));
        let NetworkError::Rejected(message) = answer(400, &[]).error(&long, None) else {
            panic!("a 400 is a rejection");
        };
        assert!(message.len() < 330, "{}", message.len());
        assert!(!message.contains('\n') && !message.contains('\u{7}'));
    }
}
