//! What a notification is about, and how a member wants each kind mailed. Security alerts are
//! always mailed at once: a member cannot turn off being told their company may be hacked.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a notification is about. Stored as [`NotificationKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A post went out, failed, or was held.
    PostOutcome,
    /// A network no longer accepts Herald's access: reconnect the account.
    Reconnect,
    /// Who may use an account changed, or who keeps it.
    Access,
    /// The social media policy changed: read and accept it.
    Policy,
    /// A scheduled backup failed, or something else about running Herald.
    Operations,
    /// An account was locked down (security alert).
    Lockdown,
    /// An account may be in someone else's hands (security alert).
    PossibleCompromise,
    /// A password must be changed now (security alert).
    RotateNow,
    /// A member's two-step sign-in was reset (security alert).
    SecondFactorReset,
    /// A member was signed out after wrong codes (security alert).
    SuspiciousSignIn,
    /// A member signed in from a browser they had not used before (security alert).
    NewDevice,
    /// Anything else.
    General,
}

/// How a member wants one kind mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailMode {
    /// One e-mail per notification, at once.
    Now,
    /// Gathered into one e-mail a day.
    Digest,
    /// Not mailed (still shown in Herald).
    None,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 12] = [
        NotificationKind::PostOutcome,
        NotificationKind::Reconnect,
        NotificationKind::Access,
        NotificationKind::Policy,
        NotificationKind::Operations,
        NotificationKind::General,
        NotificationKind::Lockdown,
        NotificationKind::PossibleCompromise,
        NotificationKind::RotateNow,
        NotificationKind::SecondFactorReset,
        NotificationKind::SuspiciousSignIn,
        NotificationKind::NewDevice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::PostOutcome => "post_outcome",
            NotificationKind::Reconnect => "reconnect",
            NotificationKind::Access => "access",
            NotificationKind::Policy => "policy",
            NotificationKind::Operations => "operations",
            NotificationKind::Lockdown => "lockdown",
            NotificationKind::PossibleCompromise => "possible_compromise",
            NotificationKind::RotateNow => "rotate_now",
            NotificationKind::SecondFactorReset => "second_factor_reset",
            NotificationKind::SuspiciousSignIn => "suspicious_sign_in",
            NotificationKind::NewDevice => "new_device",
            NotificationKind::General => "general",
        }
    }

    /// Unknown text (a kind from a newer Herald) reads as [`NotificationKind::General`].
    pub fn parse(text: &str) -> NotificationKind {
        NotificationKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .unwrap_or(NotificationKind::General)
    }

    /// In people's words, for the preferences page.
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::PostOutcome => "A post of yours went out, failed or was held",
            NotificationKind::Reconnect => "An account must be connected again",
            NotificationKind::Access => "Who may use an account changed",
            NotificationKind::Policy => "The social media policy changed",
            NotificationKind::Operations => "Running Herald (a backup failed)",
            NotificationKind::Lockdown => "An account was locked down",
            NotificationKind::PossibleCompromise => "An account may have been hacked",
            NotificationKind::RotateNow => "A password must be changed now",
            NotificationKind::SecondFactorReset => "Two-step sign-in was reset",
            NotificationKind::SuspiciousSignIn => "Someone was signed out after wrong codes",
            NotificationKind::NewDevice => "A new sign-in from a browser you had not used",
            NotificationKind::General => "Anything else",
        }
    }

    /// Security alerts: always mailed at once, whatever the member chose.
    pub fn is_security_alert(self) -> bool {
        matches!(
            self,
            NotificationKind::Lockdown
                | NotificationKind::PossibleCompromise
                | NotificationKind::RotateNow
                | NotificationKind::SecondFactorReset
                | NotificationKind::SuspiciousSignIn
                | NotificationKind::NewDevice
        )
    }

    /// How this kind is mailed when the member chose `chosen` (or nothing: at once).
    pub fn mail_mode(self, chosen: Option<MailMode>) -> MailMode {
        if self.is_security_alert() {
            return MailMode::Now;
        }
        chosen.unwrap_or(MailMode::Now)
    }
}

/// A kind a member may choose how to receive: every kind but the security alerts, which are
/// always mailed at once. The API's choices name only these, so the contract says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChoosableKind {
    PostOutcome,
    Reconnect,
    Access,
    Policy,
    Operations,
    General,
}

impl From<ChoosableKind> for NotificationKind {
    fn from(kind: ChoosableKind) -> NotificationKind {
        match kind {
            ChoosableKind::PostOutcome => NotificationKind::PostOutcome,
            ChoosableKind::Reconnect => NotificationKind::Reconnect,
            ChoosableKind::Access => NotificationKind::Access,
            ChoosableKind::Policy => NotificationKind::Policy,
            ChoosableKind::Operations => NotificationKind::Operations,
            ChoosableKind::General => NotificationKind::General,
        }
    }
}

impl MailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MailMode::Now => "now",
            MailMode::Digest => "digest",
            MailMode::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<MailMode> {
        [MailMode::Now, MailMode::Digest, MailMode::None]
            .into_iter()
            .find(|mode| mode.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_alerts_are_mailed_at_once_whatever_was_chosen() {
        for kind in NotificationKind::ALL {
            let mode = kind.mail_mode(Some(MailMode::None));
            if kind.is_security_alert() {
                assert_eq!(mode, MailMode::Now, "{kind:?}");
            } else {
                assert_eq!(mode, MailMode::None, "{kind:?}");
            }
        }
        assert_eq!(NotificationKind::Policy.mail_mode(None), MailMode::Now);
    }

    #[test]
    fn the_choosable_kinds_are_exactly_those_that_are_not_security_alerts() {
        let choosable = [
            ChoosableKind::PostOutcome,
            ChoosableKind::Reconnect,
            ChoosableKind::Access,
            ChoosableKind::Policy,
            ChoosableKind::Operations,
            ChoosableKind::General,
        ]
        .map(NotificationKind::from);
        let expected: Vec<NotificationKind> = NotificationKind::ALL
            .into_iter()
            .filter(|kind| !kind.is_security_alert())
            .collect();
        assert_eq!(choosable.len(), expected.len());
        for kind in expected {
            assert!(choosable.contains(&kind), "{kind:?} cannot be chosen");
        }
        // Each is named on the wire as it is stored.
        for kind in choosable {
            let parsed: ChoosableKind =
                serde_json::from_value(serde_json::json!(kind.as_str())).expect("parses");
            assert_eq!(NotificationKind::from(parsed), kind);
        }
    }

    #[test]
    fn every_kind_reads_back_from_its_stored_name() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), kind);
        }
        assert_eq!(
            NotificationKind::parse("from_the_future"),
            NotificationKind::General
        );
        assert_eq!(MailMode::parse("digest"), Some(MailMode::Digest));
        assert_eq!(MailMode::parse("weekly"), None);
    }
}
