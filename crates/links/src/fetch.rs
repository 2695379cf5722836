//! Fetching a feed with a conditional GET through the hardened outbound client: the last
//! answer's ETag and Last-Modified are sent back, a 304 means nothing to do, and a body is
//! read chunk by chunk up to a cap.

use networks::Outbound;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{StatusCode, Url};

/// What the server gave to tell a later fetch whether the feed changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A feed's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the feed has not changed since the validators sent.
    NotModified,
    /// The feed's bytes, with the validators to send next time.
    Body {
        bytes: Vec<u8>,
        validators: Validators,
    },
}

/// Fetches `url` through `outbound` (public addresses only unless it allows others, no
/// redirects, its time-out for the whole fetch), sending `known` validators, reading at most
/// `cap` bytes. Errors are sentences that never quote the server's answer.
pub async fn conditional_get(
    outbound: &Outbound,
    url: &str,
    known: &Validators,
    cap: usize,
) -> Result<Fetched, String> {
    let url = Url::parse(url).map_err(|_| format!("The feed address {url} cannot be read"))?;
    outbound.check_url(&url).map_err(|error| match error {
        networks::NetworkError::Rejected(message) => message,
        other => other.to_string(),
    })?;
    let mut request = outbound.client().get(url);
    if let Some(etag) = &known.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(modified) = &known.last_modified {
        request = request.header(IF_MODIFIED_SINCE, modified);
    }
    let timeout = outbound.timeout.as_secs();
    let failed = |error: reqwest::Error| {
        tracing::debug!(%error, "a feed could not be fetched");
        if networks::outbound::is_refused(&error) {
            networks::outbound::REFUSED_ADDRESS.to_owned()
        } else if error.is_timeout() {
            format!("The feed did not arrive within {timeout} s")
        } else {
            "The feed's server cannot be reached".to_owned()
        }
    };
    let mut response = request.send().await.map_err(failed)?;
    let status = response.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(format!("The feed's server answered {status}"));
    }
    let header = |value: Option<&reqwest::header::HeaderValue>| {
        value
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header(response.headers().get(ETAG)),
        last_modified: header(response.headers().get(LAST_MODIFIED)),
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if bytes.len() + chunk.len() > cap {
            return Err(format!(
                "The feed is larger than {} MB; nothing was imported",
                cap / (1024 * 1024)
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Fetched::Body { bytes, validators })
}
