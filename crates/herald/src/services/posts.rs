//! Posts as the composer and the API use them: write a draft for one account, submit it
//! (checked against the policy guard and the network's length rule), approve it or send it
//! back. Every step is in the post's history and in the audit log.
//!
//! Giving a post its time is `schedule.rs`; approval here hands a post that already has one
//! to it.

use crate::domain::ids::{AccountId, PostId, UserId};
use guard::{Action, Finding};
use jiff::Timestamp;

use crate::domain::access::AccountAction;
use crate::domain::audit::{Actor, NewAuditEntry};
use crate::domain::people::Role;
use crate::domain::post_text::{self, Length};
use crate::domain::posts::{PostState, Step, approval_needed};
use crate::services::accounts::{self, Visible};
use crate::services::audit::record_for_post;
use crate::services::policy::{self};
use crate::services::{AppError, Entity, Services};
use crate::store::{AttemptRecord, CheckedSteps, PostEventRecord, PostRecord, Store, UserRecord};

/// Longest text Herald keeps for any post (Facebook's limit).
const LONGEST: usize = 63_206;

/// Longest reason an owner may give for overriding the policy, in characters: it is kept in
/// the audit log for good, where a sentence or two says why.
const LONGEST_OVERRIDE_REASON: usize = 1000;

/// A post with everything the composer shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostView {
    pub post: PostRecord,
    pub length: Length,
    pub history: Vec<PostEventRecord>,
    /// Every publishing attempt, oldest first.
    pub attempts: Vec<AttemptRecord>,
    /// The account's time zone, for showing the post's times.
    pub time_zone: String,
}

/// Writes a new draft for an account (contributors and up, once they accepted the policy).
pub async fn create(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    text: &str,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let visible = accounts::open(store, actor, account_id, AccountAction::Draft).await?;
    require_policy_accepted(store, actor).await?;
    crate::services::training::require_completed(store, actor).await?;
    check_text(&visible, text)?;
    let work = store.write().await?;
    let id = work.create_post(account_id, actor.id, text, now).await?;
    record_for_post(
        &work,
        now,
        actor,
        "post.drafted",
        id,
        serde_json::json!({ "account": account_id }),
    )
    .await?;
    work.commit().await?;
    view(store, actor, id).await
}

/// Replaces a draft's text (its author only).
pub async fn edit(
    store: &Store,
    actor: &UserRecord,
    id: PostId,
    text: &str,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let (post, visible) = open(store, actor, id, AccountAction::Draft).await?;
    only_author(&post, actor)?;
    post.state.after(Step::Edit).map_err(not_now)?;
    check_text(&visible, text)?;
    if !store.set_post_text(id, text, now).await? {
        return Err(AppError::Conflict(
            "the post was submitted meanwhile".to_owned(),
        ));
    }
    view(store, actor, id).await
}

/// Which text a submit or approve is about: the post, and the version of its text the caller
/// was shown. The step happens only while the post is still at that version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub id: PostId,
    pub version: i64,
}

