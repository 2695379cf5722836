//! First run: while nobody exists, create the organisation and its first owner, with a
//! password, an enrolled authenticator and recovery codes, then sign them in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::login::SignedIn;
use super::newcomer::{self, Joining};
use super::{devices, parse_error};
use crate::config::Config;
use crate::domain::audit::Actor;
use crate::domain::constant_time_eq;
use crate::domain::people::{DisplayName, Email, Role};
use crate::domain::throttle::wait_after;
use crate::keys::Keys;
use crate::services::audit::record;
use crate::services::{AppError, Services};
use crate::store::Store;

/// Everything first-run setup needs (step 4 of the setup flow).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "setup_code": "4k7qm-x2d9p-hw3nc-8rtvb",
    "organisation": "Sunny Café",
    "name": "Olive Owner",
    "email": "owner@sunnycafe.example",
    "password": "croissant tram lighthouse 42",
    "enrolment_token": "SFYBAAAAAcpGjVHAApPsM45u-QoOxYm8RInJHlN8…",
    "code": "492039"
}))]
pub struct SetupRequest {
    /// The one-time setup code Herald printed when it first started (`herald setup-code`
    /// prints it again); the setup link carries it as `?code=`.
    pub setup_code: String,
    /// The organisation's name: 1 to 100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub organisation: String,
    /// The first owner's name: 1 to 100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x1f\x7f-\x9f \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// The first owner's email address, the one given to `GET /api/v1/setup`.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// 12 to 128 characters, not weak (a score of 3 from `POST /api/v1/password-strength`) and
    /// not known from a data breach.
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
    /// From `GET /api/v1/setup`; valid for 30 minutes.
    pub enrolment_token: String,
    /// The current 6-digit code from the authenticator app the secret was added to.
    pub code: String,
}

/// A new member, signed in, with recovery codes to be shown once.
#[derive(Debug)]
pub struct Welcome {
    pub signed_in: SignedIn,
    pub recovery_codes: Vec<Zeroizing<String>>,
}

/// The one-time code that lets whoever runs Herald set it up, from any address: 100 random
/// bits in four groups of five letters and digits. Never in `Debug` output.
pub struct SetupCode(Zeroizing<String>);

/// Wrong setup codes an address may send in an hour before each further one doubles its wait.
/// With 100 bits, guessing is hopeless anyway; this keeps the attempts from costing anything.
const FREE_WRONG_CODES: i64 = 10;
const WRONG_CODE_WINDOW: SignedDuration = SignedDuration::from_secs(60 * 60);

/// Crockford's base32: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

impl SetupCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The setup page's address with the code in it, on `base` (such as `http://127.0.0.1:8080`).
    pub fn link(&self, base: &str) -> String {
        format!(
            "{}/setup?code={}",
            base.trim_end_matches('/'),
            self.as_str()
        )
    }

    /// What Herald prints while nobody has set it up: the link, and the code to type.
    pub fn announcement(&self, base: &str) -> String {
        format!(
            "Herald is not set up yet. To set it up, open this link (it holds the one-time setup code):\n\n    {}\n\nor type the setup code {} into the setup page. `herald setup-code` shows them again.",
            self.link(base),
            self.as_str()
        )
    }
}

