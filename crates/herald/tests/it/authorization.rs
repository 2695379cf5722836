//! Every route, walked with every kind of caller: signed out, member, admin, owner, and an
//! owner's API token with every scope. Each cell of the table says whether the caller must be
//! let through or turned away; a route missing from the table fails the test.

use herald::domain::ids::AccountId;
use std::collections::BTreeSet;

use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::people::{Person, app, client, code, invite_and_join, set_up};

/// What a caller must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Let through: anything but 401, 403 or a redirect to sign in.
    Allow,
    /// Turned away: 401 or 403 (API), or sent to sign in (pages).
    Deny,
}

use Expect::{Allow as A, Deny as D};

/// One route and what each caller must get: signed out, member, admin, owner, owner's token.
struct Row {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    form: bool,
    expect: [Expect; 5],
    /// A route about one social account answers 404 to callers who may not see it, so that
    /// nobody can probe which accounts exist: there, 404 is a denial.
    hidden_as_not_found: bool,
}

fn api(method: Method, path: &'static str, body: Option<Value>, expect: [Expect; 5]) -> Row {
    Row {
        method,
        path,
        body,
        form: false,
        expect,
        hidden_as_not_found: false,
    }
}

/// A route about one account, where 404 means "not visible to you".
fn account(method: Method, path: String, body: Option<Value>, expect: [Expect; 5]) -> Row {
    let path: &'static str = Box::leak(path.into_boxed_str());
    Row {
        method,
        path,
        body,
        form: false,
        expect,
        hidden_as_not_found: true,
    }
}

fn page(method: Method, path: &'static str, expect: [Expect; 5]) -> Row {
    let form = method != Method::GET;
    Row {
        method,
        path,
        body: None,
        form,
        expect,
        hidden_as_not_found: false,
    }
}

/// Routes whose answer does not depend on who asks (setup, sign-in, invitations by link…).
const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/setup"),
    ("POST", "/api/v1/setup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/password-strength"),
    ("POST", "/api/v1/auth/passkey/options"),
    ("POST", "/api/v1/auth/passkey"),
    ("POST", "/api/v1/auth/enrol"),
    ("POST", "/api/v1/auth/enrol/finish"),
    ("GET", "/api/v1/invitations/{token}"),
    ("POST", "/api/v1/invitations/{token}/accept"),
];

