//! What a member's home page is about: the first-run checklist (until it is done), the posts
//! waiting for their approval, their own drafts and sent-back posts, what goes out next, the
//! accounts that need attention. Read only; each part is limited to what the member may see.

use crate::domain::ids::PostId;
use jiff::Timestamp;

use crate::domain::accounts::SecretField;
use crate::domain::people::Role;
use crate::domain::posts::PostState;
use crate::services::AppError;
use crate::services::accounts::{self, Visible};
use crate::services::posts::{self, ListFilter};
use crate::store::{PostRecord, Store, UserRecord};

/// How many posts each list on the home page shows.
const SHOWN: i64 = 8;

/// The home page's content for one member.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The steps of setting Herald up, for owners and admins until every one is done.
    pub checklist: Option<Vec<Step>>,
    pub to_review: Vec<(PostRecord, Visible)>,
    /// The member's own drafts; a sent-back one carries the reviewer's note.
    pub drafts: Vec<(PostRecord, Visible, Option<String>)>,
    /// Scheduled posts, soonest first.
    pub next_out: Vec<(PostRecord, Visible)>,
    pub attention: Vec<Attention>,
}

/// One step of the first-run checklist.
#[derive(Debug, Clone)]
pub struct Step {
    pub label: &'static str,
    pub hint: &'static str,
    pub done: bool,
    pub href: String,
}

/// An account that needs someone to act, and why.
#[derive(Debug, Clone)]
pub struct Attention {
    pub account: Visible,
    /// What is wrong and what to do, in a sentence.
    pub problem: String,
    pub href: String,
}

pub async fn overview(
    store: &Store,
    actor: &UserRecord,
    now: Timestamp,
) -> Result<Overview, AppError> {
    let visible = accounts::visible(store, actor).await?;
    let mut to_review = posts::with_accounts(posts::awaiting_review(store, actor).await?, &visible);
    to_review.truncate(usize::try_from(SHOWN).unwrap_or(8));
    let mine = ListFilter {
        author_id: Some(actor.id),
        state: Some(PostState::Draft),
        ..ListFilter::default()
    };
    let mut drafts = Vec::new();
    for (post, seen) in posts::list_in(store, &visible, &mine, 1, SHOWN)
        .await?
        .posts
    {
        let note = sent_back_note(store, post.id).await?;
        drafts.push((post, seen, note));
    }
    let coming = ListFilter {
        state: Some(PostState::Scheduled),
        from: Some(now),
        ..ListFilter::default()
    };
    // The list is newest first; the home page wants the soonest, so it reads a long page.
    let mut next_out = posts::list_in(store, &visible, &coming, 1, posts::LONGEST_PAGE)
        .await?
        .posts;
    next_out.sort_by_key(|(post, _)| (post.scheduled_at, post.id));
    next_out.truncate(usize::try_from(SHOWN).unwrap_or(8));
    Ok(Overview {
        checklist: checklist(store, actor, &visible).await?,
        to_review,
        drafts,
        next_out,
        attention: attention(store, &visible).await?,
    })
}

/// The reviewer's note when the draft's last step was being sent back.
async fn sent_back_note(store: &Store, post_id: PostId) -> Result<Option<String>, AppError> {
    let history = store.post_history(post_id).await?;
    Ok(history.last().and_then(|event| {
        let sent_back = event.from_state.as_deref() == Some(PostState::Submitted.as_str())
            && event.to_state == PostState::Draft.as_str();
        sent_back.then(|| event.note.clone())
    }))
}

async fn checklist(
    store: &Store,
    actor: &UserRecord,
    visible: &[Visible],
) -> Result<Option<Vec<Step>>, AppError> {
    if actor.role == Role::Member {
        return Ok(None);
    }
    let first = visible.first().map(|seen| seen.account.id);
    let account_page = |anchor: &str| {
        first.map_or_else(
            || "/accounts".to_owned(),
            |id| format!("/accounts/{id}#{anchor}"),
        )
    };
    let mut password_stored = false;
    for seen in visible {
        let secrets = store.secrets_of(seen.account.id).await?;
        if secrets
            .iter()
            .any(|secret| secret.field == SecretField::LoginPassword.as_str())
        {
            password_stored = true;
            break;
        }
    }
    let team =
        store.list_users().await?.len() > 1 || !store.pending_invitations().await?.is_empty();
    let steps = vec![
        Step {
            label: "Add your first social account",
            hint: "The company's page on X, LinkedIn, Facebook, Instagram, Threads, Bluesky or Mastodon.",
            done: !visible.is_empty(),
            href: "/accounts#add".to_owned(),
        },
        Step {
            label: "Connect it so Herald can post",
            hint: "Sign in to the network once; Herald keeps the connection, not the password.",
            done: visible
                .iter()
                .any(|seen| seen.account.connection == "connected"),
            href: account_page("connection"),
        },
        Step {
            label: "Keep its password in Herald's vault",
            hint: "Only the account's gatekeeper can see it; nobody else needs it.",
            done: password_stored,
            href: account_page("credentials"),
        },
        Step {
            label: "Invite your team",
            hint: "Colleagues write posts; you decide who may publish on which account.",
            done: team,
            href: "/members#invite".to_owned(),
        },
        Step {
            label: "Publish your social media policy",
            hint: "Everyone reads and accepts it before their first post.",
            done: store.policy_document().await?.is_some(),
            href: "/policy".to_owned(),
        },
    ];
    Ok((!steps.iter().all(|step| step.done)).then_some(steps))
}

/// The accounts the member may see that need someone: not connected, a password to change,
/// no gatekeeper, posts that failed.
async fn attention(store: &Store, visible: &[Visible]) -> Result<Vec<Attention>, AppError> {
    let mut out = Vec::new();
    for seen in visible {
        let id = seen.account.id;
        let mut say = |problem: String, href: String| {
            out.push(Attention {
                account: seen.clone(),
                problem,
                href,
            });
        };
        match seen.account.connection.as_str() {
            "connected" => {}
            "reconnect_needed" => say(
                "The network ended Herald's connection: connect it again before its next post."
                    .to_owned(),
                format!("/accounts/{id}#connection"),
            ),
            _ => say(
                "Not connected yet: posts for it cannot go out until it is.".to_owned(),
                format!("/accounts/{id}#connection"),
            ),
        }
        let gatekeeper = store.user_by_id(seen.account.gatekeeper_id).await?;
        if !gatekeeper.is_some_and(|user| user.active) {
            say(
                "Its gatekeeper has left: an owner names a new one on the account's page."
                    .to_owned(),
                format!("/accounts/{id}#access"),
            );
        }
        let pending = store
            .rotations_of(id)
            .await?
            .into_iter()
            .any(|rotation| rotation.done_at.is_none());
        if pending {
            say(
                "Change its password now: someone who knew it has left, or it was found in a breach."
                    .to_owned(),
                format!("/accounts/{id}#credentials"),
            );
        }
        for state in [PostState::Failed, PostState::Unconfirmed] {
            let filter = ListFilter {
                account_id: Some(id),
                state: Some(state),
                ..ListFilter::default()
            };
            let failed = posts::list_in(store, visible, &filter, 1, 1).await?.total;
            if failed > 0 {
                let what = if state == PostState::Failed {
                    "did not go out"
                } else {
                    "may not have gone out"
                };
                say(
                    format!(
                        "{failed} post{} {what}: look at {} and try again.",
                        if failed == 1 { "" } else { "s" },
                        if failed == 1 { "it" } else { "them" }
                    ),
                    format!("/posts?account={id}&state={}", state.as_str()),
                );
            }
        }
    }
    Ok(out)
}