/// Submits a draft. A "block" finding stops it (audited with the rule ids, never the text),
/// unless an owner overrides with a reason. A "require approval" finding, or an author below
/// publisher, sends it for approval; otherwise it is approved at once. The text scanned is the
/// text submitted: the step is a compare-and-set on the version the caller named, which is
/// also the version scanned here.
pub async fn submit(
    services: &Services,
    actor: &UserRecord,
    seen: Seen,
    override_reason: Option<&str>,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let Services { store, .. } = services;
    let guard = services.policy.as_ref();
    let max_attempts = services.config.jobs.max_attempts;
    let id = seen.id;
    let (post, visible) = open(store, actor, id, AccountAction::Draft).await?;
    only_author(&post, actor)?;
    require_policy_accepted(store, actor).await?;
    crate::services::training::require_completed(store, actor).await?;
    require_version(&post, seen)?;
    check_override_reason(override_reason)?;
    let submitted = post.state.after(Step::Submit).map_err(not_now)?;
    check_text(&visible, &post.text)?;
    crate::services::media::check_post(store, visible.account.network, id).await?;
    let (findings, strictest) = policy::scan_reaching(
        store,
        guard,
        &post.text,
        now,
        crate::services::links::Reach::ShortLinks,
    )
    .await?;
    let rules: Vec<&str> = findings
        .iter()
        .map(|finding| finding.rule.as_str())
        .collect();
    let mut entries = Vec::new();
    if strictest == Some(Action::Block) {
        entries.push(blocked(store, actor, &post, &findings, override_reason, now).await?);
    }
    let needs_approval = approval_needed(visible.level, strictest >= Some(Action::RequireApproval));
    let mut steps = vec![(post.state, submitted, "submitted")];
    if !needs_approval {
        let note = "approved on submission: the author may publish to this account";
        steps.push((submitted, PostState::Approved, note));
    }
    let details = serde_json::json!({
        "rules": rules,
        "needs_approval": needs_approval,
        "version": post.version,
        "text_sha256": text_sha256(&post.text),
    });
    entries.push(entry(actor, "post.submitted", id, details));
    let work = store.write().await?;
    step_checked(&work, &post, &steps, actor, &entries, now).await?;
    if needs_approval {
        crate::services::webhooks::raise(
            &work,
            crate::domain::webhooks::WebhookEvent::PostAwaitingApproval,
            "A post waits for approval",
            &format!(
                "{} submitted post {id} to {} for approval",
                actor.name, visible.account.display_name
            ),
            Some(&format!("/posts/{id}")),
            serde_json::json!({ "post_id": id, "account_id": visible.account.id }),
            now,
        )
        .await?;
    }
    if !needs_approval {
        crate::services::schedule::after_approval(
            &work,
            &post,
            &visible.account,
            actor,
            max_attempts,
            now,
        )
        .await?;
    }
    work.commit().await?;
    view(store, actor, id).await
}

/// Approves someone else's submitted post (publishers and the gatekeeper), at the version of
/// its text the approver was shown.
pub async fn approve(
    store: &Store,
    actor: &UserRecord,
    seen: Seen,
    max_attempts: u32,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let id = seen.id;
    let (post, visible) = open(store, actor, id, AccountAction::Publish).await?;
    if post.author_id == actor.id {
        return Err(AppError::Denied(
            "nobody approves their own post; ask another publisher".to_owned(),
        ));
    }
    require_version(&post, seen)?;
    let approved = post.state.after(Step::Approve).map_err(not_now)?;
    let details = serde_json::json!({
        "version": post.version,
        "text_sha256": text_sha256(&post.text),
    });
    let entries = [entry(actor, "post.approved", id, details)];
    let steps = [(post.state, approved, "approved")];
    let work = store.write().await?;
    step_checked(&work, &post, &steps, actor, &entries, now).await?;
    crate::services::schedule::after_approval(
        &work,
        &post,
        &visible.account,
        actor,
        max_attempts,
        now,
    )
    .await?;
    work.commit().await?;
    view(store, actor, id).await
}

