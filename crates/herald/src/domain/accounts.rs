//! Social accounts: which network, which handle, how the account looks in the composer, and
//! the per-account access levels. Each value is parsed once, here.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The networks Herald publishes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    X,
    Linkedin,
    Facebook,
    Instagram,
    Threads,
    Bluesky,
    Mastodon,
}

/// What a member may do with one account. The gatekeeper is not a grant: it is the account's
/// `gatekeeper_id`, exactly one per account.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum AccountLevel {
    Viewer,
    Contributor,
    Publisher,
    Gatekeeper,
}

/// What the credential vault keeps for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretField {
    LoginUsername,
    LoginPassword,
    /// The network's own 2FA (TOTP) seed, in base32.
    TotpSeed,
    RecoveryCodes,
    /// Used by the server to publish; never revealed to anyone.
    OauthTokens,
    Notes,
}

impl SecretField {
    pub const ALL: [SecretField; 6] = [
        SecretField::LoginUsername,
        SecretField::LoginPassword,
        SecretField::TotpSeed,
        SecretField::RecoveryCodes,
        SecretField::OauthTokens,
        SecretField::Notes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretField::LoginUsername => "login_username",
            SecretField::LoginPassword => "login_password",
            SecretField::TotpSeed => "totp_seed",
            SecretField::RecoveryCodes => "recovery_codes",
            SecretField::OauthTokens => "oauth_tokens",
            SecretField::Notes => "notes",
        }
    }

    pub fn parse(text: &str) -> Result<SecretField, AccountError> {
        SecretField::ALL
            .into_iter()
            .find(|field| field.as_str() == text)
            .ok_or_else(|| AccountError::UnknownField(text.to_owned()))
    }

    /// Whether revealing it needs the gatekeeper to enter their own second factor again.
    pub fn needs_second_factor(self) -> bool {
        matches!(
            self,
            SecretField::LoginPassword | SecretField::TotpSeed | SecretField::RecoveryCodes
        )
    }
}

/// An account's handle as the network writes it, e.g. `@sunnycafe` on X or
/// `@sunny@mastodon.social` on Mastodon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(String);

/// A colour for the account's avatar in the composer: `#rrggbb`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarColour(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error(
        "unknown network {0:?}; use x, linkedin, facebook, instagram, threads, bluesky or mastodon"
    )]
    UnknownNetwork(String),
    #[error("{0}")]
    BadHandle(String),
    #[error("the avatar colour must look like #1f5f5b")]
    BadColour,
    #[error("unknown access level {0:?}; use publisher, contributor or viewer")]
    UnknownLevel(String),
    #[error(
        "unknown credential {0:?}; use login_username, login_password, totp_seed, recovery_codes or notes"
    )]
    UnknownField(String),
}

impl Network {
    pub const ALL: [Network; 7] = [
        Network::X,
        Network::Linkedin,
        Network::Facebook,
        Network::Instagram,
        Network::Threads,
        Network::Bluesky,
        Network::Mastodon,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::X => "x",
            Network::Linkedin => "linkedin",
            Network::Facebook => "facebook",
            Network::Instagram => "instagram",
            Network::Threads => "threads",
            Network::Bluesky => "bluesky",
            Network::Mastodon => "mastodon",
        }
    }

    pub fn parse(text: &str) -> Result<Network, AccountError> {
        Network::ALL
            .into_iter()
            .find(|network| network.as_str() == text)
            .ok_or_else(|| AccountError::UnknownNetwork(text.to_owned()))
    }

    /// The name people know the network by.
    pub fn label(self) -> &'static str {
        match self {
            Network::X => "X",
            Network::Linkedin => "LinkedIn",
            Network::Facebook => "Facebook Page",
            Network::Instagram => "Instagram",
            Network::Threads => "Threads",
            Network::Bluesky => "Bluesky",
            Network::Mastodon => "Mastodon",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl AccountLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountLevel::Viewer => "viewer",
            AccountLevel::Contributor => "contributor",
            AccountLevel::Publisher => "publisher",
            AccountLevel::Gatekeeper => "gatekeeper",
        }
    }

    /// A level that can be granted (not gatekeeper, which is named, not granted).
    pub fn parse_grant(text: &str) -> Result<AccountLevel, AccountError> {
        match text {
            "publisher" => Ok(AccountLevel::Publisher),
            "contributor" => Ok(AccountLevel::Contributor),
            "viewer" => Ok(AccountLevel::Viewer),
            other => Err(AccountError::UnknownLevel(other.to_owned())),
        }
    }
}

