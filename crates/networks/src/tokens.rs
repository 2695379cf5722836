//! What Herald keeps sealed in the vault for a connected account, and what a gatekeeper gives
//! to connect one. Secrets are [`SecretString`]s: `Debug` prints `[REDACTED]`, memory is
//! zeroized, and the only way out in the clear is [`Tokens::to_vault_json`].

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A connection's tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    /// When `access` stops working, if the network said.
    pub expires_at: Option<Timestamp>,
    /// Who the tokens act as: a DID, a page id, a person URN, a user id.
    pub subject: String,
    /// The server they belong to, for networks with many (a Mastodon instance, a Bluesky
    /// PDS); `None` means the adapter's configured base URL.
    pub server: Option<String>,
    /// For tokens bound to a key (AT Protocol OAuth, RFC 9449): the key and where the tokens
    /// were issued. `None` for bearer tokens, which work for whoever holds them.
    pub dpop: Option<DpopBinding>,
}

/// What DPoP-bound tokens need besides themselves: each request carries a proof signed with
/// `key`, and refreshing goes back to the authorization server that issued them, as the
/// same client.
#[derive(Debug, Clone)]
pub struct DpopBinding {
    /// The private key (P-256 scalar, base64url): see [`crate::es256::Es256Key`].
    pub key: SecretString,
    /// The authorization server's `issuer`.
    pub issuer: String,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    /// The client id the tokens were issued to.
    pub client_id: String,
}

/// What a gatekeeper gives Herald to connect an account.
#[derive(Debug, Clone)]
pub enum Grant {
    /// An OAuth 2.0 authorization code with its PKCE verifier.
    AuthorizationCode {
        code: SecretString,
        verifier: SecretString,
        redirect_uri: String,
    },
    /// A Bluesky app password for a handle or DID, on a PDS (`None`: the configured one).
    AppPassword {
        identifier: String,
        password: SecretString,
        server: Option<String>,
    },
    /// A token the gatekeeper made at the network (a Mastodon application token, a Facebook
    /// Page token), for a subject (page or user id) where the network needs one.
    AccessToken {
        token: SecretString,
        subject: Option<String>,
        server: Option<String>,
    },
}

#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    access: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh: Option<&'a str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
    subject: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server: Option<&'a str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop: Option<StoredBinding<'a>>,
}

#[derive(Serialize, Deserialize)]
struct StoredBinding<'a> {
    key: &'a str,
    issuer: &'a str,
    token_endpoint: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revocation_endpoint: Option<&'a str>,
    client_id: &'a str,
}

impl Tokens {
    /// Bearer tokens for `subject` with no refresh token and no expiry Herald knows, on the
    /// adapter's configured server: what a pasted token, or a token that never expires, makes.
    pub fn bearer(access: SecretString, subject: String) -> Tokens {
        Tokens {
            access,
            refresh: None,
            expires_at: None,
            subject,
            server: None,
            dpop: None,
        }
    }

    /// The tokens as JSON, for the vault to seal; zeroized when dropped.
    pub fn to_vault_json(&self) -> Zeroizing<String> {
        let stored = Stored {
            access: self.access.expose_secret(),
            refresh: self.refresh.as_ref().map(ExposeSecret::expose_secret),
            expires_at: self.expires_at,
            subject: &self.subject,
            server: self.server.as_deref(),
            dpop: self.dpop.as_ref().map(|binding| StoredBinding {
                key: binding.key.expose_secret(),
                issuer: &binding.issuer,
                token_endpoint: &binding.token_endpoint,
                revocation_endpoint: binding.revocation_endpoint.as_deref(),
                client_id: &binding.client_id,
            }),
        };
        Zeroizing::new(serde_json::to_string(&stored).unwrap_or_default())
    }

    /// Reads what [`Tokens::to_vault_json`] wrote.
    pub fn from_vault_json(json: &str) -> Result<Tokens, serde_json::Error> {
        let stored: Stored<'_> = serde_json::from_str(json)?;
        Ok(Tokens {
            access: stored.access.into(),
            refresh: stored.refresh.map(SecretString::from),
            expires_at: stored.expires_at,
            subject: stored.subject.to_owned(),
            server: stored.server.map(str::to_owned),
            dpop: stored.dpop.map(|binding| DpopBinding {
                key: binding.key.into(),
                issuer: binding.issuer.to_owned(),
                token_endpoint: binding.token_endpoint.to_owned(),
                revocation_endpoint: binding.revocation_endpoint.map(str::to_owned),
                client_id: binding.client_id.to_owned(),
            }),
        })
    }

    /// Whether the access token expires within `margin` of `now` (refresh before expiry).
    pub fn expires_within(&self, now: Timestamp, margin: jiff::SignedDuration) -> bool {
        self.expires_at
            .is_some_and(|at| now.checked_add(margin).is_ok_and(|soon| at <= soon))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_survive_the_vault_and_never_show_in_debug() {
        let tokens = Tokens {
            access: "access-secret-123".into(),
            refresh: Some("refresh-secret-456".into()),
            expires_at: Some(Timestamp::from_second(1_800_000_000).expect("time")),
            subject: "did:plc:abc".to_owned(),
            server: Some("http://127.0.0.1:2583".to_owned()),
            dpop: Some(DpopBinding {
                key: "dpop-key-secret-789".into(),
                issuer: "http://127.0.0.1:2583".to_owned(),
                token_endpoint: "http://127.0.0.1:2583/oauth/token".to_owned(),
                revocation_endpoint: None,
                client_id: "http://localhost".to_owned(),
            }),
        };
        let json = tokens.to_vault_json();
        let back = Tokens::from_vault_json(&json).expect("round trip");
        assert_eq!(back.access.expose_secret(), "access-secret-123");
        assert_eq!(
            back.refresh.as_ref().map(ExposeSecret::expose_secret),
            Some("refresh-secret-456")
        );
        assert_eq!(back.expires_at, tokens.expires_at);
        assert_eq!(back.server, tokens.server);
        let binding = back.dpop.as_ref().expect("the binding survives");
        assert_eq!(binding.key.expose_secret(), "dpop-key-secret-789");
        assert_eq!(binding.token_endpoint, "http://127.0.0.1:2583/oauth/token");
        let debug = format!("{back:?}");
        assert!(
            !debug.contains("secret-123")
                && !debug.contains("secret-456")
                && !debug.contains("secret-789"),
            "{debug}"
        );
    }

    #[test]
    fn tokens_are_due_for_refresh_inside_the_margin() {
        let now = Timestamp::from_second(1_000_000).expect("time");
        let mut tokens = Tokens {
            access: "a".into(),
            refresh: None,
            expires_at: None,
            subject: "me".to_owned(),
            server: None,
            dpop: None,
        };
        let five_minutes = jiff::SignedDuration::from_mins(5);
        assert!(
            !tokens.expires_within(now, five_minutes),
            "no expiry, no refresh"
        );
        tokens.expires_at = Some(Timestamp::from_second(1_000_200).expect("time"));
        assert!(tokens.expires_within(now, five_minutes));
        tokens.expires_at = Some(Timestamp::from_second(1_000_400).expect("time"));
        assert!(!tokens.expires_within(now, five_minutes));
    }
}
