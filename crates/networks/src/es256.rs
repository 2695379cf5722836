//! ES256 (ECDSA on P-256 with SHA-256) keys and the two kinds of JWT Herald signs with them
//! for AT Protocol OAuth: DPoP proofs (RFC 9449), which bind tokens to a key so a stolen token
//! is useless without it, and client assertions (RFC 7523, `private_key_jwt`), with which a
//! Herald reachable over https proves it is the client its metadata document names.
//!
//! Followed: RFC 7515 (JWS compact form), RFC 7518 §3.4 (an ES256 signature is `R || S`, 64
//! bytes), RFC 7517/7518 §6.2 (EC public keys as JWKs), RFC 7638 (JWK thumbprints), RFC 9449
//! §4.2 (proof header and claims, `ath`) and RFC 7523 §3 (assertion claims).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A P-256 private key. `Debug` shows only the public key's thumbprint.
#[derive(Clone)]
pub struct Es256Key {
    signing: SigningKey,
}

impl std::fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Es256Key")
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

/// What a DPoP proof is for: one HTTP request.
#[derive(Debug, Clone, Copy)]
pub struct ProofFor<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The request's URL without query or fragment (RFC 9449 §4.2 `htu`).
    pub url: &'a str,
    /// The server's latest `DPoP-Nonce`, once it has sent one.
    pub nonce: Option<&'a str>,
    /// The access token the request carries, for requests to the resource server.
    pub access_token: Option<&'a str>,
}

impl Es256Key {
    /// A new random key.
    pub fn generate() -> Es256Key {
        Es256Key {
            signing: SigningKey::random(&mut rand::rngs::OsRng),
        }
    }

    /// The key whose private scalar is `secret` (base64url, as a JWK's `d`), as
    /// [`Es256Key::to_secret`] wrote it.
    pub fn from_secret(secret: &SecretString) -> Option<Es256Key> {
        let bytes = zeroize::Zeroizing::new(URL_SAFE_NO_PAD.decode(secret.expose_secret()).ok()?);
        SigningKey::from_slice(&bytes)
            .ok()
            .map(|signing| Es256Key { signing })
    }

    /// The key made from 32 bytes of key material (a key Herald derives from its master key),
    /// or `None` in the rare case the bytes are not a valid P-256 scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Es256Key> {
        SigningKey::from_slice(bytes)
            .ok()
            .map(|signing| Es256Key { signing })
    }

    /// The private scalar, base64url, for the vault.
    pub fn to_secret(&self) -> SecretString {
        let bytes = zeroize::Zeroizing::new(self.signing.to_bytes());
        URL_SAFE_NO_PAD.encode(bytes.as_slice()).into()
    }

    /// The public key as a JWK (`kty`, `crv`, `x`, `y`).
    pub fn public_jwk(&self) -> Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        let coordinate = |bytes: Option<&p256::FieldBytes>| {
            bytes.map_or_else(String::new, |bytes| URL_SAFE_NO_PAD.encode(bytes))
        };
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": coordinate(point.x()),
            "y": coordinate(point.y()),
        })
    }

    /// The RFC 7638 thumbprint of the public key: SHA-256 of its required members in
    /// lexicographic order, base64url. Used as the key's `kid`.
    pub fn thumbprint(&self) -> String {
        jwk_thumbprint(&self.public_jwk())
    }

    /// A DPoP proof for one request (RFC 9449 §4.2): the public key in the header, a fresh
    /// `jti`, and `ath` = base64url(SHA-256(access token)) when a token goes with it.
    pub fn dpop_proof(&self, proof: ProofFor<'_>, now: Timestamp) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.public_jwk() });
        let mut claims = json!({
            "jti": random_id(),
            "htm": proof.method,
            "htu": proof.url,
            "iat": now.as_second(),
        });
        if let Some(nonce) = proof.nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(token) = proof.access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        self.sign(&header, &claims)
    }

    /// A client assertion (RFC 7523 §3) proving Herald is `client_id` to the authorization
    /// server `audience` (its issuer), valid for one minute.
    pub fn client_assertion(&self, client_id: &str, audience: &str, now: Timestamp) -> String {
        let header = json!({ "alg": "ES256", "kid": self.thumbprint() });
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": random_id(),
            "iat": now.as_second(),
            "exp": now.as_second() + 60,
        });
        self.sign(&header, &claims)
    }

    /// The JWS compact form of `claims` under `header`.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// The RFC 7638 thumbprint of an EC public JWK.
