//! All posts (`/posts`): every post on the accounts the caller can see, newest activity first,
//! filtered by account, state, author and dates, a page at a time.

use crate::domain::ids::{PostId, UserId};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;

use super::{ShownTime, shown_time};
use crate::domain::access::Permission;
use crate::domain::posts::PostState;
use crate::domain::schedule::Zone;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::pages::{Layout, PageError, calendar, render};
use crate::services::{accounts, posts, schedule};

/// Posts a page shows.
const PER_PAGE: i64 = 25;

/// The filters, as the form sends them: each may be empty.
#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    author: String,
    /// Days, `2026-12-01`, in the zone named on the page.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "posts.html")]
struct PostsPage {
    layout: Layout,
    accounts: Vec<Choice>,
    states: Vec<Choice>,
    authors: Vec<Choice>,
    from: String,
    to: String,
    zone: String,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    previous: Option<String>,
    next: Option<String>,
    error: Option<String>,
    filtered: bool,
}

/// One option of a filter's list.
#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Debug)]
struct Row {
    id: PostId,
    account: String,
    colour: String,
    network: &'static str,
    excerpt: String,
    author: String,
    state: &'static str,
    state_label: &'static str,
    /// Published, due, or last changed: what the list is ordered by.
    when_label: &'static str,
    when: ShownTime,
    zone: String,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(form): Query<ListForm>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    let visible = accounts::visible(&state.store, &caller.user).await?;
    let users = state.store.list_users().await?;
    let (zone, _) = calendar::choose_zone("", &visible).unwrap_or((Zone::utc(), String::new()));
    let mut errors = Vec::new();
    let number = |text: &str| text.trim().parse::<i64>().ok();
    let mut filter = posts::ListFilter {
        account_id: form.account.trim().parse().ok(),
        state: PostState::parse(form.state.trim()),
        author_id: form.author.trim().parse().ok(),
        from: None,
        to: None,
    };
    match day_start(&form.from, &zone, false) {
        Ok(at) => filter.from = at,
        Err(message) => errors.push(format!("From: {message}")),
    }
    // "To" names the last day shown, so the period ends where the day after starts.
    match day_start(&form.to, &zone, true) {
        Ok(at) => filter.to = at,
        Err(message) => errors.push(format!("To: {message}")),
    }
    let page = number(&form.page).filter(|page| *page >= 1).unwrap_or(1);
    let list = match posts::list(&state.store, &caller.user, &filter, page, PER_PAGE).await {
        Ok(list) => list,
        Err(error) => {
            errors.push(super::super::message(error));
            posts::PostList {
                posts: Vec::new(),
                total: 0,
            }
        }
    };
    let name_of = |id: UserId| crate::http::pages::member_name(&users, id);
    let rows = list
        .posts
        .into_iter()
        .map(|(post, seen)| {
            let zone = schedule::zone_of(&seen.account).unwrap_or_else(|_| Zone::utc());
            let (when_label, at) = match (post.published_at, post.scheduled_at) {
                (Some(at), _) => ("Published", at),
                (None, Some(at)) => ("Due", at),
                (None, None) => ("Changed", post.updated_at),
            };
            Row {
                id: post.id,
                account: seen.account.display_name.clone(),
                colour: seen.account.avatar_colour.clone(),
                network: seen.account.network.label(),
                excerpt: crate::http::pages::excerpt(&post.text),
                author: name_of(post.author_id),
                state: post.state.as_str(),
                state_label: post.state.label(),
                when_label,
                when: shown_time(&zone, at),
                zone: zone.name().to_owned(),
            }
        })
        .collect();
    let pages = ((list.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |page: i64| {
        let query = serde_urlencoded::to_string([
            ("account", form.account.trim()),
            ("state", form.state.trim()),
            ("author", form.author.trim()),
            ("from", form.from.trim()),
            ("to", form.to.trim()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default();
        format!("/posts?{query}")
    };
    let choice = |value: String, label: String, chosen: &str| Choice {
        selected: value == chosen.trim(),
        value,
        label,
    };
    let page_view = PostsPage {
        layout: Layout::signed_in("All posts · Herald", "/posts", &caller),
        accounts: visible
            .iter()
            .map(|seen| {
                let label = format!(
                    "{} ({})",
                    seen.account.display_name,
                    seen.account.network.label()
                );
                choice(seen.account.id.to_string(), label, &form.account)
            })
            .collect(),
        states: PostState::ALL
            .into_iter()
            .map(|state| {
                choice(
                    state.as_str().to_owned(),
                    state.label().to_owned(),
                    &form.state,
                )
            })
            .collect(),
        authors: users
            .iter()
            .map(|user| choice(user.id.to_string(), user.name.clone(), &form.author))
            .collect(),
        from: form.from.trim().to_owned(),
        to: form.to.trim().to_owned(),
        zone: zone.name().to_owned(),
        rows,
        total: list.total,
        page,
        pages,
        previous: (page > 1).then(|| link(page - 1)),
        next: (page < pages).then(|| link(page + 1)),
        error: (!errors.is_empty()).then(|| errors.join(" ")),
        filtered: [
            &form.account,
            &form.state,
            &form.author,
            &form.from,
            &form.to,
        ]
        .iter()
        .any(|value| !value.trim().is_empty()),
    };
    let status = if page_view.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(status, &page_view))
}

/// The first moment of `day` (`2026-12-01`) in `zone`, or with `after` of the day after it
/// ("To" names the last day shown); nothing for an empty field.
fn day_start(day: &str, zone: &Zone, after: bool) -> Result<Option<jiff::Timestamp>, String> {
    let day = day.trim();
    if day.is_empty() {
        return Ok(None);
    }
    let mut date: Date = day
        .parse()
        .map_err(|_| format!("\"{day}\" is not a date; pick one, such as 2026-12-01."))?;
    if after {
        date = date
            .tomorrow()
            .map_err(|_| format!("{day} is the last day Herald knows."))?;
    }
    zone.day_start(date)
        .map(Some)
        .map_err(|_| format!("{day} cannot be shown in {}.", zone.name()))
}