/// Where people reach this Herald, for the setup link: `public_url`, or the address Herald
/// listens on (this machine's loopback address when it listens on every address).
pub fn base_url(config: &Config, listening: SocketAddr) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let mut address = listening;
    if address.ip().is_unspecified() {
        address.set_ip(match address.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    format!("http://{address}")
}

/// The setup code while Herald still needs setting up (made on first asking, then the same
/// until setup is done); `None` once it is set up. It is derived from a nonce the database keeps
/// with a key from the master key, so neither alone gives it away.
pub async fn code(
    store: &Store,
    keys: &Keys,
    now: Timestamp,
) -> Result<Option<SetupCode>, AppError> {
    if !needed(store).await? {
        return Ok(None);
    }
    let nonce = store.setup_code_nonce(&super::random_token(), now).await?;
    Ok(Some(derive(keys, &nonce)))
}

fn derive(keys: &Keys, nonce: &str) -> SetupCode {
    use hmac::{Hmac, Mac};
    let digest = <Hmac<sha2::Sha256> as Mac>::new_from_slice(keys.setup_code.as_slice())
        .map(|mut mac| {
            mac.update(b"herald setup code\0");
            mac.update(nonce.as_bytes());
            mac.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default();
    let mut code = Zeroizing::new(String::with_capacity(23));
    for index in 0..20 {
        if index > 0 && index % 5 == 0 {
            code.push('-');
        }
        // The 5 bits starting at bit 5 × index of the digest.
        let bit = index * 5;
        let pair = u16::from(digest.get(bit / 8).copied().unwrap_or(0)) << 8
            | u16::from(digest.get(bit / 8 + 1).copied().unwrap_or(0));
        let value = (pair >> (11 - bit % 8)) & 0x1f;
        code.push(char::from(ALPHABET[usize::from(value)]));
    }
    SetupCode(code)
}

/// The code as typed: case, spaces and dashes do not matter, and letters that look like digits
/// are read as those digits.
fn normalise(typed: &str) -> Zeroizing<String> {
    Zeroizing::new(
        typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| match c.to_ascii_lowercase() {
                'i' | 'l' => '1',
                'o' => '0',
                other => other,
            })
            .collect(),
    )
}

/// Checks a setup code sent from `ip`: refused while the address waits after too many wrong
/// codes; a wrong code is counted and audited (never what was typed).
pub async fn check_code(
    store: &Store,
    keys: &Keys,
    typed: &str,
    ip: IpAddr,
    now: Timestamp,
) -> Result<(), AppError> {
    let key = format!("setup-address:{ip}");
    if let Some((_, until)) = store.throttle(&key).await?
        && until > now
    {
        return Err(AppError::Throttled {
            retry_after_seconds: crate::domain::throttle::seconds_until(now, until),
        });
    }
    let expected = code(store, keys, now)
        .await?
        .ok_or(AppError::AlreadySetUp)?;
    let expected = normalise(expected.as_str());
    let typed = normalise(typed);
    if constant_time_eq(typed.as_bytes(), expected.as_bytes()) {
        return Ok(());
    }
    let work = store.write().await?;
    let store: &Store = &work;
    let failures = store
        .count_failure_in_window(&key, now, Some(WRONG_CODE_WINDOW))
        .await?;
    let until = now
        .saturating_add(wait_after(failures, FREE_WRONG_CODES))
        .unwrap_or(now);
    store.block_until(&key, until).await?;
    let reason = if typed.is_empty() {
        "no setup code"
    } else {
        "wrong setup code"
    };
    record(
        store,
        now,
        Actor::Anonymous,
        "setup.refused",
        None,
        Some(&ip.to_string()),
        serde_json::json!({ "reason": reason }),
    )
    .await?;
    work.commit().await?;
    let message = if typed.is_empty() {
        "enter the setup code: Herald printed it, in a setup link, when it started; `herald setup-code` on the server shows it again"
    } else {
        "this setup code is not right: use the setup link or code Herald printed when it started, or run `herald setup-code` on the server to see it again"
    };
    Err(AppError::Invalid {
        field: "setup_code",
        message: message.to_owned(),
    })
}

pub async fn needed(store: &Store) -> Result<bool, AppError> {
    Ok(store.user_count().await? == 0)
}

pub async fn run(
    services: &Services,
    request: &SetupRequest,
    ip: IpAddr,
    now: Timestamp,
) -> Result<Welcome, AppError> {
    let Services {
        store,
        keys,
        config,
        ..
    } = services;
    if !needed(store).await? {
        return Err(AppError::AlreadySetUp);
    }
    check_code(store, keys, &request.setup_code, ip, now).await?;
    let organisation = DisplayName::parse(&request.organisation, "organisation name")
        .map_err(parse_error("organisation"))?;
    let name = DisplayName::parse(&request.name, "your name").map_err(parse_error("name"))?;
    let email = Email::parse(&request.email).map_err(parse_error("email"))?;
    let joining = Joining {
        email: email.as_str(),
        name: name.as_str(),
        organisation: organisation.as_str(),
        role: Role::Owner,
        password: &request.password,
        enrolment_token: &request.enrolment_token,
        code: &request.code,
    };
    let prepared = newcomer::prepare(keys, config, &joining, now).await?;
    let work = store.write().await?;
    let store: &Store = &work;
    let id = store
        .create_organisation(organisation.as_str(), &prepared.user, now)
        .await
        .map_err(|error| match AppError::from(error) {
            AppError::Conflict(_) => AppError::AlreadySetUp,
            other => other,
        })?;
    let ip_text = ip.to_string();
    record(
        store,
        now,
        Actor::User(id),
        "setup.completed",
        Some(format!("user:{id}")),
        Some(&ip_text),
        serde_json::json!({ "organisation": organisation.as_str(), "email": email.as_str() }),
    )
    .await?;
    let mut welcome = newcomer::welcome(store, config, id, prepared, &ip_text, now).await?;
    welcome.signed_in.device_cookie = Some(devices::issue(keys, id, &devices::new_device(), now));
    work.commit().await?;
    Ok(welcome)
}

/// Passwords and codes are left out.
impl std::fmt::Debug for SetupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetupCode([REDACTED])")
    }
}

impl std::fmt::Debug for SetupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupRequest")
            .field("organisation", &self.organisation)
            .field("name", &self.name)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_codes_forgive_case_spaces_dashes_and_lookalike_letters() {
        assert_eq!(normalise(" AB1O0-il9z ").as_str(), "ab100119z");
    }

    #[test]
    fn the_setup_link_carries_the_code_on_the_address_people_use() {
        let code = SetupCode(Zeroizing::new("abcde-fghjk-mnpqr-stvwx".to_owned()));
        assert_eq!(
            code.link("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/setup?code=abcde-fghjk-mnpqr-stvwx"
        );
        let mut config = Config::default();
        let everywhere: SocketAddr = "0.0.0.0:8080".parse().expect("address");
        assert_eq!(base_url(&config, everywhere), "http://127.0.0.1:8080");
        config.public_url = Some("https://herald.example/".to_owned());
        assert_eq!(base_url(&config, everywhere), "https://herald.example");
    }
}