pub fn jwk_thumbprint(jwk: &Value) -> String {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    // Required members only, in lexicographic order, no whitespace (RFC 7638 §3.2).
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        field("crv"),
        field("kty"),
        field("x"),
        field("y")
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// 16 random bytes, base64url: a `jti` nobody can guess or repeat.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks an ES256 JWS against the EC public JWK `jwk` and returns its header and claims.
/// The fakes use it to check what Herald signs, as a real server would.
#[cfg(any(test, feature = "fake"))]
pub fn verify(jws: &str, jwk: &Value) -> Option<(Value, Value)> {
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;

    let mut parts = jws.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let coordinate = |name: &str| -> Option<p256::FieldBytes> {
        let bytes = URL_SAFE_NO_PAD.decode(jwk.get(name)?.as_str()?).ok()?;
        (bytes.len() == 32).then(|| *p256::FieldBytes::from_slice(&bytes))
    };
    let point =
        p256::EncodedPoint::from_affine_coordinates(&coordinate("x")?, &coordinate("y")?, false);
    let key = VerifyingKey::from_encoded_point(&point).ok()?;
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    key.verify(format!("{header}.{claims}").as_bytes(), &signature)
        .ok()?;
    let decode = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    Some((decode(header)?, decode(claims)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).expect("time")
    }

    #[test]
    fn a_dpop_proof_carries_the_public_key_and_verifies_with_it() {
        let key = Es256Key::generate();
        let proof = key.dpop_proof(
            ProofFor {
                method: "POST",
                url: "https://pds.example/xrpc/com.atproto.repo.createRecord",
                nonce: Some("n-1"),
                access_token: Some("token"),
            },
            now(),
        );
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(proof.split('.').next().expect("header"))
                .expect("base64"),
        )
        .expect("JSON");
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        let (_, claims) = verify(&proof, &header["jwk"]).expect("the proof verifies");
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(claims["iat"], 1_800_000_000);
        // base64url(SHA-256("token")), worked out with `printf token | sha256sum`.
        assert_eq!(claims["ath"], "PEaenWxYddN6Q_NT1PiOYfz4EsZu7jRXRlpAsNpBU-A");
        assert!(
            verify(&proof, &Es256Key::generate().public_jwk()).is_none(),
            "another key does not verify it"
        );
        let mut tampered = proof.clone();
        tampered.insert(proof.find('.').expect("dot") + 2, 'x');
        assert!(verify(&tampered, &header["jwk"]).is_none());
    }

    #[test]
    fn each_proof_has_its_own_jti() {
        let key = Es256Key::generate();
        let request = ProofFor {
            method: "GET",
            url: "https://as.example/token",
            nonce: None,
            access_token: None,
        };
        let jti =
            |proof: &str| verify(proof, &key.public_jwk()).expect("verifies").1["jti"].clone();
        assert_ne!(
            jti(&key.dpop_proof(request, now())),
            jti(&key.dpop_proof(request, now()))
        );
    }

    #[test]
    fn a_key_survives_the_vault_and_debug_shows_no_private_part() {
        let key = Es256Key::generate();
        let secret = key.to_secret();
        let back = Es256Key::from_secret(&secret).expect("reads back");
        assert_eq!(back.public_jwk(), key.public_jwk());
        assert!(!format!("{key:?}").contains(secret.expose_secret()));
        assert!(Es256Key::from_secret(&SecretString::from("not base64!")).is_none());
        assert!(Es256Key::from_bytes(&[0u8; 32]).is_none(), "zero is no key");
    }

    #[test]
    fn the_thumbprint_follows_rfc_7638() {
        // RFC 7638 §3.1 works an RSA example; for EC keys the same rule over crv, kty, x, y.
        // This vector was worked out with Python's hashlib over the canonical string.
        let jwk =
            json!({ "kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB", "kid": "ignored" });
        assert_eq!(
            jwk_thumbprint(&jwk),
            URL_SAFE_NO_PAD.encode(Sha256::digest(
                br#"{"crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}"#
            ))
        );
    }

    #[test]
    fn a_client_assertion_names_herald_to_the_issuer_for_a_minute() {
        let key = Es256Key::generate();
        let assertion = key.client_assertion(
            "https://herald.example/oauth/bluesky/client-metadata.json",
            "https://bsky.social",
            now(),
        );
        let (header, claims) = verify(&assertion, &key.public_jwk()).expect("verifies");
        assert_eq!(header["kid"], key.thumbprint());
        assert_eq!(claims["iss"], claims["sub"]);
        assert_eq!(claims["aud"], "https://bsky.social");
        assert_eq!(claims["exp"], 1_800_000_060);
    }
}
