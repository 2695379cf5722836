//! Finding where a Bluesky account lives, from its handle: handle → DID (asked of the
//! configured service, which resolves any handle by DNS or HTTPS), DID → DID document (the PLC
//! directory for `did:plc`, the host's `/.well-known/did.json` for `did:web`), whose
//! `#atproto_pds` service is the account's PDS; the PDS names its authorization server
//! (`/.well-known/oauth-protected-resource`), whose metadata gives the OAuth endpoints.
//!
//! Every step checks what the last one claimed: the DID document must name the handle back
//! (`alsoKnownAs`), and the authorization server's `issuer` must be the address its metadata
//! was read from. Addresses found this way are used only over https (http only to this
//! machine or its private network, where `networks.allow_private_addresses` allows those), and
//! every request goes through the hardened client ([`crate::outbound`]), so a hostile DID
//! document cannot point Herald at services on its network. What those servers answer is never
//! quoted: a step that fails says only which address could not be read.
//!
//! Followed: <https://atproto.com/specs/handle>, <https://atproto.com/specs/did> (DID
//! documents, `alsoKnownAs`, the `#atproto_pds` service),
//! <https://github.com/did-method-plc/did-method-plc> (`GET /{did}`),
//! <https://w3c-ccg.github.io/did-method-web/>, and <https://atproto.com/specs/oauth>
//! ("Authorization Server Discovery": RFC 9728 protected-resource metadata, RFC 8414
//! authorization-server metadata and the issuer check).

use serde::Deserialize;

use crate::http::Answer;
use crate::outbound::{OriginError, REFUSED_ADDRESS};
use crate::{Endpoint, NetworkError};

/// Where an account lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub did: String,
    pub handle: String,
    /// The PDS's origin, from the DID document.
    pub pds: String,
}

/// An authorization server's metadata (RFC 8414), the parts Herald uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub pushed_authorization_request_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
}