/// What a "block" finding means for a submission: an owner's override with a reason (its
/// audit entry, written with the step), or a refusal, audited at once with the blocking rule
/// ids (never the text).
async fn blocked(
    store: &Store,
    actor: &UserRecord,
    post: &PostRecord,
    findings: &[Finding],
    override_reason: Option<&str>,
    now: Timestamp,
) -> Result<NewAuditEntry, AppError> {
    let blocking: Vec<&Finding> = findings
        .iter()
        .filter(|finding| finding.action == Action::Block)
        .collect();
    let reason = override_reason
        .map(str::trim)
        .filter(|reason| !reason.is_empty());
    let refusal = match reason {
        Some(reason) if actor.role == Role::Owner => {
            let rules: Vec<&str> = findings
                .iter()
                .map(|finding| finding.rule.as_str())
                .collect();
            let details = serde_json::json!({ "rules": rules, "reason": reason });
            return Ok(entry(actor, "post.policy_overridden", post.id, details));
        }
        Some(_) => AppError::Denied("only an owner can override the policy".to_owned()),
        None => {
            let named: Vec<String> = blocking
                .iter()
                .map(|finding| format!("{} ({})", finding.rule.as_str(), finding.message))
                .collect();
            AppError::Invalid {
                field: "text",
                message: format!(
                    "the policy blocks this post: {}. Change the text, or ask an owner to override with a reason",
                    named.join("; ")
                ),
            }
        }
    };
    let rules: Vec<&str> = blocking
        .iter()
        .map(|finding| finding.rule.as_str())
        .collect();
    let details = serde_json::json!({
        "rules": rules,
        "version": post.version,
        "override_refused": reason.is_some(),
    });
    record_for_post(store, now, actor, "post.submit_blocked", post.id, details).await?;
    Err(refusal)
}

