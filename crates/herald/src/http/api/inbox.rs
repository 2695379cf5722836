//! `/api/v1/inbox`: the screened inbox of every account the caller may see, an item's
//! history, and changing an item (done or open, assignee, a note). Links come defanged with
//! their verdict; they are never given as links to follow.

// utoipa's expansion of `params(InboxQuery)` names the type with a path the lint dislikes.
#![allow(unused_qualifications)]

use crate::domain::ids::{AccountId, PostId, UserId};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::access::Permission;
use crate::domain::accounts::Network;
use crate::domain::inbox::{ItemKind, ItemState, Verdict, defang};
use crate::http::auth::Caller;
use crate::http::extract::{ApiJson, ApiPath, ApiQuery};
use crate::http::{ApiError, AppState};
use crate::services::accounts::Visible;
use crate::services::inbox::{self, Change, InboxFilter, ItemView};
use crate::store::InboxItemRecord;

/// Which items to list; every filter is optional.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Only this account's items; an account the caller cannot see is 404.
    #[param(example = 1)]
    pub account_id: Option<AccountId>,
    pub kind: Option<ItemKind>,
    pub verdict: Option<Verdict>,
    /// `open` or `done`.
    pub state: Option<ItemState>,
    /// Only the items assigned to the caller.
    pub mine: Option<bool>,
    /// The next page: the `next` of the page before (an item the caller cannot see gives an
    /// empty page).
    #[param(example = 120)]
    pub after: Option<i64>,
    /// Items a page, 1 to 200; 50 by default.
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub per_page: Option<i64>,
}

/// A link in an item, never as a link: defanged, with its verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxLink {
    /// The link made unclickable (`hxxps[://]example[.]com/…`).
    pub defanged: String,
    pub verdict: Verdict,
    /// Where a short link leads, defanged.
    pub destination: Option<String>,
    pub reasons: Vec<String>,
}

/// One inbox item.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 12, "account_id": 1, "account_name": "Café Lune", "network": "mastodon",
    "kind": "mention", "author_handle": "@cafe_lune_help@evil.example",
    "author_name": "Café Lune Support", "text": "DM us your card to get a refund: hxxps[://]evil[.]example/refund",
    "text_cut": false, "url": "https://evil.example/@cafe_lune_help/1",
    "links": [{"defanged": "hxxps[://]evil[.]example/refund", "verdict": "dangerous", "destination": null,
               "reasons": ["The link to evil.example is known malware or phishing (or leads there)."]}],
    "verdict": "dangerous", "reasons": ["The sender calls itself by the company's name Café Lune with “support”: a common way to pose as its customer service."],
    "impostor": true, "state": "open", "assignee_id": null, "answerable": true,
    "received_at": "2026-12-01T08:00:00Z", "fetched_at": "2026-12-01T08:01:00Z"
}))]
pub struct ItemSummary {
    pub id: i64,
    pub account_id: AccountId,
    pub account_name: String,
    pub network: Network,
    pub kind: ItemKind,
    pub author_handle: String,
    /// As the sender chose it: any text at all. Escape it before showing it.
    pub author_name: String,
    /// The text, its links defanged.
    pub text: String,
    /// The network's text was longer; Herald kept the first 10,000 characters.
    pub text_cut: bool,
    /// Where the item is on the network.
    pub url: Option<String>,
    pub links: Vec<InboxLink>,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The sender looks like one of the company's own accounts or names.
    pub impostor: bool,
    pub state: ItemState,
    pub assignee_id: Option<UserId>,
    /// Whether a reply can be threaded under it (not a new follower).
    pub answerable: bool,
    #[schema(format = DateTime)]
    pub received_at: String,
    #[schema(format = DateTime)]
    pub fetched_at: String,
}

/// One page of items, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemPage {
    pub items: Vec<ItemSummary>,
    /// Ask `after` with this for the next page; null on the last.
    pub next: Option<i64>,
}

/// One step of an item's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemEvent {
    #[schema(format = DateTime)]
    pub at: String,
    pub actor_id: Option<UserId>,
    /// `assigned`, `unassigned`, `done`, `reopened`, `note`, `replied`, `link_opened`,
    /// `link_followed`, `reported`.
    pub what: String,
    pub detail: String,
    /// The reply, for `replied`.
    pub post_id: Option<PostId>,
}

/// An item with its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemResponse {
    #[serde(flatten)]
    pub item: ItemSummary,
    pub history: Vec<ItemEvent>,
}