#[derive(Deserialize)]
struct Resolved {
    did: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DidDocument {
    id: String,
    #[serde(default)]
    also_known_as: Vec<String>,
    #[serde(default)]
    service: Vec<Service>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    id: String,
    #[serde(default)]
    r#type: String,
    #[serde(default)]
    service_endpoint: serde_json::Value,
}

#[derive(Deserialize)]
struct ProtectedResource {
    #[serde(default)]
    authorization_servers: Vec<String>,
}

/// Resolves `handle` (with or without its `@`) to its DID and PDS.
pub async fn resolve(
    service: &Endpoint,
    plc_url: &str,
    handle: &str,
) -> Result<Identity, NetworkError> {
    let handle = handle.trim().trim_start_matches('@').to_ascii_lowercase();
    let request = service
        .client
        .get(service.url(None, "/xrpc/com.atproto.identity.resolveHandle"))
        .query(&[("handle", handle.as_str())]);
    let answer = service.send(request).await.map_err(unreachable)?;
    if !answer.is_success() {
        return Err(NetworkError::Rejected(format!(
            "Bluesky does not know the handle @{handle} ({}); check the account's handle",
            answer.status
        )));
    }
    let did = answer.json::<Resolved>().map_err(unreachable)?.did;
    let document = did_document(service, plc_url, &did).await?;
    if document.id != did {
        return Err(NetworkError::Rejected(format!(
            "the DID document for {did} names another account"
        )));
    }
    let claimed = format!("at://{handle}");
    if !document
        .also_known_as
        .iter()
        .any(|name| name.eq_ignore_ascii_case(&claimed))
    {
        return Err(NetworkError::Rejected(format!(
            "{did} does not claim the handle @{handle}, so the handle cannot be trusted; \
             check the account's handle in Bluesky"
        )));
    }
    let pds = document
        .service
        .iter()
        .find(|service| {
            service.id.ends_with("#atproto_pds") && service.r#type == "AtprotoPersonalDataServer"
        })
        .and_then(|service| service.service_endpoint.as_str())
        .ok_or_else(|| NetworkError::Rejected(format!("{did} names no PDS")))?;
    let pds = checked_origin(pds, service)?;
    Ok(Identity { did, handle, pds })
}

/// The authorization server of the PDS at `pds`, and its metadata.
pub async fn authorization_server(
    service: &Endpoint,
    pds: &str,
) -> Result<ServerMetadata, NetworkError> {
    let resource: ProtectedResource = fetch(
        service,
        &format!("{pds}/.well-known/oauth-protected-resource"),
    )
    .await?;
    let issuer = resource
        .authorization_servers
        .first()
        .ok_or_else(|| NetworkError::Rejected(format!("{pds} names no authorization server")))?;
    let issuer = checked_origin(issuer, service)?;
    let metadata: ServerMetadata = fetch(
        service,
        &format!("{issuer}/.well-known/oauth-authorization-server"),
    )
    .await?;
    if metadata.issuer.trim_end_matches('/') != issuer {
        return Err(NetworkError::Rejected(format!(
            "the authorization server at {issuer} calls itself {}; refusing it",
            metadata.issuer
        )));
    }
    if !metadata
        .dpop_signing_alg_values_supported
        .iter()
        .any(|alg| alg == "ES256")
    {
        return Err(NetworkError::Rejected(format!(
            "the authorization server at {issuer} does not take ES256 DPoP proofs"
        )));
    }
    for endpoint in [
        &metadata.authorization_endpoint,
        &metadata.token_endpoint,
        &metadata.pushed_authorization_request_endpoint,
    ] {
        checked_url(endpoint, service)?;
    }
    if let Some(endpoint) = &metadata.revocation_endpoint {
        checked_url(endpoint, service)?;
    }
    Ok(metadata)
}

async fn did_document(
    service: &Endpoint,
    plc_url: &str,
    did: &str,
) -> Result<DidDocument, NetworkError> {
    if did.starts_with("did:plc:") && did.len() > "did:plc:".len() && !did.contains('/') {
        return fetch(service, &format!("{}/{did}", plc_url.trim_end_matches('/'))).await;
    }
    if let Some(host) = did.strip_prefix("did:web:") {
        // Only a bare host: did:web with a path is not used for atproto accounts.
        if !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        {
            return fetch(service, &format!("https://{host}/.well-known/did.json")).await;
        }
    }
    Err(NetworkError::Rejected(format!(
        "{did} is not a DID Herald can look up (did:plc or did:web)"
    )))
}

/// Reads the JSON at `url`. Whatever went wrong (no connection, a status, a body that is not
/// what was asked for) is one message naming only the origin, so these steps cannot be used to
/// learn what listens where; the cause goes to the debug log.
async fn fetch<T: serde::de::DeserializeOwned>(
    service: &Endpoint,
    url: &str,
) -> Result<T, NetworkError> {
    let parsed = checked_url(url, service)?;
    let origin = parsed.origin().ascii_serialization();
    let unreadable = |cause: &dyn std::fmt::Display| {
        tracing::debug!(%origin, %cause, "a Bluesky discovery step failed");
        NetworkError::Unavailable(format!(
            "Herald could not read what {origin} should answer for a Bluesky account"
        ))
    };
    let answer: Answer = match service.send(service.client.get(parsed)).await {
        Ok(answer) => answer,
        Err(error) if refused_address(&error) => return Err(error),
        Err(error) => return Err(unreadable(&error)),
    };
    if !answer.is_success() {
        return Err(unreadable(&answer.status));
    }
    answer.json().map_err(|error| unreadable(&error))
}

fn refused_address(error: &NetworkError) -> bool {
    matches!(error, NetworkError::Rejected(message) if message == REFUSED_ADDRESS)
}

/// `url` as an origin (`scheme://host[:port]`) if Herald may use it.
fn checked_origin(url: &str, service: &Endpoint) -> Result<String, NetworkError> {
    let parsed = checked_url(url, service)?;
    Ok(parsed.origin().ascii_serialization())
}

/// `url` parsed, if Herald may send it requests: https (http only to this machine or its
/// private network, where those are allowed), no user name or password, and no address the
/// hardened client refuses.
fn checked_url(url: &str, service: &Endpoint) -> Result<reqwest::Url, NetworkError> {
    let refused = || NetworkError::Rejected(format!("Herald does not follow the address {url:?}"));
    let parsed = reqwest::Url::parse(url).map_err(|_| refused())?;
    match service
        .outbound
        .origin(&parsed.origin().ascii_serialization())
    {
        Ok(_) => {}
        Err(OriginError::Refused) => {
            return Err(NetworkError::Rejected(REFUSED_ADDRESS.to_owned()));
        }
        Err(_) => return Err(refused()),
    }
    service.outbound.check_url(&parsed).map_err(|_| refused())?;
    Ok(parsed)
}

/// A discovery step that failed to get an answer: nothing was changed anywhere.
fn unreachable(error: NetworkError) -> NetworkError {
    match error {
        NetworkError::Unknown(message) => NetworkError::Unavailable(message),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(url: &str, allow_private: bool) -> Endpoint {
        let outbound = crate::Outbound::new(std::time::Duration::from_secs(1))
            .allow_private_addresses(allow_private);
        Endpoint::new(url, outbound, None)
    }

    #[test]
    fn discovered_addresses_must_be_https_and_public_unless_private_ones_are_allowed() {
        let public = service("https://bsky.social", false);
        assert!(checked_url("https://pds.example/x", &public).is_ok());
        for refused in [
            "http://pds.example",
            "http://127.0.0.1:5432",
            "https://10.0.0.8/oauth/token",
            "https://[::ffff:169.254.169.254]/x",
            "https://user:pw@pds.example",
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(checked_url(refused, &public).is_err(), "{refused}");
        }
        assert_eq!(
            checked_url("https://192.168.1.20/x", &public).expect_err("private"),
            NetworkError::Rejected(REFUSED_ADDRESS.to_owned())
        );
        let local = service("http://127.0.0.1:2583", true);
        assert!(checked_url("http://localhost:2583/oauth/token", &local).is_ok());
        assert!(checked_url("http://pds.example", &local).is_err());
        assert_eq!(
            checked_origin("http://localhost:2583/path?q", &local).expect("origin"),
            "http://localhost:2583"
        );
    }
}
