//! The screened inbox as pages and the API use it: what came in to every account a member may
//! see (grants apply exactly as for posts: an account one may not see does not exist),
//! filtered and paged newest first; assigning an item, marking it done or open again, notes;
//! opening a suspicious link anyway (confirmed, audited; a dangerous one is never offered);
//! following a short link on request (its verdict and the item's judged again, recorded);
//! reporting an impostor to its network (recorded). Every change is one unit of work with the
//! item's history and the audit entry.
//!
//! Reading the networks is `inbox/read.rs`; judging each item, `inbox/screen.rs`.

pub mod read;
pub mod screen;

use crate::domain::ids::{AccountId, UserId};
use jiff::Timestamp;

use crate::domain::access::{self, AccountAction};
use crate::domain::audit::Actor;
use crate::domain::inbox::{ItemKind, ItemState, Verdict};
use crate::services::accounts::{self, Visible};
use crate::services::audit::record;
use crate::services::{AppError, Entity, Services};
use crate::store::{
    InboxEventRecord, InboxItemRecord, InboxQuery, InboxScreening, Store, UserRecord,
};

/// The most items one page may ask for.
pub const LONGEST_PAGE: i64 = 200;

/// The longest note, in characters.
pub const LONGEST_NOTE: usize = 2000;

/// Which items a member asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxFilter {
    pub account_id: Option<AccountId>,
    pub kind: Option<ItemKind>,
    pub verdict: Option<Verdict>,
    pub state: Option<ItemState>,
    /// Only the items assigned to the member asking.
    pub mine: bool,
    /// The page after the item with this id (the last one of the page before).
    pub after: Option<i64>,
    pub per_page: i64,
}

/// One page of items, each with its account.
#[derive(Debug, Clone)]
pub struct InboxPage {
    pub items: Vec<(InboxItemRecord, Visible)>,
    /// The id to ask `after` for the next page, when there may be one.
    pub next: Option<i64>,
}

/// One item with its account and history.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: InboxItemRecord,
    pub account: Visible,
    pub history: Vec<InboxEventRecord>,
}

/// A change to an item: any of its state, its assignee (`Some(None)` unassigns) and a note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub state: Option<ItemState>,
    pub assignee_id: Option<Option<UserId>>,
    pub note: Option<String>,
}

/// The items of the accounts `actor` may see that `filter` asks for, newest first.
pub async fn list(
    store: &Store,
    actor: &UserRecord,
    filter: &InboxFilter,
) -> Result<InboxPage, AppError> {
    if !(1..=LONGEST_PAGE).contains(&filter.per_page) {
        return Err(AppError::invalid(
            "per_page",
            format!("Ask for 1 to {LONGEST_PAGE} items a page."),
        ));
    }
    let visible = accounts::visible(store, actor).await?;
    let listed: Vec<AccountId> = visible
        .iter()
        .map(|seen| seen.account.id)
        .filter(|id| filter.account_id.is_none_or(|wanted| *id == wanted))
        .collect();
    if let (Some(id), true) = (filter.account_id, listed.is_empty()) {
        return Err(AppError::not_found(
            Entity::Account,
            format!("there is no account {id}"),
        ));
    }
    // The page after an item the caller cannot see (or that does not exist) is empty, as
    // the end of the list is.
    let before = match filter.after {
        None => None,
        Some(id) => match store
            .inbox_item(id)
            .await?
            .filter(|item| listed.contains(&item.account_id))
        {
            Some(item) => Some((item.received_at, item.id)),
            None => {
                return Ok(InboxPage {
                    items: Vec::new(),
                    next: None,
                });
            }
        },
    };
    let query = InboxQuery {
        accounts: listed,
        kind: filter.kind,
        verdict: filter.verdict,
        state: filter.state,
        assignee_id: filter.mine.then_some(actor.id),
        before,
        limit: filter.per_page,
    };
    let items = store.inbox_items(&query).await?;
    let next = (items.len() as i64 == filter.per_page)
        .then(|| items.last().map(|item| item.id))
        .flatten();
    let items = items
        .into_iter()
        .filter_map(|item| {
            let seen = visible
                .iter()
                .find(|seen| seen.account.id == item.account_id)?;
            Some((item, seen.clone()))
        })
        .collect();
    Ok(InboxPage { items, next })
}

