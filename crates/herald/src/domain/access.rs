//! Who may do what. Every route asks here, through `http::auth::Caller::require`, and nowhere
//! else; the route-by-role test in `tests/it/authorization.rs` walks every route with every role.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::accounts::AccountLevel;
use super::people::Role;

/// Something a signed-in person may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    ViewOwnAccount,
    /// Sign out everywhere. Only from a browser session, never with an API token.
    ManageOwnSessions,
    /// Create, list and revoke one's own API tokens. Never with an API token: a leaked token
    /// must not be able to mint more.
    ManageOwnTokens,
    /// Change one's own password, authenticator app, recovery codes and passkeys. Never with an
    /// API token.
    ManageOwnSecondFactors,
    /// Choose how one's own notifications are e-mailed. From a browser session only (no token
    /// scope writes one's own settings).
    ManageOwnNotifications,
    ViewMembers,
    /// Invite, change roles, deactivate.
    ManageMembers,
    ViewAuditLog,
    /// See the social accounts one has access to.
    ViewAccounts,
    /// Add social accounts and name their gatekeepers.
    AddAccounts,
    /// Grant, revoke, and reassign gatekeepers; the account-level rule decides per account.
    ManageAccountAccess,
    /// Store and reveal accounts' credentials (gatekeepers, per account). Never with an API
    /// token: a leaked token must not open the vault.
    UseVault,
    /// Check text against the company's policy, and read the policy's rules.
    UsePolicy,
    /// Change the policy's rules. Owners, from a browser session only.
    ManagePolicy,
    /// Write, submit, approve posts; the account-level rule decides per account.
    WritePosts,
    /// Mail settings (the test e-mail) and webhook endpoints. Owners, from a browser session
    /// only: a webhook's signing secret is shown when it is made.
    ManageIntegrations,
    /// One's own profiles on social networks, sharing the company's published posts, the
    /// staff course.
    UseStaffTools,
    /// Everyone's own profiles (with look-alikes flagged), share counts and course results.
    /// Owners.
    ViewStaff,
}

/// What an API token may be used for (each is described in the `token` security scheme). A
/// token can never do more than its owner's role allows. `me:read` was called `account:read`
/// until it was renamed so that it could not be taken for `accounts:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    #[serde(rename = "me:read")]
    MeRead,
    #[serde(rename = "members:read")]
    MembersRead,
    #[serde(rename = "members:write")]
    MembersWrite,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "accounts:read")]
    AccountsRead,
    #[serde(rename = "accounts:write")]
    AccountsWrite,
    #[serde(rename = "policy:read")]
    PolicyRead,
    #[serde(rename = "posts:write")]
    PostsWrite,
    #[serde(rename = "staff")]
    Staff,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'a> {
    Session,
    Token(&'a [Scope]),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

impl Permission {
    fn least_role(self) -> Role {
        match self {
            Permission::ViewOwnAccount
            | Permission::ManageOwnSessions
            | Permission::ManageOwnTokens
            | Permission::ManageOwnSecondFactors
            | Permission::ManageOwnNotifications
            | Permission::ViewAccounts
            | Permission::ManageAccountAccess
            | Permission::UseVault
            | Permission::UsePolicy
            | Permission::WritePosts
            | Permission::UseStaffTools => Role::Member,
            Permission::AddAccounts => Role::Admin,
            Permission::ViewMembers | Permission::ManageMembers => Role::Admin,
            Permission::ViewAuditLog
            | Permission::ManagePolicy
            | Permission::ManageIntegrations
            | Permission::ViewStaff => Role::Owner,
        }
    }

    /// The scope a token needs, or `None` when no token may do this at all.
    fn scope(self) -> Option<Scope> {
        match self {
            Permission::ViewOwnAccount => Some(Scope::MeRead),
            Permission::ViewMembers => Some(Scope::MembersRead),
            Permission::ManageMembers => Some(Scope::MembersWrite),
            Permission::ViewAuditLog => Some(Scope::AuditRead),
            Permission::ViewAccounts => Some(Scope::AccountsRead),
            Permission::AddAccounts | Permission::ManageAccountAccess => Some(Scope::AccountsWrite),
            Permission::UsePolicy => Some(Scope::PolicyRead),
            Permission::WritePosts => Some(Scope::PostsWrite),
            Permission::UseStaffTools => Some(Scope::Staff),
            Permission::ViewStaff => Some(Scope::MembersRead),
            Permission::ManageOwnSessions
            | Permission::ManageOwnTokens
            | Permission::ManageOwnSecondFactors
            | Permission::ManageOwnNotifications
            | Permission::UseVault
            | Permission::ManagePolicy
            | Permission::ManageIntegrations => None,
        }
    }
}

impl Scope {
    pub const ALL: [Scope; 9] = [
        Scope::MeRead,
        Scope::MembersRead,
        Scope::MembersWrite,
        Scope::AuditRead,
        Scope::AccountsRead,
        Scope::AccountsWrite,
        Scope::PolicyRead,
        Scope::PostsWrite,
        Scope::Staff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MeRead => "me:read",
            Scope::MembersRead => "members:read",
            Scope::MembersWrite => "members:write",
            Scope::AuditRead => "audit:read",
            Scope::AccountsRead => "accounts:read",
            Scope::AccountsWrite => "accounts:write",
            Scope::PolicyRead => "policy:read",
            Scope::PostsWrite => "posts:write",
            Scope::Staff => "staff",
        }
    }

    /// What the scope allows, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            Scope::MeRead => "your own member record and notifications",
            Scope::MembersRead => "list the organisation's members and who acknowledged the policy",
            Scope::MembersWrite => "invite members, change their roles, deactivate them",
            Scope::AuditRead => "read and export the audit log",
            Scope::AccountsRead => {
                "see the social accounts you have access to, their posts, queues and calendars"
            }
            Scope::AccountsWrite => "add social accounts, grant and revoke access to them",
            Scope::PolicyRead => "check text against the policy and read its rules",
            Scope::PostsWrite => "write, submit, approve, schedule and import posts; upload media",
            Scope::Staff => {
                "your own profiles on social networks, sharing the company's posts, the staff course"
            }
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }
}