/// A change to an item; give at least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"state": "done", "assignee_id": 3, "note": "Refund sent by email."}))]
pub struct ItemChange {
    /// `done` or `open` again.
    #[serde(default)]
    pub state: Option<ItemState>,
    /// The member who deals with it (they must see the account); null unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<UserId>>,
    /// Added to the item's history; 1 to 2,000 characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 2000)]
    pub note: Option<String>,
}

/// A field that is there, even as null (`Some(None)`), apart from one left out (`None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<UserId>>, D::Error> {
    Option::<UserId>::deserialize(deserializer).map(Some)
}

/// Lists the inbox
///
/// What came in to the accounts the caller can see (mentions, replies, comments, messages, new
/// followers), newest first, each screened: links defanged with their verdicts, impostors
/// flagged. Filters are optional; `next` pages on.
#[utoipa::path(get, path = "/api/v1/inbox", operation_id = "list_inbox", tag = "inbox", security(("token" = ["accounts:read"]), ("session" = [])), params(InboxQuery),
    responses((status = 200, description = "One page, newest first", body = ItemPage), (status = 404, description = "No such account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "A page size out of range", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<ItemPage>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let filter = InboxFilter {
        account_id: query.account_id,
        kind: query.kind,
        verdict: query.verdict,
        state: query.state,
        mine: query.mine.unwrap_or(false),
        after: query.after,
        per_page: query.per_page.unwrap_or(50),
    };
    let page = inbox::list(&state.store, &caller.user, &filter).await?;
    Ok(Json(ItemPage {
        items: page
            .items
            .into_iter()
            .map(|(item, seen)| item_summary(item, &seen))
            .collect(),
        next: page.next,
    }))
}

/// The inbox's counts.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"open": 3, "newest": 41}))]
pub struct InboxSummary {
    /// Items still open in the accounts the caller can see.
    pub open: i64,
    /// The newest item's id; null when there is none.
    pub newest: Option<i64>,
}

/// Counts the inbox
///
/// How many items are open in the accounts the caller can see, and the newest item's id: the
/// web app's menu and "new items" notice poll this.
#[utoipa::path(get, path = "/api/v1/inbox/summary", operation_id = "inbox_summary", tag = "inbox", security(("token" = ["accounts:read"]), ("session" = [])),
    responses((status = 200, description = "The counts", body = InboxSummary)))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<InboxSummary>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    let summary = inbox::summary(&state.store, &caller.user).await?;
    Ok(Json(InboxSummary {
        open: summary.open,
        newest: summary.newest,
    }))
}

/// Shows an inbox item
///
/// One item with its history (assigned, done, notes, replies, links opened, reports).
#[utoipa::path(get, path = "/api/v1/inbox/{id}", operation_id = "show_inbox_item", tag = "inbox", security(("token" = ["accounts:read"]), ("session" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "The item", body = ItemResponse), (status = 404, description = "No such item", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ItemResponse>, ApiError> {
    caller.require(Permission::ViewAccounts)?;
    Ok(Json(response(
        inbox::view(&state.store, &caller.user, id).await?,
    )))
}

/// Changes an inbox item
///
/// Marks it done or open again, assigns it (null unassigns) or adds a note; contributors and
/// up on its account. Each change is in the item's history and the audit log.
#[utoipa::path(patch, path = "/api/v1/inbox/{id}", operation_id = "change_inbox_item", tag = "inbox", security(("token" = ["posts:write"]), ("session" = [])), request_body = ItemChange, params(("id" = i64, Path)),
    responses((status = 200, description = "Changed", body = ItemResponse), (status = 403, description = "A viewer of the account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such item", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Nothing to change, an empty or too long note, or an assignee who cannot see the account", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ItemChange>,
) -> Result<Json<ItemResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let change = Change {
        state: request.state,
        assignee_id: request.assignee_id,
        note: request.note,
    };
    Ok(Json(response(
        inbox::change(&state.store, &caller.user, id, &change, now).await?,
    )))
}

/// Follows a short link in an inbox item
///
/// Reading never follows a stranger's link, so a short link (bit.ly and the like, or one of
/// `links.short_link_hosts`) is suspicious until someone asks where it leads. This follows
/// link `index` (as listed in the item's `links`, from 0) now, through Herald's hardened
/// client (public addresses only, at most ten redirects, a hop on a threat list or imitating
/// the company never visited): the link's verdict and destination are updated (dangerous when
/// it leads somewhere dangerous), the item's verdict is judged again, and both the item's
/// history and the audit log record it. Contributors and up on the item's account.
#[utoipa::path(post, path = "/api/v1/inbox/{id}/links/{index}/follow", operation_id = "follow_inbox_link", tag = "inbox", security(("token" = ["posts:write"]), ("session" = [])), params(("id" = i64, Path), ("index" = usize, Path, description = "The link's place in the item's `links`, from 0")),
    responses((status = 200, description = "The item with the link followed", body = ItemResponse), (status = 403, description = "A viewer of the account", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such item, or no such link in it", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "The link is not a short link: there is nowhere hidden to follow", body = crate::http::Problem, content_type = "application/problem+json"), (status = 503, description = "Herald runs without link safety", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn follow_link(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, index)): ApiPath<(i64, usize)>,
) -> Result<Json<ItemResponse>, ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    Ok(Json(response(
        inbox::follow_link(&state.services, &caller.user, id, index, now).await?,
    )))
}