/// The menu's count and the inbox page's "new items" notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Items open in the accounts the member may see.
    pub open: i64,
    /// The newest item's id, if any.
    pub newest: Option<i64>,
}

/// How many items are open in the accounts `actor` may see, and the newest one.
pub async fn summary(store: &Store, actor: &UserRecord) -> Result<Summary, AppError> {
    let visible = accounts::visible(store, actor).await?;
    let ids: Vec<AccountId> = visible.iter().map(|seen| seen.account.id).collect();
    let newest = store
        .inbox_items(&InboxQuery {
            accounts: ids.clone(),
            limit: 1,
            ..InboxQuery::default()
        })
        .await?
        .first()
        .map(|item| item.id);
    Ok(Summary {
        open: store.open_inbox_count(&ids).await?,
        newest,
    })
}

/// One item with its history, if `actor` may see its account.
pub async fn view(store: &Store, actor: &UserRecord, id: i64) -> Result<ItemView, AppError> {
    let (item, account) = open(store, actor, id, AccountAction::View).await?;
    let history = store.inbox_events(id).await?;
    Ok(ItemView {
        item,
        account,
        history,
    })
}

/// Changes an item's state, assignee or note (contributors and up on its account; viewers
/// only read). The assignee must be an active member who may see the account.
pub async fn change(
    store: &Store,
    actor: &UserRecord,
    id: i64,
    change: &Change,
    now: Timestamp,
) -> Result<ItemView, AppError> {
    let (item, seen) = open(store, actor, id, AccountAction::Draft).await?;
    if change.state.is_none() && change.assignee_id.is_none() && change.note.is_none() {
        return Err(AppError::invalid(
            "state",
            "Give at least one of state, assignee_id and note.",
        ));
    }
    let note = match change.note.as_deref().map(str::trim) {
        Some("") => return Err(AppError::invalid("note", "A note needs some words.")),
        Some(note) if note.chars().count() > LONGEST_NOTE => {
            return Err(AppError::invalid(
                "note",
                format!("A note is at most {LONGEST_NOTE} characters."),
            ));
        }
        other => other,
    };
    let assignee = match change.assignee_id {
        Some(Some(member)) => Some(Some(assignable(store, &seen, member).await?)),
        Some(None) => Some(None),
        None => None,
    };
    let state = change.state.unwrap_or(item.state);
    let assignee_id = match &assignee {
        Some(member) => member.as_ref().map(|member| member.id),
        None => item.assignee_id,
    };
    let mut events = Vec::new();
    let event = |what: &str, detail: String| InboxEventRecord {
        at: now,
        actor_id: Some(actor.id),
        what: what.to_owned(),
        detail,
        post_id: None,
    };
    if state != item.state {
        let what = match state {
            ItemState::Done => "done",
            ItemState::Open => "reopened",
        };
        events.push(event(what, String::new()));
    }
    if assignee_id != item.assignee_id {
        events.push(match &assignee {
            Some(Some(member)) => event("assigned", member.name.clone()),
            _ => event("unassigned", String::new()),
        });
    }
    if let Some(note) = note {
        events.push(event("note", note.to_owned()));
    }
    let work = store.write().await?;
    work.set_inbox_item(id, state, assignee_id, now).await?;
    for event in &events {
        work.add_inbox_event(id, event).await?;
    }
    let steps: Vec<&str> = events.iter().map(|event| event.what.as_str()).collect();
    record(
        &work,
        now,
        Actor::User(actor.id),
        "inbox.item_changed",
        Some(format!("inbox_item:{id}")),
        None,
        serde_json::json!({ "account": item.account_id, "steps": steps, "assignee": assignee_id }),
    )
    .await?;
    work.commit().await?;
    view(store, actor, id).await
}