impl fmt::Display for AccountLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Handle {
    /// Checks a handle against the network's own rules for usernames.
    pub fn parse(network: Network, text: &str) -> Result<Handle, AccountError> {
        let text = text.trim();
        let bad =
            |rule: &str| AccountError::BadHandle(format!("a {} handle {rule}", network.label()));
        let name_chars = |name: &str, extra: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
        };
        let handle = match network {
            Network::X => {
                let name = text.trim_start_matches('@');
                if name.len() > 15 || !name_chars(name, "_") {
                    return Err(bad(
                        "is 1 to 15 letters, digits or underscores, like @sunnycafe",
                    ));
                }
                format!("@{name}")
            }
            Network::Instagram | Network::Threads => {
                let name = text.trim_start_matches('@');
                if name.len() > 30 || !name_chars(name, "._") {
                    return Err(bad("is 1 to 30 letters, digits, dots or underscores"));
                }
                format!("@{}", name.to_lowercase())
            }
            Network::Bluesky => {
                let name = text.trim_start_matches('@').to_lowercase();
                let labels_ok = name.split('.').all(|label| name_chars(label, "-"));
                if name.len() > 253 || !name.contains('.') || !labels_ok {
                    return Err(bad("is a domain name, like sunnycafe.bsky.social"));
                }
                format!("@{name}")
            }
            Network::Mastodon => {
                let parts: Vec<&str> = text.trim_start_matches('@').split('@').collect();
                let [user, instance] = parts[..] else {
                    return Err(bad(
                        "names the user and the server, like @sunnycafe@mastodon.social",
                    ));
                };
                // Mastodon caps local user names at 30 characters; a server is a domain name.
                if user.len() > 30 || instance.len() > 253 {
                    return Err(bad(
                        "has a user name of at most 30 characters and a server name of at most 253",
                    ));
                }
                if !name_chars(user, "_")
                    || !instance.contains('.')
                    || !name_chars(&instance.replace('.', ""), "-")
                {
                    return Err(bad(
                        "names the user and the server, like @sunnycafe@mastodon.social",
                    ));
                }
                format!("@{user}@{}", instance.to_lowercase())
            }
            Network::Linkedin | Network::Facebook => {
                if text.len() > 100 || !name_chars(text, "-._") {
                    return Err(bad(
                        "is the page's name in its web address, like sunny-cafe",
                    ));
                }
                text.to_owned()
            }
        };
        Ok(Handle(handle))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AvatarColour {
    pub fn parse(text: &str) -> Result<AvatarColour, AccountError> {
        let text = text.trim().to_lowercase();
        let hex = text.strip_prefix('#').ok_or(AccountError::BadColour)?;
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AccountError::BadColour);
        }
        Ok(AvatarColour(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_follow_each_networks_rules() {
        assert_eq!(
            Handle::parse(Network::X, "sunny_cafe")
                .expect("valid")
                .as_str(),
            "@sunny_cafe"
        );
        assert!(Handle::parse(Network::X, "@far_too_long_for_x_handles").is_err());
        assert!(Handle::parse(Network::X, "@sunny cafe").is_err());
        assert_eq!(
            Handle::parse(Network::Bluesky, "Sunny.bsky.social")
                .expect("valid")
                .as_str(),
            "@sunny.bsky.social"
        );
        assert!(Handle::parse(Network::Bluesky, "sunny").is_err());
        assert_eq!(
            Handle::parse(Network::Mastodon, "@sunny@Mastodon.Social")
                .expect("valid")
                .as_str(),
            "@sunny@mastodon.social"
        );
        assert!(Handle::parse(Network::Mastodon, "@sunny").is_err());
        let long_user = format!("@{}@mastodon.social", "a".repeat(31));
        assert!(Handle::parse(Network::Mastodon, &long_user).is_err());
        let long_server = format!("@sunny@{}.social", "a".repeat(500_000));
        assert!(Handle::parse(Network::Mastodon, &long_server).is_err());
        assert!(Handle::parse(Network::Mastodon, &format!("@{}@m.social", "a".repeat(30))).is_ok());
        assert_eq!(
            Handle::parse(Network::Instagram, "Sunny.Cafe")
                .expect("valid")
                .as_str(),
            "@sunny.cafe"
        );
        assert_eq!(
            Handle::parse(Network::Linkedin, "sunny-cafe")
                .expect("valid")
                .as_str(),
            "sunny-cafe"
        );
        assert!(Handle::parse(Network::Facebook, "sunny/cafe").is_err());
    }

    #[test]
    fn networks_and_levels_round_trip_and_unknown_ones_are_named() {
        for network in Network::ALL {
            assert_eq!(Network::parse(network.as_str()), Ok(network));
        }
        assert_eq!(
            Network::parse("myspace"),
            Err(AccountError::UnknownNetwork("myspace".to_owned()))
        );
        assert_eq!(
            AccountLevel::parse_grant("publisher"),
            Ok(AccountLevel::Publisher)
        );
        assert!(
            AccountLevel::parse_grant("gatekeeper").is_err(),
            "the gatekeeper is named, not granted"
        );
        assert!(
            AccountLevel::Gatekeeper > AccountLevel::Publisher
                && AccountLevel::Contributor > AccountLevel::Viewer
        );
    }

    #[test]
    fn avatar_colours_are_hex_rgb() {
        assert_eq!(
            AvatarColour::parse("#1F5F5B").expect("valid").as_str(),
            "#1f5f5b"
        );
        for bad in ["1f5f5b", "#1f5f5", "#1f5f5bz", "red"] {
            assert_eq!(
                AvatarColour::parse(bad),
                Err(AccountError::BadColour),
                "{bad}"
            );
        }
    }
}