/// A reply to an item.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "@ann Thank you! We open at 8 on Sundays."}))]
pub struct ReplyRequest {
    /// The reply's text: not blank, and no longer than the account's network allows.
    #[schema(min_length = 1)]
    pub text: String,
}

/// What became of a reply: a post like any other.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"post_id": 31, "state": "scheduled", "problem": null}))]
pub struct ReplyResponse {
    /// The reply's post (`/api/v1/posts/{id}`).
    pub post_id: PostId,
    /// `scheduled` (going out now, threaded under the item), `submitted` (waiting for
    /// approval), `approved` (not sent: see `problem`) or `draft` (refused: see `problem`).
    pub state: crate::domain::posts::PostState,
    pub problem: Option<String>,
}

/// Replies to an inbox item
///
/// Writes the reply as a post on the item's account and submits it like any post: the policy
/// guard, the account's approval rule and the network's length rule apply. A publisher's reply
/// goes out at once, threaded under the item (Mastodon `in_reply_to_id`, Bluesky root and
/// parent); a contributor's waits for approval. The item's history names the post.
#[utoipa::path(post, path = "/api/v1/inbox/{id}/reply", operation_id = "reply_to_inbox_item", tag = "inbox", security(("token" = ["posts:write"]), ("session" = [])), request_body = ReplyRequest, params(("id" = i64, Path)),
    responses((status = 201, description = "The reply's post, and how far it got", body = ReplyResponse), (status = 403, description = "A viewer of the account, or the policy not accepted yet", body = crate::http::Problem, content_type = "application/problem+json"), (status = 404, description = "No such item", body = crate::http::Problem, content_type = "application/problem+json"), (status = 409, description = "The item cannot be answered (a new follower)", body = crate::http::Problem, content_type = "application/problem+json"), (status = 422, description = "Empty or too long", body = crate::http::Problem, content_type = "application/problem+json")))]
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ReplyRequest>,
) -> Result<(axum::http::StatusCode, Json<ReplyResponse>), ApiError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let replied = inbox::reply(&state.services, &caller.user, id, &request.text, now).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(ReplyResponse {
            post_id: replied.post.post.id,
            state: replied.post.post.state,
            problem: replied.problem,
        }),
    ))
}

/// An item as the API shows it: text and links defanged.
pub fn item_summary(item: InboxItemRecord, seen: &Visible) -> ItemSummary {
    let mut text = item.text;
    let mut links: Vec<&str> = item.links.iter().map(|link| link.url.as_str()).collect();
    // Longest first, so a link that begins another is not defanged inside it.
    links.sort_by_key(|url| std::cmp::Reverse(url.len()));
    for url in links {
        text = text.replace(url, &defang(url));
    }
    ItemSummary {
        id: item.id,
        account_id: item.account_id,
        account_name: seen.account.display_name.clone(),
        network: seen.account.network,
        kind: item.kind,
        author_handle: item.author_handle,
        author_name: item.author_name,
        text,
        text_cut: item.text_cut,
        url: item.url,
        links: item
            .links
            .iter()
            .map(|link| InboxLink {
                defanged: defang(&link.url),
                verdict: link.verdict,
                destination: link.destination.as_deref().map(defang),
                reasons: link.reasons.clone(),
            })
            .collect(),
        verdict: item.verdict,
        reasons: item.reasons,
        impostor: item.impostor,
        state: item.state,
        assignee_id: item.assignee_id,
        answerable: item.reply_to.is_some(),
        received_at: item.received_at.to_string(),
        fetched_at: item.fetched_at.to_string(),
    }
}

fn response(view: ItemView) -> ItemResponse {
    ItemResponse {
        item: item_summary(view.item, &view.account),
        history: view
            .history
            .into_iter()
            .map(|event| ItemEvent {
                at: event.at.to_string(),
                actor_id: event.actor_id,
                what: event.what,
                detail: event.detail,
                post_id: event.post_id,
            })
            .collect(),
    }
}
