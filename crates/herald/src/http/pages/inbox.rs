//! The inbox (`/inbox`): what came in to the accounts a member may see, screened, newest
//! first, with filters; one item's page (`/inbox/{id}`): its links defanged with their
//! verdicts ("open anyway" for a suspicious one, after a confirmation, audited; a dangerous
//! one not offered; "check where this short link leads"), the impostor's "report to the
//! network" step, assigning, done, notes and its history. The same services as
//! `/api/v1/inbox`.

use crate::domain::ids::{PostId, UserId};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::posts::{ShownTime, shown_time};
use crate::domain::access::Permission;
use crate::domain::inbox::{ItemKind, ItemState, Verdict, defang};
use crate::domain::schedule::Zone;
use crate::http::AppState;
use crate::http::auth::{Caller, CsrfForm};
use crate::http::pages::{Layout, PageError, member_name, render};
use crate::services::accounts;
use crate::services::inbox::{self, Change, InboxFilter};
use crate::store::{InboxItemRecord, UserRecord};

/// Items a page shows.
const PER_PAGE: i64 = 25;

/// The filters, as the form sends them: each may be empty.
#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    mine: String,
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    accounts: Vec<Choice>,
    kinds: Vec<Choice>,
    verdicts: Vec<Choice>,
    states: Vec<Choice>,
    mine: bool,
    items: Vec<ItemCard>,
    older: Option<String>,
    newest: i64,
    error: Option<String>,
    filtered: bool,
}

#[derive(Template)]
#[template(path = "inbox_item.html")]
struct ItemPage {
    layout: Layout,
    card: ItemCard,
    history: Vec<HistoryLine>,
    members: Vec<Choice>,
    may_change: bool,
    /// Whether the item can be answered on its network (not a new follower).
    answerable: bool,
    csrf: String,
    message: Option<String>,
    /// After "open anyway" or "report": the address to go on to, now that it was recorded.
    go_on: Option<GoOn>,
}

#[derive(Debug)]
struct GoOn {
    href: String,
    words: String,
}

#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// An item as the pages show it. Its text and links are defanged; the sender's name is
/// escaped by the template like everything else.
#[derive(Debug)]
pub struct ItemCard {
    id: i64,
    account: String,
    colour: String,
    network: &'static str,
    kind: &'static str,
    author_name: String,
    author_handle: String,
    text: String,
    text_cut: bool,
    links: Vec<LinkLine>,
    verdict: &'static str,
    verdict_label: &'static str,
    reasons: Vec<String>,
    impostor: bool,
    done: bool,
    assignee: Option<String>,
    received: ShownTime,
}

#[derive(Debug)]
struct LinkLine {
    index: usize,
    defanged: String,
    verdict: &'static str,
    destination: Option<String>,
    reasons: Vec<String>,
    /// A short link that Herald may be asked to follow.
    followable: bool,
}

#[derive(Debug)]
struct HistoryLine {
    at: ShownTime,
    who: String,
    what: String,
}

/// An action on the item's page.
#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    note: String,
}

/// "Open anyway": the box that says the member saw the warning.
#[derive(Debug, Default, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    confirm: String,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(form): Query<ListForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    let visible = accounts::visible(&state.store, &caller.user).await?;
    let users = state.store.list_users().await?;
    let number = |text: &str| text.trim().parse::<i64>().ok();
    let filter = InboxFilter {
        account_id: form.account.trim().parse().ok(),
        kind: ItemKind::parse(form.kind.trim()),
        verdict: Verdict::parse(form.verdict.trim()),
        state: ItemState::parse(form.state.trim()),
        mine: !form.mine.is_empty(),
        after: number(&form.after),
        per_page: PER_PAGE,
    };
    let mut error = None;
    let page = match inbox::list(&state.store, &caller.user, &filter).await {
        Ok(page) => page,
        Err(failure) => {
            error = Some(super::message(failure));
            inbox::InboxPage {
                items: Vec::new(),
                next: None,
            }
        }
    };
    let newest = page.items.first().map_or(0, |(item, _)| item.id);
    let items = page
        .items
        .into_iter()
        .map(|(item, seen)| card(item, &seen.account, &users, &|_| false))
        .collect();
    let older = page.next.map(|next| {
        let query = serde_urlencoded::to_string([
            ("account", form.account.as_str()),
            ("kind", form.kind.as_str()),
            ("verdict", form.verdict.as_str()),
            ("state", form.state.as_str()),
            ("mine", form.mine.as_str()),
            ("after", &next.to_string()),
        ])
        .unwrap_or_default();
        format!("/inbox?{query}")
    });
    let choice = |value: &str, label: &str, chosen: &str| Choice {
        value: value.to_owned(),
        label: label.to_owned(),
        selected: value == chosen.trim(),
    };
    let page = InboxPage {
        layout: Layout::signed_in("Inbox", "/inbox", &caller),
        accounts: visible
            .iter()
            .map(|seen| {
                choice(
                    &seen.account.id.to_string(),
                    &format!(
                        "{} ({})",
                        seen.account.display_name,
                        seen.account.network.label()
                    ),
                    &form.account,
                )
            })
            .collect(),
        kinds: [
            ItemKind::Mention,
            ItemKind::Reply,
            ItemKind::Comment,
            ItemKind::Message,
            ItemKind::Follower,
        ]
        .into_iter()
        .map(|kind| choice(kind.as_str(), kind.label(), &form.kind))
        .collect(),
        verdicts: [
            (Verdict::Dangerous, "Dangerous"),
            (Verdict::Suspicious, "Suspicious"),
            (Verdict::Safe, "Safe"),
        ]
        .into_iter()
        .map(|(verdict, label)| choice(verdict.as_str(), label, &form.verdict))
        .collect(),
        states: [(ItemState::Open, "Open"), (ItemState::Done, "Done")]
            .into_iter()
            .map(|(state, label)| choice(state.as_str(), label, &form.state))
            .collect(),
        mine: filter.mine,
        items,
        older,
        newest,
        error,
        filtered: filter
            != InboxFilter {
                per_page: PER_PAGE,
                ..InboxFilter::default()
            },
    };
    Ok(render(StatusCode::OK, &page))
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    item_page(&state, &caller, id, StatusCode::OK, None, None).await
}