/// The address of link `index` of an item, to open in a new tab: a suspicious link only with
/// `confirmed` (the member saw the warning), a dangerous one never. Audited with its host.
pub async fn open_link(
    store: &Store,
    actor: &UserRecord,
    id: i64,
    index: usize,
    confirmed: bool,
    now: Timestamp,
) -> Result<String, AppError> {
    let (item, _) = open(store, actor, id, AccountAction::View).await?;
    let link = item.links.get(index).ok_or_else(|| {
        AppError::not_found(Entity::InboxItem, format!("item {id} has no link {index}"))
    })?;
    match link.verdict {
        Verdict::Dangerous => {
            return Err(AppError::Denied(
                "Herald does not open dangerous links; report the message instead".to_owned(),
            ));
        }
        Verdict::Suspicious if !confirmed => {
            return Err(AppError::invalid(
                "confirm",
                "This link is suspicious: confirm that you want to open it anyway.",
            ));
        }
        _ => {}
    }
    // A short link Herald followed opens where Herald saw it lead: its verdict is that
    // address's, and the shortener could send a browser somewhere else than it sent Herald.
    let opened = link.destination.as_deref().unwrap_or(&link.url);
    let host = links::Canonical::parse(opened)
        .map(|canonical| canonical.host)
        .unwrap_or_default();
    let work = store.write().await?;
    work.add_inbox_event(
        id,
        &InboxEventRecord {
            at: now,
            actor_id: Some(actor.id),
            what: "link_opened".to_owned(),
            detail: crate::domain::inbox::defang(opened),
            post_id: None,
        },
    )
    .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "inbox.link_opened",
        Some(format!("inbox_item:{id}")),
        None,
        serde_json::json!({ "host": host, "verdict": link.verdict.as_str() }),
    )
    .await?;
    work.commit().await?;
    Ok(opened.to_owned())
}

/// Follows short link `index` of an item now, at a member's request (contributors and up on
/// its account): reading never follows a stranger's link, so a short link stays suspicious
/// until someone asks. Link safety's expander follows it (the hardened client, redirects
/// capped, no private addresses, a flagged hop never visited); the link's verdict and
/// destination are replaced, the item judged again (sender and text as now, its other links
/// as they were), and the change is in the item's history and the audit log.
pub async fn follow_link(
    services: &Services,
    actor: &UserRecord,
    id: i64,
    index: usize,
    now: Timestamp,
) -> Result<ItemView, AppError> {
    let store = &services.store;
    let (item, _) = open(store, actor, id, AccountAction::Draft).await?;
    let link = item.links.get(index).ok_or_else(|| {
        AppError::not_found(Entity::InboxItem, format!("item {id} has no link {index}"))
    })?;
    let screen = screen::Screen::prepare(store, &services.policy, now).await?;
    if !screen.is_short(&link.url) {
        return Err(AppError::Conflict(
            "This link is not a short link: Herald judged it by its own address, so there is nowhere hidden to follow.".to_owned(),
        ));
    }
    // The requests go out before the unit of work opens.
    let followed = screen.follow(&link.url, now).await.ok_or_else(|| {
        AppError::Unavailable(
            "Herald runs without link safety, so it cannot follow links".to_owned(),
        )
    })?;
    let mut links = item.links.clone();
    links[index] = followed.clone();
    let screened = screen.with_links(&incoming(&item), links);
    let defanged = crate::domain::inbox::defang(&followed.url);
    let detail = match &followed.destination {
        Some(destination) => format!(
            "{defanged} → {}: {}",
            crate::domain::inbox::defang(destination),
            followed.verdict.as_str()
        ),
        None => format!("{defanged}: {}", followed.verdict.as_str()),
    };
    let host_of = |url: &str| {
        links::Canonical::parse(url)
            .map(|canonical| canonical.host)
            .unwrap_or_default()
    };
    let work = store.write().await?;
    work.set_inbox_screening(
        id,
        &InboxScreening {
            links: screened.links,
            verdict: screened.verdict,
            reasons: screened.reasons,
            impostor: screened.impostor,
        },
        now,
    )
    .await?;
    work.add_inbox_event(
        id,
        &InboxEventRecord {
            at: now,
            actor_id: Some(actor.id),
            what: "link_followed".to_owned(),
            detail,
            post_id: None,
        },
    )
    .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "inbox.link_followed",
        Some(format!("inbox_item:{id}")),
        None,
        serde_json::json!({
            "account": item.account_id,
            "host": host_of(&followed.url),
            "destination": followed.destination.as_deref().map(host_of),
            "link_verdict": followed.verdict.as_str(),
            "item_verdict": screened.verdict.as_str(),
        }),
    )
    .await?;
    work.commit().await?;
    view(store, actor, id).await
}

