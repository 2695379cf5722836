//! Audit entries in people's words ("Olive Owner invited sam@sunny.example"): names instead
//! of ids. The audit log page and an incident's timeline both show entries this way.

use crate::domain::audit::AuditEntry;
use crate::store::{AccountRecord, UserRecord};

/// Who and what the log's ids name.
#[derive(Debug, Clone, Copy)]
pub struct Names<'a> {
    pub users: &'a [UserRecord],
    pub accounts: &'a [AccountRecord],
}

impl Names<'_> {
    /// `user:3` → the member's name; `account:2` → the account's name; `post:7` → "post 7";
    /// `email:…` → the address; anything else as written.
    pub fn name(&self, reference: &str) -> String {
        let (kind, id) = reference.split_once(':').unwrap_or((reference, ""));
        let number = id.parse::<i64>().ok();
        match (kind, number) {
            ("user", Some(id)) => self
                .users
                .iter()
                .find(|user| user.id.get() == id)
                .map_or_else(|| format!("member {id}"), |user| user.name.clone()),
            ("account", Some(id)) => self
                .accounts
                .iter()
                .find(|account| account.id.get() == id)
                .map_or_else(
                    || format!("account {id}"),
                    |account| format!("{} ({})", account.display_name, account.network.label()),
                ),
            ("post", Some(id)) => format!("post {id}"),
            ("email", _) => id.to_owned(),
            ("system", _) => "Herald".to_owned(),
            _ => reference.to_owned(),
        }
    }

    /// The entry as a sentence: who did what to whom.
    pub fn sentence(&self, entry: &AuditEntry) -> String {
        let who = self.name(&entry.actor);
        let target = entry
            .target
            .as_deref()
            .map(|target| self.name(target))
            .unwrap_or_default();
        let what = match entry.action.as_str() {
            "setup.completed" => "set Herald up".to_owned(),
            "setup.refused" => "tried to set Herald up again (refused)".to_owned(),
            "auth.login.succeeded" => "signed in".to_owned(),
            "auth.login.failed" => {
                "tried to sign in with a wrong email, password or code".to_owned()
            }
            "auth.login.second_factor_failed" => "gave a wrong sign-in code".to_owned(),
            "auth.logout" => "signed out".to_owned(),
            "auth.logout_everywhere" => "signed out everywhere".to_owned(),
            "auth.other_sessions_ended" => "ended their other sessions".to_owned(),
            "auth.session_ended" => "ended a session".to_owned(),
            "auth.password_changed" => "changed their password".to_owned(),
            "auth.authenticator_replaced" => "set up a new authenticator app".to_owned(),
            "auth.recovery_codes_regenerated" => "made new recovery codes".to_owned(),
            "auth.second_factor_enrolled" => "set up two-step sign-in again".to_owned(),
            "auth.passkey.added" => "added a passkey".to_owned(),
            "auth.passkey.removed" => "removed a passkey".to_owned(),
            "auth.step_up.failed" => "gave a wrong code when asked again".to_owned(),
            "auth.step_up.locked_out" => {
                "gave too many wrong codes and was signed out everywhere".to_owned()
            }
            "member.invited" => format!("invited {target}"),
            "member.invitation_withdrawn" => format!("withdrew the invitation to {target}"),
            "member.joined" => "joined the team".to_owned(),
            "member.rejoined" => "rejoined the team".to_owned(),
            "member.role_changed" => format!("changed the role of {target}"),
            "member.deactivated" => format!("deactivated {target}"),
            "member.second_factor_reset" => format!("reset the two-step sign-in of {target}"),
            "token.created" => "made an API token".to_owned(),
            "token.revoked" => "revoked an API token".to_owned(),
            "account.created" => format!("added {target}"),
            "account.connected" => format!("connected {target}"),
            "account.connection_refused" => {
                format!("tried to connect {target} as another account (refused)")
            }
            "account.access_granted" => format!("gave access to {target}"),
            "account.access_revoked" => format!("took away access to {target}"),
            "account.gatekeeper_changed" => format!("named a new gatekeeper for {target}"),
            "account.credential_stored" => format!("stored a credential of {target}"),
            "account.credential_revealed" => format!("revealed a credential of {target}"),
            "account.credential_reveal_refused" => {
                format!("tried to reveal a credential of {target} (refused)")
            }
            "account.network_code_shown" => format!("showed the sign-in code of {target}"),
            "account.queue_changed" => format!("changed the queue of {target}"),
            "account.rotation_requested" => {
                format!("asked for the password of {target} to be changed")
            }
            "account.locked_down" => format!("locked down {target}"),
            "account.queue_resumed" => format!("resumed the queue of {target}"),
            "account.attacker_post_deleted" => {
                format!("deleted a post the attacker made on {target}")
            }
            "policy.rules_saved" => "changed the policy's rules".to_owned(),
            "policy.document_published" => "published the social media policy".to_owned(),
            "policy.acknowledged" => "read and accepted the policy".to_owned(),
            "post.drafted" => format!("wrote {target}"),
            "post.submitted" => format!("submitted {target}"),
            "post.submit_blocked" => format!("tried to submit {target}; the policy blocked it"),
            "post.policy_overridden" => format!("overrode the policy for {target}"),
            "post.approved" => format!("approved {target}"),
            "post.sent_back" => format!("sent {target} back"),
            "post.scheduled" => format!("scheduled {target}"),
            "post.unscheduled" => format!("took {target} off the schedule"),
            "post.time_wished" => format!("chose a time for {target}"),
            "post.published" => format!("published {target}"),
            "post.publish_failed" => format!("could not publish {target}"),
            "post.unconfirmed" => format!("could not confirm {target} went out"),
            "post.unconfirmed_settled" => format!("settled whether {target} went out"),
            "post.media_attached" => format!("added an image to {target}"),
            "post.media_removed" => format!("removed an image from {target}"),
            "posts.imported" => "imported posts".to_owned(),
            "audit.checkpoint" => "signed a checkpoint of this log".to_owned(),
            other => {
                let words = other.replace(['.', '_'], " ");
                if target.is_empty() {
                    words
                } else {
                    format!("{words}: {target}")
                }
            }
        };
        format!("{who} {what}.")
    }
}