/// Assign, done, open again, or a note.
pub async fn change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<ChangeForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let change = match form.action.as_str() {
        "done" => Change {
            state: Some(ItemState::Done),
            ..Change::default()
        },
        "reopen" => Change {
            state: Some(ItemState::Open),
            ..Change::default()
        },
        "assign" => Change {
            assignee_id: Some(form.assignee.trim().parse::<UserId>().ok()),
            ..Change::default()
        },
        _ => Change {
            note: Some(form.note.clone()),
            ..Change::default()
        },
    };
    let now = state.clock.now();
    match inbox::change(&state.store, &caller.user, id, &change, now).await {
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}")).into_response()),
        Err(error) => refused(&state, &caller, id, error).await,
    }
}

/// The item's page again, saying why the action was refused.
async fn refused(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: crate::services::AppError,
) -> Result<Response, PageError> {
    let status = super::status_of(&error);
    item_page(state, caller, id, status, Some(super::message(error)), None).await
}

/// "Open anyway" for a suspicious link: recorded, then the page offers the link itself.
pub async fn open_link(
    State(state): State<AppState>,
    Path((id, index)): Path<(i64, usize)>,
    CsrfForm { caller, form }: CsrfForm<OpenForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    let now = state.clock.now();
    let confirmed = !form.confirm.is_empty();
    match inbox::open_link(&state.store, &caller.user, id, index, confirmed, now).await {
        Ok(url) => {
            let go_on = GoOn {
                words: format!("Open {} in a new tab", defang(&url)),
                href: url,
            };
            item_page(&state, &caller, id, StatusCode::OK, None, Some(go_on)).await
        }
        Err(error) => refused(&state, &caller, id, error).await,
    }
}

/// "Check where this short link leads": Herald follows it now; the page shows the link's new
/// verdict and destination.
pub async fn follow_link(
    State(state): State<AppState>,
    Path((id, index)): Path<(i64, usize)>,
    CsrfForm { caller, .. }: CsrfForm<OpenForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    match inbox::follow_link(&state.services, &caller.user, id, index, now).await {
        Ok(_) => Ok(Redirect::to(&format!("/inbox/{id}#link-{index}")).into_response()),
        Err(error) => refused(&state, &caller, id, error).await,
    }
}

/// The reply form's text.
#[derive(Debug, Default, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    text: String,
}

/// A reply: a post submitted like any other; the page says how far it got.
pub async fn reply(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, form }: CsrfForm<ReplyForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    let replied = inbox::reply(&state.services, &caller.user, id, &form.text, now).await;
    match replied {
        Ok(replied) => {
            let post = replied.post.post.id;
            let words = match (&replied.problem, replied.post.post.state) {
                (Some(problem), _) => format!("{problem} See the reply"),
                (None, crate::domain::posts::PostState::Submitted) => {
                    "Your reply waits for a publisher's approval. See the reply".to_owned()
                }
                (None, _) => "Your reply is on its way. See the reply".to_owned(),
            };
            let go_on = GoOn {
                href: format!("/posts/{post}"),
                words,
            };
            item_page(&state, &caller, id, StatusCode::OK, None, Some(go_on)).await
        }
        Err(error) => refused(&state, &caller, id, error).await,
    }
}