/// Decides whether someone with `role`, signed in with `credential`, may do `permission`.
pub fn check(role: Role, credential: Credential<'_>, permission: Permission) -> Result<(), Denied> {
    let needed = permission.least_role();
    if role < needed {
        return Err(Denied(format!(
            "this needs the {needed} role; you are {} {role}",
            article(role)
        )));
    }
    if let Credential::Token(scopes) = credential {
        match permission.scope() {
            None => {
                return Err(Denied(
                    "API tokens cannot manage sessions, tokens, second factors or credentials; sign in to the web app"
                        .to_owned(),
                ));
            }
            Some(scope) if !scopes.contains(&scope) => {
                return Err(Denied(format!(
                    "this API token lacks the {} scope",
                    scope.as_str()
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Something a member may or may not do with one social account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    /// See the account at all: in lists, calendars, search and the API.
    View,
    /// Write drafts and submit them for approval.
    Draft,
    /// Publish and approve others' posts.
    Publish,
    /// Grant and revoke access to the account.
    ManageAccess,
    /// Reveal the account's password, 2FA seed or recovery codes.
    RevealSecrets,
    /// Connect Herald to the account at its network (or disconnect it).
    Connect,
    /// Lock the account down, and lead its incident (close it, resume its queue).
    LockDown,
}

/// Decides what `role` with `level` on an account (none: no grant) may do with it.
///
/// Owners and admins see every account so they can manage them, but reveal nothing. Only the
/// gatekeeper reveals secrets; the gatekeeper, and owners (audited), manage access.
pub fn check_account(
    role: Role,
    level: Option<AccountLevel>,
    action: AccountAction,
) -> Result<(), Denied> {
    let allowed = match action {
        AccountAction::View => level.is_some() || role >= Role::Admin,
        AccountAction::Draft => level >= Some(AccountLevel::Contributor),
        AccountAction::Publish => level >= Some(AccountLevel::Publisher),
        AccountAction::ManageAccess | AccountAction::LockDown => {
            level == Some(AccountLevel::Gatekeeper) || role == Role::Owner
        }
        AccountAction::RevealSecrets | AccountAction::Connect => {
            level == Some(AccountLevel::Gatekeeper)
        }
    };
    if allowed {
        return Ok(());
    }
    Err(Denied(
        match action {
            AccountAction::View => "you have no access to this account",
            AccountAction::Draft => "this needs contributor access to the account",
            AccountAction::Publish => "this needs publisher access to the account",
            AccountAction::ManageAccess => {
                "only the account's gatekeeper (or an owner) manages who may use it"
            }
            AccountAction::RevealSecrets => {
                "only the account's gatekeeper can reveal its credentials"
            }
            AccountAction::Connect => {
                "only the account's gatekeeper connects Herald to the account"
            }
            AccountAction::LockDown => {
                "only the account's gatekeeper (or an owner) locks it down and leads its incident"
            }
        }
        .to_owned(),
    ))
}

/// Whether `actor` may change a member who is `target` (to `new_role`, when changing a role).
/// Admins manage members and admins; only owners touch owners or make new ones.
pub fn may_manage(actor: Role, target: Role, new_role: Option<Role>) -> Result<(), Denied> {
    if actor < Role::Admin {
        return Err(Denied("only owners and admins manage members".to_owned()));
    }
    if actor != Role::Owner && (target == Role::Owner || new_role == Some(Role::Owner)) {
        return Err(Denied(
            "only an owner can change an owner or make someone an owner".to_owned(),
        ));
    }
    Ok(())
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Owner | Role::Admin => "an",
        Role::Member => "a",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_reach_exactly_their_permissions() {
        let table = [
            (Permission::ViewOwnAccount, [true, true, true]),
            (Permission::ManageOwnTokens, [true, true, true]),
            (Permission::ManageOwnNotifications, [true, true, true]),
            (Permission::ViewMembers, [false, true, true]),
            (Permission::ManageMembers, [false, true, true]),
            (Permission::ViewAuditLog, [false, false, true]),
            (Permission::UsePolicy, [true, true, true]),
            (Permission::ManagePolicy, [false, false, true]),
            (Permission::UseStaffTools, [true, true, true]),
            (Permission::ViewStaff, [false, false, true]),
        ];
        for (permission, allowed) in table {
            for (role, expected) in [Role::Member, Role::Admin, Role::Owner]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(
                    check(role, Credential::Session, permission).is_ok(),
                    expected,
                    "{role} {permission:?}"
                );
            }
        }
    }

    #[test]
    fn a_token_needs_the_scope_and_its_owners_role() {
        let scopes = [Scope::AuditRead];
        assert!(
            check(
                Role::Owner,
                Credential::Token(&scopes),
                Permission::ViewAuditLog
            )
            .is_ok()
        );
        assert!(
            check(
                Role::Admin,
                Credential::Token(&scopes),
                Permission::ViewAuditLog
            )
            .is_err()
        );
        let denied = check(
            Role::Owner,
            Credential::Token(&scopes),
            Permission::ViewMembers,
        )
        .expect_err("no scope");
        assert_eq!(denied.0, "this API token lacks the members:read scope");
        let all = Scope::ALL;
        assert!(
            check(
                Role::Owner,
                Credential::Token(&all),
                Permission::ManageOwnTokens
            )
            .is_err(),
            "tokens never mint tokens"
        );
    }

    #[test]
    fn account_access_follows_the_level_and_only_the_gatekeeper_reveals() {
        use AccountAction::*;
        use AccountLevel::*;
        let cases = [
            (Role::Member, None, [false, false, false, false, false]),
            (
                Role::Member,
                Some(Viewer),
                [true, false, false, false, false],
            ),
            (
                Role::Member,
                Some(Contributor),
                [true, true, false, false, false],
            ),
            (
                Role::Member,
                Some(Publisher),
                [true, true, true, false, false],
            ),
            (
                Role::Member,
                Some(Gatekeeper),
                [true, true, true, true, true],
            ),
            (Role::Admin, None, [true, false, false, false, false]),
            (Role::Owner, None, [true, false, false, true, false]),
        ];
        for (role, level, expected) in cases {
            for (action, allowed) in [View, Draft, Publish, ManageAccess, RevealSecrets]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(
                    check_account(role, level, action).is_ok(),
                    allowed,
                    "{role} {level:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn only_the_gatekeeper_or_an_owner_locks_an_account_down() {
        use AccountLevel::*;
        let lock = |role, level| check_account(role, level, AccountAction::LockDown).is_ok();
        assert!(lock(Role::Member, Some(Gatekeeper)));
        assert!(lock(Role::Owner, None));
        assert!(!lock(Role::Admin, None));
        assert!(!lock(Role::Member, Some(Publisher)));
        assert!(!lock(Role::Member, Some(Viewer)));
    }

    #[test]
    fn only_owners_touch_owners() {
        assert!(may_manage(Role::Admin, Role::Member, Some(Role::Admin)).is_ok());
        assert!(may_manage(Role::Admin, Role::Owner, None).is_err());
        assert!(may_manage(Role::Admin, Role::Member, Some(Role::Owner)).is_err());
        assert!(may_manage(Role::Owner, Role::Owner, Some(Role::Member)).is_ok());
        assert!(may_manage(Role::Member, Role::Member, None).is_err());
    }
}