/// The SHA-256 of a post's text, in hex: what the audit log keeps of the text submitted or
/// approved (never the text itself), so the entry can be matched to the text later.
pub fn text_sha256(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Sends a submitted or approved post back to its author as a draft, with a note.
pub async fn send_back(
    store: &Store,
    actor: &UserRecord,
    id: PostId,
    note: &str,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let (post, _) = open(store, actor, id, AccountAction::Publish).await?;
    let draft = post.state.after(Step::SendBack).map_err(not_now)?;
    let note = match note.trim() {
        "" => "sent back".to_owned(),
        note => format!("sent back: {}", note.chars().take(500).collect::<String>()),
    };
    let work = store.write().await?;
    step(&work, id, post.state, draft, actor, &note, now).await?;
    record_for_post(
        &work,
        now,
        actor,
        "post.sent_back",
        id,
        serde_json::json!({}),
    )
    .await?;
    work.commit().await?;
    view(store, actor, id).await
}

/// Settles an unconfirmed post by hand (publisher access): someone looked on the network and
/// found it there, or not (then it is failed and can be rescheduled). Herald never decides
/// this alone after its last attempt, because guessing wrong means a post twice or never.
pub async fn settle_unconfirmed(
    store: &Store,
    actor: &UserRecord,
    id: PostId,
    on_network: bool,
    now: Timestamp,
) -> Result<PostView, AppError> {
    let (post, visible) = open(store, actor, id, AccountAction::Publish).await?;
    let settle = if on_network {
        Step::ConfirmPublished
    } else {
        Step::ConfirmMissing
    };
    let settled = post.state.after(settle).map_err(not_now)?;
    let network = visible.account.network.label();
    let note = if on_network {
        format!("marked published: it is on {network}")
    } else {
        format!("marked not published: it is not on {network}; reschedule it to try again")
    };
    let work = store.write().await?;
    step(&work, id, post.state, settled, actor, &note, now).await?;
    let details = serde_json::json!({ "on_network": on_network });
    record_for_post(&work, now, actor, "post.unconfirmed_settled", id, details).await?;
    work.commit().await?;
    view(store, actor, id).await
}

/// The post, its length for its network and its history, for anyone who may see its account.
pub async fn view(store: &Store, actor: &UserRecord, id: PostId) -> Result<PostView, AppError> {
    let (post, visible) = open(store, actor, id, AccountAction::View).await?;
    Ok(PostView {
        length: post_text::length(visible.account.network, &post.text, None),
        history: store.post_history(id).await?,
        attempts: store.post_attempts(id).await?,
        time_zone: visible.account.time_zone.clone(),
        post,
    })
}

/// What a list of posts asks for; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub account_id: Option<AccountId>,
    pub state: Option<PostState>,
    pub author_id: Option<UserId>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// One page of a list of posts, with the accounts they belong to.
#[derive(Debug, Clone)]
pub struct PostList {
    pub posts: Vec<(PostRecord, Visible)>,
    /// How many posts match in all pages.
    pub total: i64,
}

/// The most posts one page of a list shows.
pub const LONGEST_PAGE: i64 = 200;

/// The posts on accounts `actor` may see that match `filter`, newest activity first: `per_page`
/// of them (1 to [`LONGEST_PAGE`]) from page `page` (1 is the first).
pub async fn list(
    store: &Store,
    actor: &UserRecord,
    filter: &ListFilter,
    page: i64,
    per_page: i64,
) -> Result<PostList, AppError> {
    let visible = accounts::visible(store, actor).await?;
    list_in(store, &visible, filter, page, per_page).await
}

/// [`list`] for a caller that already holds the accounts the member may see (`visible`, from
/// [`accounts::visible`]), so that one page asking for several lists reads them once.
pub async fn list_in(
    store: &Store,
    visible: &[Visible],
    filter: &ListFilter,
    page: i64,
    per_page: i64,
) -> Result<PostList, AppError> {
    if !(1..=LONGEST_PAGE).contains(&per_page) {
        return Err(AppError::invalid(
            "per_page",
            format!("Ask for 1 to {LONGEST_PAGE} posts a page."),
        ));
    }
    if page < 1 {
        return Err(AppError::invalid("page", "Pages are numbered from 1."));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to <= from
    {
        return Err(AppError::invalid(
            "to",
            "The end of the period must be after its start.",
        ));
    }
    let listed: Vec<&Visible> = visible
        .iter()
        .filter(|seen| filter.account_id.is_none_or(|id| seen.account.id == id))
        .collect();
    if let (Some(id), true) = (filter.account_id, listed.is_empty()) {
        return Err(AppError::not_found(
            Entity::Account,
            format!("there is no account {id}"),
        ));
    }
    let query = crate::store::PostQuery {
        accounts: listed.iter().map(|seen| seen.account.id).collect(),
        state: filter.state,
        author_id: filter.author_id,
        from: filter.from,
        to: filter.to,
        limit: per_page,
        offset: page.saturating_sub(1).saturating_mul(per_page),
    };
    let (posts, total) = store.posts_matching(&query).await?;
    Ok(PostList {
        posts: with_accounts(posts, visible),
        total,
    })
}

/// Each post with its account, for the posts whose account is among `visible` (the others
/// are left out).
pub fn with_accounts(posts: Vec<PostRecord>, visible: &[Visible]) -> Vec<(PostRecord, Visible)> {
    posts
        .into_iter()
        .filter_map(|post| {
            let seen = visible
                .iter()
                .find(|seen| seen.account.id == post.account_id)?;
            Some((post, seen.clone()))
        })
        .collect()
}

/// Submitted posts that `actor` may approve (publisher access, not their own), newest first.
pub async fn awaiting_review(
    store: &Store,
    actor: &UserRecord,
) -> Result<Vec<PostRecord>, AppError> {
    let mut reviewable = Vec::new();
    for post in store.posts_in_state(PostState::Submitted, 200).await? {
        if post.author_id == actor.id {
            continue;
        }
        if accounts::open(store, actor, post.account_id, AccountAction::Publish)
            .await
            .is_ok()
        {
            reviewable.push(post);
        }
    }
    Ok(reviewable)
}

/// Refuses members who have not accepted the current policy (when one is published).
async fn require_policy_accepted(store: &Store, actor: &UserRecord) -> Result<(), AppError> {
    match policy::document(store, actor).await? {
        Some(document) if document.acknowledged_at.is_none() => Err(AppError::Denied(format!(
            "read and accept the social media policy (version {}) before posting",
            document.version
        ))),
        _ => Ok(()),
    }
}

/// The post and its account, if `actor` may do `action` there; a post on an account they
/// cannot see does not exist for them.
pub(crate) async fn open(
    store: &Store,
    actor: &UserRecord,
    id: PostId,
    action: AccountAction,
) -> Result<(PostRecord, Visible), AppError> {
    let not_found = || AppError::not_found(Entity::Post, format!("there is no post {id}"));
    let post = store.post(id).await?.ok_or_else(not_found)?;
    let visible = match accounts::open(store, actor, post.account_id, action).await {
        Err(AppError::NotFound { .. }) => return Err(not_found()),
        other => other?,
    };
    Ok((post, visible))
}

fn only_author(post: &PostRecord, actor: &UserRecord) -> Result<(), AppError> {
    if post.author_id == actor.id {
        return Ok(());
    }
    Err(AppError::Denied(
        "only the post's author can change or submit it".to_owned(),
    ))
}

/// Refuses an override reason too long for the audit log, whether or not the policy blocks
/// the post, so the same request is not accepted for one text and refused for another.
fn check_override_reason(override_reason: Option<&str>) -> Result<(), AppError> {
    let too_long = override_reason
        .is_some_and(|reason| reason.trim().chars().count() > LONGEST_OVERRIDE_REASON);
    if !too_long {
        return Ok(());
    }
    Err(AppError::Invalid {
        field: "override_reason",
        message: format!(
            "say why in at most {LONGEST_OVERRIDE_REASON} characters; the reason is kept in the audit log"
        ),
    })
}

fn check_text(visible: &Visible, text: &str) -> Result<(), AppError> {
    let invalid = |message: String| AppError::Invalid {
        field: "text",
        message,
    };
    if text.trim().is_empty() {
        return Err(invalid("write the post: it is empty".to_owned()));
    }
    if text.len() > LONGEST {
        return Err(invalid(format!(
            "the post is {} bytes long; Herald keeps posts of at most {LONGEST} bytes, and no network takes one this long",
            text.len()
        )));
    }
    let length = post_text::length(visible.account.network, text, None);
    if !length.fits() {
        let network = visible.account.network.label();
        return Err(invalid(match length.bytes {
            Some((used, limit)) if used > limit => {
                format!("{network} allows {limit} bytes; this post has {used}")
            }
            _ => format!(
                "{network} allows {} {}; this post has {}",
                length.limit, length.unit, length.used
            ),
        }));
    }
    Ok(())
}

/// Moves post `id` from `from` to `to`, or reports that someone else moved it first.
async fn step(
    store: &Store,
    id: PostId,
    from: PostState,
    to: PostState,
    actor: &UserRecord,
    note: &str,
    now: Timestamp,
) -> Result<(), AppError> {
    if store.step_post(id, from, to, actor.id, note, now).await? {
        return Ok(());
    }
    Err(AppError::Conflict(
        "someone else changed this post meanwhile; reload it".to_owned(),
    ))
}

/// Takes `steps` (with their audit entries) only while the post is still at the version
/// `post` was read at, or reports that it changed.
async fn step_checked(
    store: &Store,
    post: &PostRecord,
    steps: &[(PostState, PostState, &str)],
    actor: &UserRecord,
    audit: &[NewAuditEntry],
    now: Timestamp,
) -> Result<(), AppError> {
    let checked = CheckedSteps {
        id: post.id,
        version: post.version,
        steps,
        actor_id: actor.id,
        audit,
        now,
    };
    if store.step_post_checked(&checked).await? {
        return Ok(());
    }
    Err(changed_since_read())
}

fn require_version(post: &PostRecord, seen: Seen) -> Result<(), AppError> {
    if post.version == seen.version {
        return Ok(());
    }
    Err(changed_since_read())
}

fn changed_since_read() -> AppError {
    AppError::Conflict("the post changed since you read it: read it again".to_owned())
}

pub(crate) fn not_now(error: crate::domain::posts::NotNow) -> AppError {
    AppError::Conflict(error.to_string())
}

fn entry(
    actor: &UserRecord,
    action: &str,
    id: PostId,
    details: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: Actor::User(actor.id),
        action: action.to_owned(),
        target: Some(format!("post:{id}")),
        ip: None,
        details,
    }
}