/// Whether `url` is a short link Herald can follow on request (a well-known shortener or
/// one of `links.short_link_hosts`).
pub fn is_short_link(services: &Services, url: &str) -> bool {
    crate::services::links::is_short_url(services.policy.links().map(|links| &**links), url)
}

/// An item as it came in, to judge it again.
fn incoming(item: &InboxItemRecord) -> networks::Incoming {
    let kind = match item.kind {
        ItemKind::Mention => networks::IncomingKind::Mention,
        ItemKind::Reply => networks::IncomingKind::Reply,
        ItemKind::Comment => networks::IncomingKind::Comment,
        ItemKind::Message => networks::IncomingKind::Message,
        ItemKind::Follower => networks::IncomingKind::Follower,
    };
    networks::Incoming {
        key: item.network_key.clone(),
        kind,
        sender: networks::Sender {
            id: item.author_id.clone(),
            handle: item.author_handle.clone(),
            display_name: item.author_name.clone(),
        },
        text: item.text.clone(),
        url: item.url.clone(),
        reply_to: item.reply_to.clone(),
        at: item.received_at,
    }
}

/// Records that `actor` reported the item's sender to the network as an impostor, and answers
/// the network's form for it.
pub async fn report_impostor(
    services: &Services,
    actor: &UserRecord,
    id: i64,
    now: Timestamp,
) -> Result<String, AppError> {
    let Services {
        store, networks, ..
    } = services;
    let (item, seen) = open(store, actor, id, AccountAction::Draft).await?;
    if !item.impostor {
        return Err(AppError::Conflict(
            "screening did not flag this sender as an impostor".to_owned(),
        ));
    }
    let form = networks
        .reader(seen.account.network)
        .map(|reader| reader.impersonation_form().to_owned())
        .ok_or_else(|| {
            AppError::Unavailable(format!(
                "Herald does not know {}'s impersonation form",
                seen.account.network.label()
            ))
        })?;
    let work = store.write().await?;
    work.add_inbox_event(
        id,
        &InboxEventRecord {
            at: now,
            actor_id: Some(actor.id),
            what: "reported".to_owned(),
            detail: item.author_handle.clone(),
            post_id: None,
        },
    )
    .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "inbox.impostor_reported",
        Some(format!("inbox_item:{id}")),
        None,
        serde_json::json!({ "account": item.account_id, "sender": item.author_handle }),
    )
    .await?;
    work.commit().await?;
    Ok(form)
}

/// What became of a reply.
#[derive(Debug, Clone)]
pub struct Replied {
    /// The reply, a post like any other: approved and going out now, waiting for approval,
    /// or a draft still (with `problem` saying why).
    pub post: crate::services::posts::PostView,
    /// Why the reply did not go further than it did, in words.
    pub problem: Option<String>,
}