fn table(member_id: i64, account_id: i64, post_id: i64) -> Vec<Row> {
    let member_path: &'static str =
        Box::leak(format!("/api/v1/members/{member_id}").into_boxed_str());
    let new_account = json!({ "network": "x", "display_name": "Shop", "avatar_colour": "#123456", "gatekeeper_id": 1 });
    let grant_path = format!("/api/v1/accounts/{account_id}/grants/{member_id}");
    let leak = |path: String| -> &'static str { Box::leak(path.into_boxed_str()) };
    let share_path = leak(format!("/api/v1/share/{post_id}/999999"));
    let share_text_path = leak(format!("/api/v1/share/{post_id}/text"));
    let share_page_path = leak(format!("/share/{post_id}/999999"));
    let share_text_page_path = leak(format!("/share/{post_id}/text"));
    vec![
        api(Method::GET, "/api/v1/accounts", None, [D, A, A, A, A]),
        api(
            Method::POST,
            "/api/v1/accounts",
            Some(new_account),
            [D, D, A, A, A],
        ),
        // The account is the owner's (its gatekeeper); nobody else has a grant yet.
        account(
            Method::GET,
            format!("/api/v1/accounts/{account_id}"),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::GET,
            format!("/api/v1/accounts/{account_id}/rotations"),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::GET,
            format!("/api/v1/accounts/{account_id}/credentials"),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::GET,
            format!("/api/v1/accounts/{account_id}/posture"),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::POST,
            format!("/api/v1/accounts/{account_id}/password-generator"),
            Some(json!({})),
            [D, D, D, A, D],
        ),
        account(
            Method::PUT,
            format!("/api/v1/accounts/{account_id}/credentials/notes"),
            Some(json!({ "value": "x" })),
            [D, D, D, A, D],
        ),
        account(
            Method::POST,
            format!("/api/v1/accounts/{account_id}/credentials/notes/reveal"),
            Some(json!({ "code": "" })),
            [D, D, D, A, D],
        ),
        // The body's code is replaced by each caller's own current code.
        account(
            Method::POST,
            format!("/api/v1/accounts/{account_id}/network-code"),
            Some(json!({ "code": "" })),
            [D, D, D, A, D],
        ),
        // Posts on the owner's account: the owner is its gatekeeper and the post's author.
        account(
            Method::POST,
            "/api/v1/posts".to_owned(),
            Some(json!({ "account_id": account_id, "text": "New menu" })),
            [D, D, D, A, A],
        ),
        account(
            Method::GET,
            format!("/api/v1/posts/{post_id}"),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::PATCH,
            format!("/api/v1/posts/{post_id}"),
            Some(json!({ "text": "Fresh bread, warm" })),
            [D, D, D, A, A],
        ),
        // The owner's submission (of version 3: the two edits above each made a new one)
        // approves it at once (they may publish); the token then finds it no longer a draft
        // (409), which is not a denial.
        account(
            Method::POST,
            format!("/api/v1/posts/{post_id}/submit"),
            Some(json!({ "version": 3 })),
            [D, D, D, A, A],
        ),
        // Nobody approves their own post, and admins have no publish access here.
        account(
            Method::POST,
            format!("/api/v1/posts/{post_id}/approve"),
            Some(json!({ "version": 3 })),
            [D, D, D, D, D],
        ),
        account(
            Method::POST,
            format!("/api/v1/posts/{post_id}/send-back"),
            Some(json!({})),
            [D, D, D, A, A],
        ),
        api(
            Method::POST,
            "/api/v1/text-length",
            Some(json!({ "text": "Hello" })),
            [D, A, A, A, A],
        ),
        // A draft is not unconfirmed (409, not a denial); admins have no publish access.
        account(
            Method::POST,
            format!("/api/v1/posts/{post_id}/settle"),
            Some(json!({ "on_network": true })),
            [D, D, D, A, A],
        ),
        // The post is a draft again: its author may wish it a time; admins may not touch it.
        account(
            Method::POST,
            format!("/api/v1/posts/{post_id}/schedule"),
            Some(json!({ "at": "2099-01-01T09:00:00Z" })),
            [D, D, D, A, A],
        ),
        // Not scheduled (409) is not a denial.
        account(
            Method::DELETE,
            format!("/api/v1/posts/{post_id}/schedule"),
            None,
            [D, D, D, A, A],
        ),
        api(
            Method::GET,
            "/api/v1/posts?state=draft&page=1",
            None,
            [D, A, A, A, A],
        ),
        api(
            Method::GET,
            "/api/v1/calendar?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            None,
            [D, A, A, A, A],
        ),
        account(
            Method::GET,
            format!("/api/v1/accounts/{account_id}/queue"),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::PUT,
            format!("/api/v1/accounts/{account_id}/queue"),
            Some(json!({ "time_zone": "Europe/London", "slots": [] })),
            [D, D, D, A, A],
        ),
        // X takes no app password: refused (422) before anything is sent, which for the
        // gatekeeper is not a denial. Tokens never connect accounts.
        account(
            Method::PUT,
            format!("/api/v1/accounts/{account_id}/connection"),
            Some(json!({ "method": "app_password", "identifier": "x", "password": "y" })),
            [D, D, D, A, D],
        ),
        // Previews save nothing; an import of a header alone is refused (422), not denied.
        api(
            Method::POST,
            "/api/v1/import/preview",
            Some(json!({ "csv": "date,time,message,account\n" })),
            [D, A, A, A, A],
        ),
        api(
            Method::POST,
            "/api/v1/import",
            Some(json!({ "csv": "date,time,message,account\n" })),
            [D, A, A, A, A],
        ),
        // The member has no grant yet: the account's schedule does not exist for them.
        account(
            Method::GET,
            format!("/api/v1/accounts/{account_id}/schedule.csv"),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::GET,
            format!("/api/v1/accounts/{account_id}/schedule.ics"),
            None,
            [D, D, A, A, A],
        ),
        // Images: only the draft's author attaches (a JSON body is then refused as not a
        // multipart form, 400, which is not a denial); whoever sees the post lists them.
        account(
            Method::POST,
            format!("/api/v1/posts/{post_id}/media"),
            Some(json!({})),
            [D, D, D, A, A],
        ),
        account(
            Method::GET,
            format!("/api/v1/posts/{post_id}/media"),
            None,
            [D, D, A, A, A],
        ),
        // No image 999999: 404 to everyone signed in (to the member because the post is
        // hidden, to the others because the image is missing), so 404 cannot be read as a
        // denial here; admins may not change the owner's draft. tests/it/media.rs walks
        // real images with viewers of this and of other accounts.
        api(
            Method::GET,
            Box::leak(format!("/api/v1/posts/{post_id}/media/999999").into_boxed_str()),
            None,
            [D, A, A, A, A],
        ),
        api(
            Method::DELETE,
            Box::leak(format!("/api/v1/posts/{post_id}/media/999999").into_boxed_str()),
            None,
            [D, A, D, A, A],
        ),
        account(
            Method::PUT,
            grant_path.clone(),
            Some(json!({ "level": "viewer" })),
            [D, D, D, A, A],
        ),
        // Now the member is a viewer: they see the account but may not manage it.
        account(
            Method::PUT,
            format!("/api/v1/accounts/{account_id}/gatekeeper"),
            Some(json!({ "user_id": 1 })),
            [D, D, D, A, A],
        ),
        // A second revocation finds no grant (404): that is not a denial here.
        api(
            Method::DELETE,
            Box::leak(grant_path.into_boxed_str()),
            None,
            [D, D, D, A, A],
        ),
        api(Method::GET, "/api/v1/me", None, [D, A, A, A, A]),
        api(Method::GET, "/api/v1/notifications", None, [D, A, A, A, A]),
        api(
            Method::GET,
            "/api/v1/me/mail-preferences",
            None,
            [D, A, A, A, A],
        ),
        api(
            Method::PUT,
            "/api/v1/me/mail-preferences",
            Some(json!({ "choices": [{ "kind": "policy", "mode": "digest" }] })),
            [D, A, A, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/scan",
            Some(json!({ "text": "Fresh bread" })),
            [D, A, A, A, A],
        ),
        api(Method::GET, "/api/v1/policy/rules", None, [D, A, A, A, A]),
        api(
            Method::POST,
            "/api/v1/links/check",
            Some(json!({ "urls": ["http://127.0.0.1:9/"] })),
            [D, A, A, A, A],
        ),
        api(
            Method::POST,
            "/api/v1/links/card",
            Some(json!({ "url": "http://127.0.0.1:9/" })),
            [D, A, A, A, A],
        ),
        api(Method::GET, "/api/v1/links/names", None, [D, A, A, A, A]),
        api(
            Method::PUT,
            "/api/v1/links/names",
            Some(json!({ "domains": [], "handles": [] })),
            [D, D, D, A, D],
        ),
        api(Method::GET, "/api/v1/policy", None, [D, A, A, A, A]),
        api(
            Method::PUT,
            "/api/v1/policy",
            Some(json!({ "markdown": "Be kind." })),
            [D, D, D, A, D],
        ),
        // 409 for a version that is not current is not a denial.
        api(
            Method::POST,
            "/api/v1/policy/acknowledge",
            Some(json!({ "version": 999 })),
            [D, A, A, A, D],
        ),
        api(
            Method::GET,
            "/api/v1/policy/acknowledgements",
            None,
            [D, D, A, A, A],
        ),
        api(
            Method::PUT,
            "/api/v1/policy/rules",
            Some(json!({ "toml": "" })),
            [D, D, D, A, D],
        ),
        api(Method::GET, "/api/v1/members", None, [D, D, A, A, A]),
        api(
            Method::PATCH,
            member_path,
            Some(json!({ "role": "member" })),
            [D, D, A, A, A],
        ),
        api(
            Method::POST,
            "/api/v1/members/999999/deactivate",
            None,
            [D, D, A, A, A],
        ),
        api(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({ "role": "member" })),
            [D, D, A, A, A],
        ),
        api(Method::GET, "/api/v1/tokens", None, [D, A, A, A, D]),
        api(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "n", "scopes": ["me:read"], "expires_in_days": 1 })),
            [D, A, A, A, D],
        ),
        api(
            Method::DELETE,
            "/api/v1/tokens/999999",
            None,
            [D, A, A, A, D],
        ),
        api(Method::GET, "/api/v1/passkeys", None, [D, A, A, A, D]),
        api(
            Method::POST,
            "/api/v1/passkeys/registration",
            Some(json!({ "code": "" })),
            [D, A, A, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/passkeys",
            Some(json!({
                "name": "key", "state": "not-a-state",
                "credential": { "id": "AA", "rawId": "AA", "type": "public-key", "extensions": {},
                    "response": { "attestationObject": "AA", "clientDataJSON": "AA" } },
            })),
            [D, A, A, A, D],
        ),
        api(
            Method::DELETE,
            "/api/v1/passkeys/999999",
            Some(json!({ "code": "" })),
            [D, A, A, A, D],
        ),
        // These get each person's right password and a fresh code (see `call`), and a new
        // password too weak to be taken, so nothing is counted as a wrong guess.
        api(
            Method::POST,
            "/api/v1/me/password",
            Some(json!({ "current_password": "", "code": "", "new_password": "short" })),
            [D, A, A, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/me/authenticator",
            Some(json!({ "current_password": "", "code": "" })),
            [D, A, A, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/me/authenticator/confirm",
            Some(json!({ "enrolment_token": "not-a-token", "code": "123456" })),
            [D, A, A, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/me/recovery-codes",
            Some(json!({ "code": "" })),
            [D, A, A, A, D],
        ),
        api(Method::GET, "/api/v1/me/sessions", None, [D, A, A, A, D]),
        api(
            Method::DELETE,
            "/api/v1/me/sessions/no-such-session",
            None,
            [D, A, A, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/members/999999/reset-second-factor",
            None,
            [D, D, A, A, A],
        ),
        api(Method::GET, "/api/v1/audit", None, [D, D, D, A, A]),
        // Everyone signed in sees their own part; owners and admins also the company's.
        api(Method::GET, "/api/v1/security", None, [D, A, A, A, A]),
        // The inbox: item 1 is on the owner's account (see the walk's set-up).
        api(Method::GET, "/api/v1/inbox", None, [D, A, A, A, A]),
        api(Method::GET, "/api/v1/inbox/summary", None, [D, A, A, A, A]),
        account(
            Method::GET,
            "/api/v1/inbox/1".to_owned(),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::PATCH,
            "/api/v1/inbox/1".to_owned(),
            Some(json!({ "note": "Seen" })),
            [D, D, D, A, A],
        ),
        // Item 1 is a mention without reply references: 409 for those let through.
        account(
            Method::POST,
            "/api/v1/inbox/1/reply".to_owned(),
            Some(json!({ "text": "Thank you!" })),
            [D, D, D, A, A],
        ),
        // Item 1's one link is not a short link: 409 for those let through.
        account(
            Method::POST,
            "/api/v1/inbox/1/links/0/follow".to_owned(),
            None,
            [D, D, D, A, A],
        ),
        api(Method::GET, "/api/v1/audit/export", None, [D, D, D, A, A]),
        // Webhooks: owners only, never with a token. No events: 422 once let through.
        api(Method::GET, "/api/v1/webhooks", None, [D, D, D, A, D]),
        api(
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({ "url": "https://hooks.example/in", "format": "standard", "events": [] })),
            [D, D, D, A, D],
        ),
        api(
            Method::GET,
            "/api/v1/webhooks/999999",
            None,
            [D, D, D, A, D],
        ),
        api(
            Method::DELETE,
            "/api/v1/webhooks/999999",
            None,
            [D, D, D, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/webhooks/999999/test",
            None,
            [D, D, D, A, D],
        ),
        api(
            Method::POST,
            "/api/v1/webhooks/999999/enable",
            None,
            [D, D, D, A, D],
        ),
        page(Method::GET, "/", [D, A, A, A, A]),
        page(Method::GET, "/members", [D, D, A, A, A]),
        page(Method::GET, "/accounts", [D, A, A, A, A]),
        page(Method::GET, "/audit", [D, D, D, A, A]),
        page(Method::GET, "/security", [D, A, A, A, A]),
        page(Method::GET, "/status", [D, D, D, A, A]),
        page(Method::GET, "/posts", [D, A, A, A, A]),
        page(Method::GET, "/inbox", [D, A, A, A, A]),
        page(Method::GET, "/account", [D, A, A, A, A]),
        page(Method::GET, "/account/notifications", [D, A, A, A, A]),
        page(Method::POST, "/account/notifications", [D, A, A, A, D]),
        page(Method::GET, "/settings/mail", [D, D, D, A, D]),
        // No mail server here: 409 once let through, which is not a denial.
        page(Method::POST, "/settings/mail/test", [D, D, D, A, D]),
        page(Method::POST, "/members/invite", [D, D, A, A, D]),
        page(Method::POST, "/notifications/read", [D, A, A, A, D]),
        page(Method::GET, "/policy", [D, A, A, A, A]),
        page(Method::GET, "/compose", [D, A, A, A, A]),
        page(Method::POST, "/compose", [D, A, A, A, D]),
        page(Method::GET, "/import", [D, A, A, A, A]),
        page(Method::POST, "/import", [D, A, A, A, D]),
        page(Method::POST, "/policy/check", [D, A, A, A, D]),
        page(Method::POST, "/policy/acknowledge", [D, A, A, A, D]),
        page(Method::POST, "/policy/document", [D, D, D, A, D]),
        page(Method::POST, "/policy/rules", [D, D, D, A, D]),
        page(Method::POST, "/policy/rules/form", [D, D, D, A, D]),
        page(Method::POST, "/policy/names", [D, D, D, A, D]),
        page(Method::POST, "/members/999999/deactivate", [D, D, A, A, D]),
        page(Method::GET, "/members/999999/deactivate", [D, D, A, A, A]),
        page(Method::POST, "/members/999999/role", [D, D, A, A, D]),
        page(
            Method::POST,
            "/members/invitations/0123456789abcdef/renew",
            [D, D, A, A, D],
        ),
        page(
            Method::POST,
            "/members/invitations/0123456789abcdef/withdraw",
            [D, D, A, A, D],
        ),
        page(
            Method::POST,
            "/members/999999/reset-second-factor",
            [D, D, A, A, D],
        ),
        // The forms' own fields are missing here: refused as incomplete (400) once the caller
        // was let through, so no wrong code is counted.
        page(Method::POST, "/account/password", [D, A, A, A, D]),
        page(Method::POST, "/account/authenticator", [D, A, A, A, D]),
        page(
            Method::POST,
            "/account/authenticator/confirm",
            [D, A, A, A, D],
        ),
        page(Method::POST, "/account/recovery-codes", [D, A, A, A, D]),
        page(
            Method::POST,
            "/account/passkeys/999999/remove",
            [D, A, A, A, D],
        ),
        page(
            Method::POST,
            "/account/sessions/no-such-session/end",
            [D, A, A, A, D],
        ),
        page(
            Method::POST,
            "/account/sessions/end-others",
            [D, A, A, A, D],
        ),
        // The day an account is hacked. The owner's drill lockdown opens incident 1 on the
        // owner's account; a member without access to it sees neither.
        account(
            Method::POST,
            format!("/api/v1/accounts/{account_id}/lockdown"),
            Some(json!({ "drill": true })),
            [D, D, D, A, A],
        ),
        // Every account the caller keeps (a member or admin keeping none: nothing to do).
        api(
            Method::POST,
            "/api/v1/lockdown",
            Some(json!({ "drill": true })),
            [D, A, A, A, A],
        ),
        account(
            Method::POST,
            format!("/api/v1/accounts/{account_id}/incidents"),
            Some(json!({ "what": "Posts we did not write" })),
            [D, D, A, A, A],
        ),
        api(Method::GET, "/api/v1/incidents", None, [D, A, A, A, A]),
        account(
            Method::GET,
            "/api/v1/incidents/1".to_owned(),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::GET,
            "/api/v1/incidents/1/report".to_owned(),
            None,
            [D, D, A, A, A],
        ),
        account(
            Method::POST,
            "/api/v1/incidents/1/notes".to_owned(),
            Some(json!({ "text": "Called the bank." })),
            [D, D, A, A, A],
        ),
        account(
            Method::POST,
            "/api/v1/incidents/1/steps/regain_access".to_owned(),
            None,
            [D, D, D, A, A],
        ),
        account(
            Method::POST,
            "/api/v1/incidents/1/retry".to_owned(),
            None,
            [D, D, D, A, A],
        ),
        account(
            Method::POST,
            "/api/v1/incidents/1/attacker-posts/delete".to_owned(),
            None,
            [D, D, D, A, A],
        ),
        account(
            Method::POST,
            "/api/v1/incidents/1/statements".to_owned(),
            Some(json!({ "kind": "holding", "account_ids": [] })),
            [D, D, A, A, A],
        ),
        account(
            Method::POST,
            "/api/v1/incidents/1/close".to_owned(),
            Some(json!({ "lessons": "" })),
            [D, D, D, A, A],
        ),
        account(
            Method::POST,
            format!("/api/v1/accounts/{account_id}/resume"),
            None,
            [D, D, D, A, A],
        ),
        api(
            Method::GET,
            "/api/v1/incident-templates/holding",
            None,
            [D, A, A, A, A],
        ),
        api(
            Method::PUT,
            "/api/v1/incident-templates/holding",
            Some(json!({ "text": "Our account was taken over; ignore what it sends." })),
            [D, D, D, A, A],
        ),
        // Only the gatekeeper starts an OAuth connection; this Herald has no X app, which
        // for the gatekeeper is a refusal (422), not a denial.
        Row {
            form: true,
            hidden_as_not_found: true,
            ..page(
                Method::POST,
                Box::leak(format!("/accounts/{account_id}/oauth").into_boxed_str()),
                [D, D, D, A, D],
            )
        },
        api(
            Method::POST,
            "/api/v1/me/sessions/end-others",
            None,
            [D, A, A, A, D],
        ),
        // Staff and their own networks (issue 23). Each caller lists their own profiles; the
        // owners see everyone's, the shares and the course results; only owners edit the
        // course and the policy's examples (an invalid course here, so nothing is required).
        api(Method::GET, "/api/v1/me/profiles", None, [D, A, A, A, A]),
        api(
            Method::POST,
            "/api/v1/me/profiles",
            Some(json!({ "network": "x", "handle": "@someone_else", "purpose": "personal" })),
            [D, A, A, A, A],
        ),
        api(
            Method::DELETE,
            "/api/v1/me/profiles/999999",
            None,
            [D, A, A, A, A],
        ),
        api(
            Method::POST,
            "/api/v1/me/no-profiles",
            None,
            [D, A, A, A, A],
        ),
        api(Method::GET, "/api/v1/staff/profiles", None, [D, D, D, A, A]),
        api(Method::GET, "/api/v1/share", None, [D, A, A, A, A]),
        api(Method::POST, share_path, None, [D, A, A, A, A]),
        api(
            Method::PUT,
            share_text_path,
            Some(json!({ "text": "Fresh bread today" })),
            [D, D, D, A, A],
        ),
        api(Method::GET, "/api/v1/share/counts", None, [D, D, D, A, A]),
        api(Method::GET, "/api/v1/training", None, [D, A, A, A, A]),
        api(
            Method::POST,
            "/api/v1/training/answers",
            Some(json!({ "version": 0, "answers": [] })),
            [D, A, A, A, A],
        ),
        api(
            Method::PUT,
            "/api/v1/training/course",
            Some(json!({ "markdown": "# No questions" })),
            [D, D, D, A, D],
        ),
        api(
            Method::GET,
            "/api/v1/training/results",
            None,
            [D, D, D, A, A],
        ),
        api(
            Method::GET,
            "/api/v1/policy/examples",
            None,
            [D, A, A, A, A],
        ),
        api(
            Method::POST,
            "/api/v1/policy/examples",
            Some(json!({ "text": "", "verdict": "good", "why": "" })),
            [D, D, D, A, D],
        ),
        api(
            Method::DELETE,
            "/api/v1/policy/examples/999999",
            None,
            [D, D, D, A, D],
        ),
        page(Method::GET, "/staff", [D, A, A, A, A]),
        page(Method::POST, "/staff/profiles", [D, A, A, A, D]),
        page(Method::GET, "/staff/profiles", [D, D, D, A, A]),
        page(
            Method::POST,
            "/staff/profiles/999999/remove",
            [D, A, A, A, D],
        ),
        page(Method::POST, "/staff/no-profiles", [D, A, A, A, D]),
        page(Method::GET, "/share", [D, A, A, A, A]),
        page(Method::GET, share_page_path, [D, A, A, A, A]),
        page(Method::POST, share_text_page_path, [D, D, D, A, D]),
        page(Method::GET, "/training", [D, A, A, A, A]),
        page(Method::POST, "/training", [D, A, A, A, D]),
        page(Method::POST, "/training/course", [D, D, D, A, D]),
        page(Method::GET, "/training/results", [D, D, D, A, A]),
        page(Method::GET, "/policy/examples", [D, A, A, A, A]),
        page(Method::POST, "/policy/examples", [D, D, D, A, D]),
        page(
            Method::POST,
            "/policy/examples/999999/remove",
            [D, D, D, A, D],
        ),
        // These end the caller's session, so they come last and each signed-in caller
        // uses a fresh session for them.
        api(
            Method::POST,
            "/api/v1/auth/logout-everywhere",
            None,
            [D, A, A, A, D],
        ),
        api(Method::POST, "/api/v1/auth/logout", None, [D, A, A, A, D]),
        page(Method::POST, "/account/logout-everywhere", [D, A, A, A, D]),
        page(Method::POST, "/logout", [D, A, A, A, D]),
    ]
}

/// Page routes that need no sign-in (the API ones are in the OpenAPI document).
const PUBLIC_PAGES: &[(&str, &str)] = &[
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/login/enrol"),
    ("POST", "/login/enrol"),
    ("POST", "/login/enrol/finish"),
    ("GET", "/setup"),
    ("POST", "/setup"),
    ("GET", "/invite/{token}"),
    ("POST", "/invite/{token}"),
    ("GET", "/assets/{file}"),
    ("POST", "/csp-report"),
    // The network's redirect back arrives without the SameSite=Strict session cookie: it
    // answers everyone with a page that reloads it from Herald, and finishes only for the
    // signed-in member who started (tests/it/oauth.rs).
    ("GET", "/oauth/callback"),
];

enum Caller<'a> {
    Anonymous,
    Session(&'a Person),
    Token(&'a str),
}

async fn call(
    app: &crate::helpers::TestApp,
    clock: &herald::clock::ManualClock,
    caller: &Caller<'_>,
    row: &Row,
    unique: usize,
) -> reqwest::Response {
    let http = match caller {
        Caller::Session(person) => person.client.clone(),
        _ => client(),
    };
    let mut request = http.request(row.method.clone(), app.url(row.path));
    match caller {
        Caller::Session(person) if row.form => {
            request = request.form(&[
                ("csrf", person.csrf.as_str()),
                ("email", &format!("form{unique}@x.example")),
                ("role", "member"),
            ]);
        }
        Caller::Session(person) => request = request.header("x-csrf-token", &person.csrf),
        Caller::Token(secret) => request = request.bearer_auth(secret),
        Caller::Anonymous => {}
    }
    if let Some(body) = &row.body {
        let mut body = body.clone();
        if row.path == "/api/v1/invitations" {
            body["email"] = json!(format!("invitee{unique}@x.example"));
        }
        if let (true, Caller::Session(person)) = (needs_fresh_code(row.path), caller) {
            body["code"] = json!(code(&person.secret, clock));
            if body.get("current_password").is_some() {
                body["current_password"] = json!(person.password);
            }
        }
        if row.path == "/api/v1/accounts" {
            body["handle"] = json!(format!("@shop{unique}"));
        }
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// Routes that ask for the caller's own second factor again: each gets a fresh, right code.
fn needs_fresh_code(path: &str) -> bool {
    path.ends_with("/network-code")
        || [
            "/api/v1/passkeys/registration",
            "/api/v1/me/password",
            "/api/v1/me/authenticator",
            "/api/v1/me/recovery-codes",
        ]
        .contains(&path)
}

fn verdict(response: &reqwest::Response, row: &Row) -> Expect {
    let status = response.status();
    if row.hidden_as_not_found && status == StatusCode::NOT_FOUND {
        return Expect::Deny;
    }
    // Signing out also ends at the sign-in page, but only it clears the session cookie.
    let signed_out = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|cookie| {
            cookie
                .to_str()
                .is_ok_and(|cookie| cookie.starts_with("herald_session=;"))
        });
    let to_login = !signed_out
        && status.is_redirection()
        && response
            .headers()
            .get("location")
            .is_some_and(|location| location == "/login");
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || to_login {
        Expect::Deny
    } else {
        Expect::Allow
    }
}

#[tokio::test]
async fn every_route_lets_through_exactly_the_callers_it_should() {
    let (app, clock) = app().await;
    let mut owner = set_up(&app, &clock).await;
    let mut admin = invite_and_join(&app, &clock, &owner, "admin@sunny.example", "admin").await;
    let mut member = invite_and_join(&app, &clock, &owner, "member@sunny.example", "member").await;
    let token: Value = owner
        .post(&app, "/api/v1/tokens", json!({ "name": "all", "scopes": ["me:read", "members:read", "members:write", "audit:read", "accounts:read", "accounts:write", "policy:read", "posts:write", "staff"], "expires_in_days": 1 }))
        .await
        .json()
        .await
        .expect("JSON");
    let token = token["secret"].as_str().expect("secret").to_owned();

    let created: Value = crate::accounts::add_account(&app, &owner, "@sunnycafe", owner.id)
        .await
        .json()
        .await
        .expect("JSON");
    let account_id = AccountId::new(created["id"].as_i64().expect("account id"));
    let seed = owner
        .send(
            &app,
            Method::PUT,
            &format!("/api/v1/accounts/{account_id}/credentials/totp_seed"),
            Some(json!({ "value": "JBSWY3DPEHPK3PXP" })),
        )
        .await;
    assert_eq!(seed.status(), StatusCode::OK);
    let post: Value = owner
        .post(
            &app,
            "/api/v1/posts",
            json!({ "account_id": account_id, "text": "Fresh bread" }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let item = herald::store::NewInboxItem {
        account_id,
        network_key: "1".to_owned(),
        kind: herald::domain::inbox::ItemKind::Mention,
        author_id: "1".to_owned(),
        author_handle: "@ann@example.social".to_owned(),
        author_name: "Ann".to_owned(),
        text: "Hello https://example.org/".to_owned(),
        text_cut: false,
        url: None,
        reply_to: None,
        links: vec![herald::domain::inbox::JudgedLink {
            url: "https://example.org/".to_owned(),
            verdict: herald::domain::inbox::Verdict::Safe,
            destination: None,
            reasons: Vec::new(),
        }],
        verdict: herald::domain::inbox::Verdict::Safe,
        reasons: Vec::new(),
        impostor: false,
        received_at: jiff::Timestamp::UNIX_EPOCH,
    };
    assert!(
        app.store
            .add_inbox_item(&item, jiff::Timestamp::UNIX_EPOCH)
            .await
            .expect("item")
    );
    let rows = table(
        member.id.get(),
        account_id.get(),
        post["id"].as_i64().expect("post id"),
    );
    let mut failures = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        if needs_fresh_code(row.path) {
            clock.advance(SignedDuration::from_secs(30));
        }
        if row.path.contains("logout") {
            for person in [&mut owner, &mut admin, &mut member] {
                refresh_session(&app, &clock, person).await;
            }
        }
        let callers = [
            Caller::Anonymous,
            Caller::Session(&member),
            Caller::Session(&admin),
            Caller::Session(&owner),
            Caller::Token(&token),
        ];
        for (column, caller) in callers.iter().enumerate() {
            let response = call(&app, &clock, caller, row, index * 10 + column).await;
            let status = response.status();
            let got = verdict(&response, row);
            if got != row.expect[column] {
                let who = ["signed out", "member", "admin", "owner", "owner's token"][column];
                failures.push(format!(
                    "{} {} as {who}: expected {:?}, got {status}",
                    row.method, row.path, row.expect[column]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization mismatches:\n{}",
        failures.join("\n")
    );
}

/// Signs `person` in again (a fresh session and CSRF token), as the next TOTP step allows.
async fn refresh_session(
    app: &crate::helpers::TestApp,
    clock: &herald::clock::ManualClock,
    person: &mut Person,
) {
    clock.advance(SignedDuration::from_secs(30));
    let fresh = client();
    let response = fresh
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": person.email, "password": person.password, "code": code(&person.secret, clock) }))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
    let body: Value = response.json().await.expect("JSON");
    person.csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    person.client = fresh;
}

#[tokio::test]
async fn the_table_covers_every_route_the_server_has() {
    let (app, _clock) = app().await;
    let document: Value = app
        .get("/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("JSON");
    let mut documented = BTreeSet::new();
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let mut covered: BTreeSet<(String, String)> = table(7, 8, 9)
        .iter()
        .map(|row| {
            let path = row
                .path
                .split('?')
                .next()
                .unwrap_or_default()
                .replace("/grants/7", "/grants/{user_id}")
                .replace("/credentials/notes", "/credentials/{field}")
                .replace("/accounts/8", "/accounts/{id}")
                .replace("/posts/9", "/posts/{id}")
                .replace("/inbox/1", "/inbox/{id}")
                .replace("/links/0/follow", "/links/{index}/follow")
                .replace("/members/7", "/members/{id}")
                .replace("/sessions/no-such-session", "/sessions/{id}")
                .replace("/media/999999", "/media/{media_id}")
                .replace("/incidents/1", "/incidents/{id}")
                .replace("/steps/regain_access", "/steps/{step}")
                .replace("/incident-templates/holding", "/incident-templates/{kind}")
                .replace("/share/9/999999", "/share/{post_id}/{profile_id}")
                .replace("/share/9/text", "/share/{post_id}/text")
                .replace("/999999", "/{id}");
            (row.method.to_string(), path)
        })
        .collect();
    covered.extend(
        PUBLIC
            .iter()
            .chain(PUBLIC_PAGES)
            .map(|(method, path)| ((*method).to_owned(), (*path).to_owned())),
    );
    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "API routes missing from the authorization table: {missing:?}"
    );
}

#[tokio::test]
async fn public_routes_answer_everyone_alike() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    for (method, path) in [
        ("GET", "/api/v1/setup?email=x@y.example"),
        ("GET", "/api/v1/invitations/not-a-token"),
        ("GET", "/setup"),
        ("GET", "/invite/not-a-token"),
    ] {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let anonymous = client()
            .request(method.clone(), app.url(path))
            .send()
            .await
            .expect("request")
            .status();
        let signed_in = owner
            .client
            .request(method, app.url(path))
            .send()
            .await
            .expect("request")
            .status();
        assert_eq!(anonymous, signed_in, "{path}");
    }
}

/// A request that names a credential in `Authorization` is judged by it alone: a wrong or
/// unreadable one is refused even beside a valid session cookie.
#[tokio::test]
async fn a_wrong_authorization_header_is_refused_even_with_a_valid_session() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let me = |authorization: Option<&'static str>| {
        let mut request = owner.client.get(app.url("/api/v1/me"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    assert_eq!(me(None).await.expect("request").status(), StatusCode::OK);
    for wrong in [
        "Bearer hrld_not-a-token",
        "Basic b3duZXI6cGFzc3dvcmQ=",
        "hrld_bare",
    ] {
        let response = me(Some(wrong)).await.expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
}
