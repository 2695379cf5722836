//! The calendar (`/calendar`): what goes out when, and what went out, a week or a month at a
//! time, on the accounts the caller can see. Days are drawn in one time zone, named on the
//! page: `?tz=Area/City`, or else the zone of the caller's first account. calendar.js lets a
//! publisher drag a post to another day; without it, each post links to its schedule form.

use crate::domain::ids::PostId;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Deserialize;

use super::{Layout, PageError, render};
use crate::domain::access::{AccountAction, Permission, check_account};
use crate::domain::posts::PostState;
use crate::domain::schedule::Zone;
use crate::http::auth::Caller;
use crate::http::{ApiError, AppState, assets};
use crate::services::accounts::{self, Visible};
use crate::services::schedule;
use crate::store::PostRecord;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[derive(Debug, Deserialize)]
pub struct CalendarQuery {
    /// `week` (the default) or `month`.
    #[serde(default)]
    view: String,
    /// A day in the week or month to show, `2026-12-24`; today when empty.
    #[serde(default)]
    start: String,
    /// The time zone to draw days in, `Europe/London`.
    #[serde(default)]
    tz: String,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    csrf: String,
    month_view: bool,
    heading: String,
    weekdays: [&'static str; 7],
    weeks: Vec<Vec<Day>>,
    previous: String,
    next: String,
    today: String,
    week_link: String,
    month_link: String,
    zone: String,
    /// Why the days are in this zone: "chosen", or the account whose zone it is.
    zone_reason: String,
    /// The zone field's value: what was typed, or empty for the default.
    tz_typed: String,
    /// The shown range's first day, kept when the zone is changed.
    start: String,
    error: Option<String>,
    empty: bool,
    calendar_script: String,
}

#[derive(Debug, Clone)]
struct Day {
    /// `2026-12-24`, for the drop target.
    date: String,
    /// `Thu 24` (`24` in the month view, where the weekday heads the column).
    label: String,
    /// In the month shown (the month view also shows the neighbouring months' days, greyed).
    in_range: bool,
    is_today: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    post_id: PostId,
    /// `09:30` in the calendar's zone.
    time: String,
    account_name: String,
    network: &'static str,
    handle: String,
    colour: String,
    state: &'static str,
    state_label: String,
    excerpt: String,
    /// Whether the caller may drag it to another day (approved or scheduled, publisher).
    movable: bool,
    /// Its time in the account's zone, `2026-12-24T09:30`: a drag keeps this time of day.
    account_local: String,
    /// "Publish to … on …" for accounts that ask for confirmation every time.
    confirm: Option<String>,
}

/// The shown range: its days, and the links around it.
struct Range {
    first: Date,
    /// The day after the last one shown.
    end: Date,
    /// The month view's month (its first day); the week view has none.
    month: Option<Date>,
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CalendarQuery>,
) -> Result<Response, PageError> {
    caller.require(Permission::ViewAccounts)?;
    let visible = accounts::visible(&state.store, &caller.user).await?;
    let mut errors = Vec::new();
    let (zone, zone_reason) = match choose_zone(&query.tz, &visible) {
        Ok(chosen) => chosen,
        Err(message) => {
            errors.push(message);
            choose_zone("", &visible).unwrap_or_else(|_| (Zone::utc(), "UTC".to_owned()))
        }
    };
    let today = zone.local(state.clock.now()).date();
    let anchor = match query.start.trim() {
        "" => today,
        text => text.parse::<Date>().unwrap_or_else(|_| {
            errors.push(format!(
                "{text:?} is not a date; use 2026-12-24. Showing today instead."
            ));
            today
        }),
    };
    let month_view = query.view == "month";
    let range = range_of(anchor, month_view).map_err(internal)?;
    let from = midnight(&zone, range.first)?;
    let to = midnight(&zone, range.end)?;
    let entries = schedule::calendar(&state.store, &caller.user, from, to).await?;
    let empty = entries.is_empty();
    let mut days = Vec::new();
    let mut date = range.first;
    while date < range.end {
        days.push(Day {
            date: date.to_string(),
            label: if month_view {
                date.day().to_string()
            } else {
                format!("{} {}", weekday_name(date), date.day())
            },
            in_range: range
                .month
                .is_none_or(|month| month.month() == date.month()),
            is_today: date == today,
            entries: Vec::new(),
        });
        date = date.checked_add(1.day()).map_err(internal)?;
    }
    for (post, seen) in entries {
        let Some(at) = post.published_at.or(post.scheduled_at) else {
            continue;
        };
        let local = zone.local(at);
        let key = local.date().to_string();
        if let Some(day) = days.iter_mut().find(|day| day.date == key) {
            let entry = entry(&caller, post, &seen, local.strftime("%H:%M").to_string())?;
            day.entries.push(entry);
        }
    }
    let tz_kept = Some(query.tz.trim()).filter(|tz| !tz.is_empty() && errors.is_empty());
    let link = |view: &str, start: Date| link_to(view, start, tz_kept);
    let view = if month_view { "month" } else { "week" };
    let step = |forward: bool| -> Result<Date, PageError> {
        let span = match (month_view, forward) {
            (true, true) => 1.month(),
            (true, false) => (-1).months(),
            (false, true) => 1.week(),
            (false, false) => (-1).weeks(),
        };
        range
            .month
            .unwrap_or(range.first)
            .checked_add(span)
            .map_err(internal)
    };
    let page = CalendarPage {
        layout: Layout::signed_in("Calendar · Herald", "/calendar", &caller),
        csrf: caller.csrf_token().unwrap_or_default().to_owned(),
        month_view,
        heading: heading(&range),
        weekdays: WEEKDAYS,
        weeks: days.chunks(7).map(|week| week.to_vec()).collect(),
        previous: link(view, step(false)?),
        next: link(view, step(true)?),
        today: link(view, today),
        week_link: link("week", range.month.map_or(range.first, |_| anchor)),
        month_link: link("month", anchor),
        zone: zone.name().to_owned(),
        zone_reason,
        tz_typed: query.tz.trim().to_owned(),
        start: anchor.to_string(),
        error: (!errors.is_empty()).then(|| errors.join(" ")),
        empty,
        calendar_script: assets::url("calendar.js"),
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(status, &page))
}

/// The zone to draw days in: the one asked for, or the first visible account's, or UTC.
pub(super) fn choose_zone(asked: &str, visible: &[Visible]) -> Result<(Zone, String), String> {
    if !asked.trim().is_empty() {
        let zone = Zone::parse(asked).map_err(|error| format!("{error}."))?;
        return Ok((zone, "chosen".to_owned()));
    }
    match visible.first() {
        Some(first) => {
            let zone = schedule::zone_of(&first.account).map_err(|error| error.to_string())?;
            Ok((
                zone,
                format!("the time zone of {}", first.account.display_name),
            ))
        }
        None => Ok((Zone::utc(), "UTC".to_owned())),
    }
}

/// The week (Monday to Sunday) holding `anchor`, or its month padded to whole weeks.
fn range_of(anchor: Date, month_view: bool) -> Result<Range, jiff::Error> {
    let monday_of = |date: Date| {
        let back = i64::from(date.weekday().to_monday_zero_offset());
        date.checked_sub(back.days())
    };
    if !month_view {
        let first = monday_of(anchor)?;
        return Ok(Range {
            first,
            end: first.checked_add(1.week())?,
            month: None,
        });
    }
    let month = anchor.first_of_month();
    let first = monday_of(month)?;
    let after = month.last_of_month().checked_add(1.day())?;
    let mut end = monday_of(after)?;
    if end < after {
        end = end.checked_add(1.week())?;
    }
    Ok(Range {
        first,
        end,
        month: Some(month),
    })
}

fn entry(
    caller: &Caller,
    post: PostRecord,
    seen: &Visible,
    time: String,
) -> Result<Entry, PageError> {
    let account = &seen.account;
    let account_zone = schedule::zone_of(account)?;
    let movable = matches!(post.state, PostState::Approved | PostState::Scheduled)
        && check_account(caller.user.role, seen.level, AccountAction::Publish).is_ok();
    let at = post.scheduled_at.or(post.published_at);
    Ok(Entry {
        post_id: post.id,
        time,
        account_name: account.display_name.clone(),
        network: account.network.label(),
        handle: account.handle.clone(),
        colour: account.avatar_colour.clone(),
        state: post.state.as_str(),
        state_label: post.state.as_str().replace('_', " "),
        excerpt: excerpt(&post.text),
        movable,
        account_local: at
            .map(|at| {
                account_zone
                    .local(at)
                    .strftime("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default(),
        confirm: account.confirm_before_publish.then(|| {
            format!(
                "Publish to {} on {}",
                account.handle,
                account.network.label()
            )
        }),
    })
}

/// The first words of a post, for a calendar cell.
fn excerpt(text: &str) -> String {
    let mut words: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        words.push('…');
    }
    words
}

fn heading(range: &Range) -> String {
    if let Some(month) = range.month {
        return month.strftime("%B %Y").to_string();
    }
    let last = range.end.yesterday().unwrap_or(range.end);
    if range.first.month() == last.month() {
        return format!("{} – {}", range.first.day(), last.strftime("%-d %B %Y"));
    }
    format!(
        "{} – {}",
        range.first.strftime("%-d %B"),
        last.strftime("%-d %B %Y")
    )
}

fn weekday_name(date: Date) -> &'static str {
    let index = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
    WEEKDAYS.get(index).copied().unwrap_or("")
}

fn link_to(view: &str, start: Date, tz: Option<&str>) -> String {
    let start = start.to_string();
    let mut pairs = vec![("view", view), ("start", start.as_str())];
    if let Some(tz) = tz {
        pairs.push(("tz", tz));
    }
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("/calendar?{query}")
}

/// The instant a day starts in `zone` (the first moment of it, on days clocks change).
fn midnight(zone: &Zone, date: Date) -> Result<jiff::Timestamp, PageError> {
    zone.day_start(date).map_err(internal)
}

fn internal(error: jiff::Error) -> PageError {
    PageError::from(ApiError::from(crate::services::AppError::Internal(
        format!("calendar dates: {error}"),
    )))
}