/// "Report to the network": recorded, then the page offers the network's form.
pub async fn report(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm { caller, .. }: CsrfForm<OpenForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::WritePosts)?;
    let now = state.clock.now();
    match inbox::report_impostor(&state.services, &caller.user, id, now).await {
        Ok(form) => {
            let go_on = GoOn {
                href: form,
                words: "Recorded. Now open the network's report form".to_owned(),
            };
            item_page(&state, &caller, id, StatusCode::OK, None, Some(go_on)).await
        }
        Err(error) => refused(&state, &caller, id, error).await,
    }
}

async fn item_page(
    state: &AppState,
    caller: &Caller,
    id: i64,
    status: StatusCode,
    message: Option<String>,
    go_on: Option<GoOn>,
) -> Result<Response, PageError> {
    let view = inbox::view(&state.store, &caller.user, id).await?;
    let users = state.store.list_users().await?;
    let zone = Zone::utc();
    let history = view
        .history
        .iter()
        .map(|event| HistoryLine {
            at: shown_time(&zone, event.at),
            who: event
                .actor_id
                .map_or_else(|| "Herald".to_owned(), |id| member_name(&users, id)),
            what: history_words(&event.what, &event.detail, event.post_id),
        })
        .collect();
    let may_change = crate::domain::access::check_account(
        caller.user.role,
        view.account.level,
        crate::domain::access::AccountAction::Draft,
    )
    .is_ok();
    let assignee = view.item.assignee_id;
    let members = users
        .iter()
        .filter(|user| user.active)
        .map(|user| Choice {
            value: user.id.to_string(),
            label: user.name.clone(),
            selected: Some(user.id) == assignee,
        })
        .collect();
    let answerable = view.item.reply_to.is_some();
    let page = ItemPage {
        layout: Layout::signed_in("Inbox item", "/inbox", caller),
        answerable,
        card: card(view.item, &view.account.account, &users, &|url| {
            inbox::is_short_link(&state.services, url)
        }),
        history,
        members,
        may_change,
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        message,
        go_on,
    };
    Ok(render(status, &page))
}

/// One item as the pages show it; `short` tells the short links Herald may be asked to follow
/// (offered on the item's own page only).
fn card(
    item: InboxItemRecord,
    account: &crate::store::AccountRecord,
    users: &[UserRecord],
    short: &dyn Fn(&str) -> bool,
) -> ItemCard {
    let mut text = item.text.clone();
    let mut urls: Vec<&str> = item.links.iter().map(|link| link.url.as_str()).collect();
    urls.sort_by_key(|url| std::cmp::Reverse(url.len()));
    for url in urls {
        text = text.replace(url, &defang(url));
    }
    let (verdict_label, verdict) = match item.verdict {
        Verdict::Safe => ("Safe", "safe"),
        Verdict::Suspicious => ("Suspicious", "suspicious"),
        Verdict::Dangerous => ("Dangerous", "dangerous"),
    };
    ItemCard {
        id: item.id,
        account: account.display_name.clone(),
        colour: account.avatar_colour.clone(),
        network: account.network.label(),
        kind: item.kind.label(),
        author_name: item.author_name,
        author_handle: item.author_handle,
        text,
        text_cut: item.text_cut,
        links: item
            .links
            .iter()
            .enumerate()
            .map(|(index, link)| LinkLine {
                index,
                defanged: defang(&link.url),
                verdict: link.verdict.as_str(),
                destination: link.destination.as_deref().map(defang),
                reasons: link.reasons.clone(),
                followable: link.verdict != Verdict::Dangerous && short(&link.url),
            })
            .collect(),
        verdict,
        verdict_label,
        reasons: item.reasons,
        impostor: item.impostor,
        done: item.state == ItemState::Done,
        assignee: item.assignee_id.map(|id| member_name(users, id)),
        received: shown_time(&Zone::utc(), item.received_at),
    }
}

fn history_words(what: &str, detail: &str, post: Option<PostId>) -> String {
    match what {
        "assigned" => format!("gave it to {detail}"),
        "unassigned" => "took it off everyone's list".to_owned(),
        "done" => "marked it done".to_owned(),
        "reopened" => "opened it again".to_owned(),
        "note" => format!("noted: {detail}"),
        "replied" => match post {
            Some(post) => format!("replied (post {post})"),
            None => "replied".to_owned(),
        },
        "link_opened" => format!("opened the link {detail}"),
        "link_followed" => format!("had Herald follow the short link {detail}"),
        "reported" => format!("reported {detail} to the network as an impostor"),
        other => other.to_owned(),
    }
}