/// Answers an item: the reply is a post on the item's account, written by `actor` and
/// submitted as any post is (the policy guard, the account's approval rule, the network's
/// length rule). A publisher's reply is approved at once and goes out now, threaded under the
/// item; a contributor's waits for approval. The item's history names the post.
pub async fn reply(
    services: &Services,
    actor: &UserRecord,
    id: i64,
    text: &str,
    now: Timestamp,
) -> Result<Replied, AppError> {
    let store = &services.store;
    use crate::services::posts::{self, Seen};
    let (item, _) = open(store, actor, id, AccountAction::Draft).await?;
    if item.reply_to.is_none() {
        return Err(AppError::Conflict(
            "this item cannot be answered on the network (a new follower)".to_owned(),
        ));
    }
    let work = store.write().await?;
    let draft = posts::create(&work, actor, item.account_id, text, now).await?;
    work.add_inbox_event(
        id,
        &InboxEventRecord {
            at: now,
            actor_id: Some(actor.id),
            what: "replied".to_owned(),
            detail: String::new(),
            post_id: Some(draft.post.id),
        },
    )
    .await?;
    record(
        &work,
        now,
        Actor::User(actor.id),
        "inbox.replied",
        Some(format!("inbox_item:{id}")),
        None,
        serde_json::json!({ "account": item.account_id, "post": draft.post.id }),
    )
    .await?;
    work.commit().await?;
    let seen = Seen {
        id: draft.post.id,
        version: draft.post.version,
    };
    let submitted = match posts::submit(services, actor, seen, None, now).await {
        Ok(submitted) => submitted,
        Err(error) => {
            return Ok(Replied {
                post: posts::view(store, actor, seen.id).await?,
                problem: Some(format!("The reply was kept as a draft: {error}")),
            });
        }
    };
    if submitted.post.state != crate::domain::posts::PostState::Approved {
        return Ok(Replied {
            post: submitted,
            problem: None,
        });
    }
    // Approved at once: it goes out now, unless the account asks to confirm every post.
    let at = now
        .saturating_add(jiff::SignedDuration::from_secs(1))
        .unwrap_or(now);
    let when = crate::services::schedule::When::At(at.to_string());
    match crate::services::schedule::schedule(services, actor, seen.id, &when, false, now).await {
        Ok(scheduled) => Ok(Replied {
            post: scheduled,
            problem: None,
        }),
        Err(error) => Ok(Replied {
            post: posts::view(store, actor, seen.id).await?,
            problem: Some(format!("The reply is approved but not sent yet: {error}")),
        }),
    }
}

/// The item `id` if `actor` may do `action` on its account; "not found" when they may not
/// see it at all, exactly as for an item that does not exist.
async fn open(
    store: &Store,
    actor: &UserRecord,
    id: i64,
    action: AccountAction,
) -> Result<(InboxItemRecord, Visible), AppError> {
    let not_found =
        || AppError::not_found(Entity::InboxItem, format!("there is no inbox item {id}"));
    let item = store.inbox_item(id).await?.ok_or_else(not_found)?;
    let seen = accounts::open(store, actor, item.account_id, AccountAction::View)
        .await
        .map_err(|_| not_found())?;
    access::check_account(actor.role, seen.level, action)
        .map_err(|denied| AppError::Denied(denied.0))?;
    Ok((item, seen))
}

/// The member `id` if they are active and may see the account.
async fn assignable(store: &Store, seen: &Visible, id: UserId) -> Result<UserRecord, AppError> {
    let refused = || {
        AppError::invalid(
            "assignee_id",
            format!("member {id} cannot see this account"),
        )
    };
    let member = store
        .user_by_id(id)
        .await?
        .filter(|member| member.active)
        .ok_or_else(refused)?;
    let level = accounts::level_of(store, &seen.account, member.id).await?;
    access::check_account(member.role, level, AccountAction::View).map_err(|_| refused())?;
    Ok(member)
}
