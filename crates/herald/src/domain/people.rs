//! People: roles, and the values a person types (email, name, organisation name), each parsed
//! once into a type that can only hold a valid value.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A member's role in the organisation.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

/// An email address, trimmed and lowercased, so one person has one address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// A person's or organisation's display name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("enter an email address like name@example.com")]
    BadEmail,
    #[error("{field} cannot be empty")]
    EmptyName { field: &'static str },
    #[error("{field} is too long (at most 100 characters)")]
    LongName { field: &'static str },
    #[error("{field} cannot contain control characters")]
    ControlCharacters { field: &'static str },
    #[error("unknown role {0:?}; use owner, admin or member")]
    BadRole(String),
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(text: &str) -> Result<Role, ParseError> {
        match text {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(ParseError::BadRole(other.to_owned())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Email {
    /// Accepts `local@domain.tld` with no spaces; deliverability is checked by sending mail,
    /// not by a regular expression.
    pub fn parse(text: &str) -> Result<Email, ParseError> {
        let email = text.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if !valid {
            return Err(ParseError::BadEmail);
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl DisplayName {
    pub fn parse(text: &str, field: &'static str) -> Result<DisplayName, ParseError> {
        let name = text.trim();
        if name.is_empty() {
            return Err(ParseError::EmptyName { field });
        }
        // Counted as sent, so the API's documented maximum of 100 holds before trimming too.
        if text.chars().count() > 100 {
            return Err(ParseError::LongName { field });
        }
        if name.chars().any(char::is_control) {
            return Err(ParseError::ControlCharacters { field });
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A browser's user agent in people's words ("Firefox on Windows"), for the new-device alert
/// and the list of a member's devices. Only the family and the system: never the full string,
/// which can be long and is chosen by whoever signs in.
pub fn describe_browser(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or_default();
    // Order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux".
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("a browser on {system}"),
        (None, None) => "an unknown browser or program".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Owner@Sunny.Example ")
                .expect("valid")
                .as_str(),
            "owner@sunny.example"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "owner",
            "owner@",
            "@sunny.example",
            "owner@sunny",
            "own er@sunny.example",
            "a@b@c.example",
            "owner@.example",
            "owner@sunny.example.",
        ] {
            assert_eq!(Email::parse(bad), Err(ParseError::BadEmail), "{bad:?}");
        }
    }

    #[test]
    fn names_must_be_present_short_and_printable() {
        assert_eq!(
            DisplayName::parse(" Sunny Café ", "name")
                .expect("valid")
                .as_str(),
            "Sunny Café"
        );
        assert_eq!(
            DisplayName::parse("   ", "name"),
            Err(ParseError::EmptyName { field: "name" })
        );
        assert_eq!(
            DisplayName::parse(&"x".repeat(101), "name"),
            Err(ParseError::LongName { field: "name" })
        );
        assert_eq!(
            DisplayName::parse(&format!(" {}", "x".repeat(100)), "name"),
            Err(ParseError::LongName { field: "name" })
        );
        assert_eq!(
            DisplayName::parse("a\u{7}b", "name"),
            Err(ParseError::ControlCharacters { field: "name" })
        );
    }

    #[test]
    fn roles_round_trip_and_unknown_ones_are_named() {
        for role in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert_eq!(
            Role::parse("root"),
            Err(ParseError::BadRole("root".to_owned()))
        );
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
    }

    #[test]
    fn a_browser_reads_as_its_family_and_system() {
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(describe_browser(Some(firefox)), "Firefox on Windows");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0";
        assert_eq!(describe_browser(Some(edge)), "Edge on Windows");
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";
        assert_eq!(describe_browser(Some(android)), "Chrome on Android");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_browser(Some(iphone)), "Safari on iPhone");
        assert_eq!(
            describe_browser(Some("curl/8.5.0")),
            "an unknown browser or program"
        );
        assert_eq!(describe_browser(None), "an unknown browser or program");
    }
}
