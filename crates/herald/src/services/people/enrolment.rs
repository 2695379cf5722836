//! Enrolling an authenticator app without keeping half-made accounts: the server hands out a
//! new TOTP secret together with an enrolment token (the secret sealed by the vault, bound to
//! the email address and valid for 30 minutes). The form sends the token back with the first
//! code; only then is the account created, with the secret.

use base64::Engine;
use jiff::{SignedDuration, Timestamp};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppError;
use crate::domain::totp::{self, TotpSecret};
use crate::keys::Keys;

const VALID_FOR: SignedDuration = SignedDuration::from_mins(30);

/// What a person needs to add Herald to their authenticator app.
#[derive(Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauth_uri": "otpauth://totp/Herald:owner%40sunnycafe.example?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Herald",
    "qr_svg": "<?xml version=\"1.0\" standalone=\"yes\"?><svg xmlns=\"http://www.w3.org/2000/svg\" …</svg>",
    "enrolment_token": "SFYBAAAAAcpGjVHAApPsM45u-QoOxYm8RInJHlN8…"
}))]
pub struct Enrolment {
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    /// The `otpauth://` URI that the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an SVG image.
    pub qr_svg: String,
    /// Send this back, unchanged, with the first code; valid for 30 minutes.
    pub enrolment_token: String,
}

pub fn start(keys: &Keys, issuer: &str, email: &str, now: Timestamp) -> Enrolment {
    start_for(keys, issuer, email, JOINING, now)
}

/// A new authenticator for a member who has one (re-enrolment, or after an owner's reset):
/// its token is sealed for that purpose, so a token from a joining step cannot be used here
/// and the other way round.
pub fn start_replacement(keys: &Keys, issuer: &str, email: &str, now: Timestamp) -> Enrolment {
    start_for(keys, issuer, email, REPLACING, now)
}

/// Opens a replacement token for `email` and checks the first code of the new authenticator.
///
/// Returns the new secret sealed for storage and the step its code used, as both callers (a
/// member's own new authenticator, and enrolment after a reset) store them.
pub fn finish_replacement(
    keys: &Keys,
    email: &str,
    token: &str,
    code: &str,
    now: Timestamp,
) -> Result<(Vec<u8>, i64), AppError> {
    let (secret, step) = finish_for(keys, email, REPLACING, token, code, now)?;
    let sealed = super::newcomer::seal_secret(keys, email, &secret);
    Ok((sealed, i64::try_from(step).unwrap_or(i64::MAX)))
}

/// The vault fields that tell a joining enrolment's token from a replacement's.
const JOINING: &str = "totp_enrolment";
const REPLACING: &str = "totp_replacement";

fn start_for(keys: &Keys, issuer: &str, email: &str, field: &str, now: Timestamp) -> Enrolment {
    let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
    let expires = now
        .saturating_add(VALID_FOR)
        .unwrap_or(now)
        .as_millisecond();
    let mut sealed_input = expires.to_be_bytes().to_vec();
    sealed_input.extend_from_slice(secret.as_bytes());
    let sealed = vault::seal(
        keys.vault.current(),
        &context(email, field),
        &sealed_input,
        &mut rand::rngs::OsRng,
    );
    zeroize::Zeroize::zeroize(&mut sealed_input);
    let otpauth_uri = secret.otpauth_uri(issuer, email);
    Enrolment {
        secret: secret.base32(),
        qr_svg: qr_svg(&otpauth_uri),
        otpauth_uri,
        enrolment_token: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed),
    }
}

/// Rebuilds the enrolment behind a still-valid token (same secret, same token), so that a form
/// sent back with a mistake does not make the person scan a new code.
pub fn resume(
    keys: &Keys,
    issuer: &str,
    email: &str,
    token: &str,
    now: Timestamp,
) -> Option<Enrolment> {
    resume_for(keys, JOINING, issuer, email, token, now)
}

/// [`resume`] for a replacement authenticator.
pub fn resume_replacement(
    keys: &Keys,
    issuer: &str,
    email: &str,
    token: &str,
    now: Timestamp,
) -> Option<Enrolment> {
    resume_for(keys, REPLACING, issuer, email, token, now)
}

fn resume_for(
    keys: &Keys,
    field: &str,
    issuer: &str,
    email: &str,
    token: &str,
    now: Timestamp,
) -> Option<Enrolment> {
    let secret = open_token(keys, email, field, token, now).ok()?;
    let otpauth_uri = secret.otpauth_uri(issuer, email);
    Some(Enrolment {
        secret: secret.base32(),
        qr_svg: qr_svg(&otpauth_uri),
        otpauth_uri,
        enrolment_token: token.trim().to_owned(),
    })
}

/// Opens an enrolment token for `email` and checks the first code against its secret.
/// Returns the secret and the step of the code, which counts as used.
pub fn finish(
    keys: &Keys,
    email: &str,
    token: &str,
    code: &str,
    now: Timestamp,
) -> Result<(TotpSecret, u64), AppError> {
    finish_for(keys, email, JOINING, token, code, now)
}

fn finish_for(
    keys: &Keys,
    email: &str,
    field: &str,
    token: &str,
    code: &str,
    now: Timestamp,
) -> Result<(TotpSecret, u64), AppError> {
    let secret = open_token(keys, email, field, token, now)?;
    let step = totp::verify(&secret, code, now, 0).map_err(|error| AppError::Invalid {
        field: "code",
        message: error.to_string(),
    })?;
    Ok((secret, step))
}

fn open_token(
    keys: &Keys,
    email: &str,
    field: &str,
    token: &str,
    now: Timestamp,
) -> Result<TotpSecret, AppError> {
    let expired = || {
        AppError::Invalid {
        field: "enrolment_token",
        message: "the authenticator setup has expired or does not belong to this email address; scan the new QR code".to_owned(),
    }
    };
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| expired())?;
    let opened =
        vault::open(&keys.vault, &context(email, field), &sealed).map_err(|_| expired())?;
    let (expires, secret) = opened.expose().split_at_checked(8).ok_or_else(expired)?;
    let expires = i64::from_be_bytes(expires.try_into().map_err(|_| expired())?);
    if now.as_millisecond() > expires {
        return Err(expired());
    }
    TotpSecret::from_bytes(secret.to_vec()).map_err(|_| expired())
}

/// The vault context of a member's stored TOTP secret.
pub fn stored_secret_context(email: &str) -> vault::Context<'_> {
    vault::Context {
        organisation: "herald",
        record: email,
        field: "totp_secret",
    }
}

fn context<'a>(email: &'a str, field: &'a str) -> vault::Context<'a> {
    vault::Context {
        organisation: "herald",
        record: email,
        field,
    }
}

fn qr_svg(uri: &str) -> String {
    match QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // A URI too long for a QR code cannot happen with our short secrets and names; the
        // secret is still shown as text for typing in.
        Err(_) => String::new(),
    }
}

debug_without_secrets!(Enrolment);
