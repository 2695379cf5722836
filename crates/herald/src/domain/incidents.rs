//! The plan for the day an account is hacked, as pure rules: the lockdown's steps, each
//! network's recovery checklist with its official help pages, what a step's outcome may be,
//! and the holding statements' placeholders.

use super::accounts::Network;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not yet done (a recovery step nobody ticked).
    Pending,
    Done,
    /// Tried and failed; the detail says why. Retried on request.
    Failed,
    /// The network has no way for Herald to do it; the detail says what to do by hand.
    NotPossible,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            Outcome::NotPossible => "not_possible",
        }
    }
}

/// Whether Herald can delete a post on `network` through its API: every network but
/// Instagram, whose API publishes but cannot delete (Threads can, with `threads_delete`).
pub fn deletes_posts(network: Network) -> bool {
    !matches!(network, Network::Instagram)
}

/// The lockdown's steps, in the order they run.
pub const LOCKDOWN_STEPS: [(&str, &str); 6] = [
    ("pause_queue", "Pause the account's queue"),
    ("cancel_approvals", "Cancel the posts waiting for approval"),
    (
        "revoke_tokens",
        "Revoke Herald's tokens at the network and drop them from the vault",
    ),
    ("rotate_credentials", "Mark every credential \"rotate now\""),
    ("end_sessions", "End the sessions of the members named"),
    ("notify", "Tell everyone with access"),
];

/// One item of a recovery checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryStep {
    pub key: &'static str,
    pub label: &'static str,
    /// What to do, in the network's words where it has them.
    pub how: String,
    /// The network's own page for it, if it has one.
    pub link: Option<&'static str>,
    /// Herald can check it itself (a new password stored, 2FA recorded, the connection works);
    /// it cannot be ticked until Herald sees it.
    pub verified_by_herald: bool,
}

/// The network's official page for a hacked account (as of December 2026).
pub fn help_page(network: Network) -> &'static str {
    match network {
        Network::X => "https://help.x.com/en/safety-and-security/x-account-hacked",
        Network::Facebook => "https://www.facebook.com/hacked",
        Network::Instagram | Network::Threads => "https://www.instagram.com/hacked/",
        Network::Linkedin => "https://www.linkedin.com/help/linkedin/ask/TS-RHA",
        Network::Bluesky => "https://bsky.social/about/support",
        // Each instance has its own admins; the instance's about page names them.
        Network::Mastodon => "/about",
    }
}

/// The recovery checklist for an account on `network`.
pub fn recovery_steps(network: Network) -> Vec<RecoveryStep> {
    let label = network.label();
    let (sessions_how, sessions_link) = match network {
        Network::X => (
            "Settings → Security and account access → Apps and sessions: log out every session and revoke every app you do not know",
            Some("https://x.com/settings/sessions"),
        ),
        Network::Facebook | Network::Instagram | Network::Threads => (
            "Meta Accounts Center → Password and security → Where you're logged in: log out of every device you do not know; remove unknown apps under Apps and websites",
            Some("https://accountscenter.facebook.com/password_and_security"),
        ),
        Network::Linkedin => (
            "Settings → Sign in & security → Where you're signed in: sign out of every session; Data privacy → Permitted services: remove unknown apps",
            Some("https://www.linkedin.com/mypreferences/d/sessions"),
        ),
        Network::Bluesky => (
            "Settings → Privacy and security → App passwords: delete every app password you do not know (and Herald's, which the lockdown could not)",
            Some("https://bsky.app/settings/app-passwords"),
        ),
        Network::Mastodon => (
            "Preferences → Account → Authorized apps, and Sessions on the same page: revoke everything you do not know",
            None,
        ),
    };
    vec![
        RecoveryStep {
            key: "regain_access",
            label: "Get back into the account",
            how: format!(
                "If you cannot sign in, follow {label}'s own recovery form (the link); never use a \"recovery service\" that contacts you"
            ),
            link: Some(help_page(network)),
            verified_by_herald: false,
        },
        RecoveryStep {
            key: "change_password",
            label: "Change the password",
            how: format!(
                "Suggest a new password on the account's page (Herald's generator follows {label}'s rules), set it on {label}, then store it in Herald"
            ),
            link: None,
            verified_by_herald: true,
        },
        RecoveryStep {
            key: "reenrol_2fa",
            label: "Set up two-step verification again",
            how: format!(
                "Turn {label}'s two-step verification off and on again with a new authenticator seed; store the seed and the new recovery codes in Herald"
            ),
            link: None,
            verified_by_herald: true,
        },
        RecoveryStep {
            key: "remove_sessions_apps",
            label: "Remove unknown sessions and connected apps",
            how: sessions_how.to_owned(),
            link: sessions_link,
            verified_by_herald: false,
        },
        RecoveryStep {
            key: "check_recovery_contacts",
            label: "Check the recovery e-mail and phone",
            how: format!(
                "Make sure {label} has only the company's own e-mail address and phone number; an attacker adds theirs to come back"
            ),
            link: None,
            verified_by_herald: false,
        },
        RecoveryStep {
            key: "delete_attacker_posts",
            label: "Delete the posts the attacker made",
            how: "The incident's evidence lists every post Herald did not publish; delete each on the network (or with Herald where it offers to)".to_owned(),
            link: None,
            verified_by_herald: false,
        },
        RecoveryStep {
            key: "reconnect_herald",
            label: "Connect Herald again",
            how: "On the account's page, connect the account again with a fresh grant; Herald checks that the connection works".to_owned(),
            link: None,
            verified_by_herald: true,
        },
    ]
}

/// A holding statement or all-clear with its placeholders filled: `{account}` is the
/// account's name, `{network}` its network.
pub fn fill_template(template: &str, account: &str, network: Network) -> String {
    template
        .replace("{account}", account)
        .replace("{network}", network.label())
}

/// Longest note, lessons or template text, in characters.
pub const LONGEST_TEXT: usize = 5000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_has_a_checklist_with_its_official_page_first() {
        for network in Network::ALL {
            let steps = recovery_steps(network);
            assert_eq!(steps.len(), 7, "{network:?}");
            assert_eq!(steps[0].link, Some(help_page(network)));
            let keys: Vec<_> = steps.iter().map(|step| step.key).collect();
            assert!(keys.contains(&"change_password") && keys.contains(&"reconnect_herald"));
        }
    }

    #[test]
    fn a_template_names_the_account_and_its_network() {
        assert_eq!(
            fill_template(
                "Our {account} account on {network} was hacked",
                "Café Lune",
                Network::X
            ),
            "Our Café Lune account on X was hacked"
        );
    }
}
