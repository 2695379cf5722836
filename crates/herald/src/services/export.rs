//! One account's schedule for other tools: as CSV in the import's columns (plus each post's
//! state and id, which the import ignores, so an exported file imports again), and as an
//! iCalendar feed (RFC 5545) for calendar apps.
//!
//! The iCalendar text is written here by hand, since it is small: CRLF line ends, TEXT values
//! escaped (`\`, `;`, `,`, line breaks), and every line folded at 75 octets without ever
//! splitting a UTF-8 character. A CSV field that a spreadsheet would run as a formula (`=…`,
//! `+…`, `-…`, `@…`) is written with a leading `'`, which the import removes again.

use crate::domain::ids::AccountId;
use jiff::Timestamp;

use crate::domain::access::AccountAction;
use crate::domain::posts::PostState;
use crate::domain::schedule::Zone;
use crate::services::AppError;
use crate::services::accounts;
use crate::services::import::FORMULA_STARTS;
use crate::services::schedule::zone_of;
use crate::store::{AccountRecord, PostRecord, Store, UserRecord};

/// How far back the export looks for published posts.
const HISTORY_DAYS: i64 = 366;
/// The longest line iCalendar allows, in octets, not counting the line break.
const LINE_OCTETS: usize = 75;
/// How long each event lasts in a calendar: posts are moments, shown as short events.
const EVENT_DURATION: &str = "PT5M";

/// An account's posts that have or had their time: waiting for approval with a wished time,
/// approved, scheduled, publishing, published or unconfirmed; oldest first.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub account: AccountRecord,
    pub zone: Zone,
    pub posts: Vec<PostRecord>,
}

/// The schedule of `account_id`, for anyone who may see the account (404 for anyone else).
pub async fn schedule(
    store: &Store,
    actor: &UserRecord,
    account_id: AccountId,
    now: Timestamp,
) -> Result<Schedule, AppError> {
    let visible = accounts::open(store, actor, account_id, AccountAction::View).await?;
    let zone = zone_of(&visible.account)?;
    let from = now
        .checked_sub(jiff::SignedDuration::from_hours(HISTORY_DAYS * 24))
        .unwrap_or(Timestamp::MIN);
    let posts = store
        .account_posts_since(account_id, from, ON_SCHEDULE)
        .await?;
    Ok(Schedule {
        account: visible.account,
        zone,
        posts,
    })
}

/// The schedule in the import's columns, then `state` and `post_id`; CRLF line ends.
pub fn csv(schedule: &Schedule) -> Result<String, AppError> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let failed = |error: csv::Error| AppError::Internal(format!("CSV export: {error}"));
    writer
        .write_record([
            "date", "time", "message", "link", "account", "state", "post_id",
        ])
        .map_err(failed)?;
    for post in &schedule.posts {
        let Some(at) = time_of(post) else { continue };
        let local = schedule.zone.local(at);
        writer
            .write_record([
                local.strftime("%Y-%m-%d").to_string(),
                local.strftime("%H:%M").to_string(),
                protect(&post.text),
                String::new(),
                schedule.account.handle.clone(),
                post.state.as_str().to_owned(),
                post.id.to_string(),
            ])
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|error| AppError::Internal(format!("CSV export: {error}")))?;
    String::from_utf8(bytes).map_err(|error| AppError::Internal(format!("CSV export: {error}")))
}

/// The schedule as an iCalendar feed: one event per post, its UID `post-<id>@<host>`.
pub fn ical(schedule: &Schedule, host: &str) -> String {
    let account = &schedule.account;
    let mut out = String::new();
    let name = format!(
        "{} ({} {})",
        account.display_name,
        account.network.label(),
        account.handle
    );
    for line in [
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        format!("PRODID:-//Herald//Herald {}//EN", env!("CARGO_PKG_VERSION")),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!("X-WR-CALNAME:{}", escape_text(&name)),
    ] {
        fold(&line, &mut out);
    }
    for post in &schedule.posts {
        let Some(at) = time_of(post) else { continue };
        let mut lines = vec![
            "BEGIN:VEVENT".to_owned(),
            format!("UID:post-{}@{host}", post.id),
            // Without a METHOD of REQUEST, DTSTAMP is when the event last changed.
            format!("DTSTAMP:{}", utc(post.updated_at)),
            format!("DTSTART:{}", utc(at)),
            format!("DURATION:{EVENT_DURATION}"),
            format!("SUMMARY:{}", escape_text(&excerpt(&post.text))),
            format!("DESCRIPTION:{}", escape_text(&post.text)),
            format!("STATUS:{}", status(post.state)),
            format!("CATEGORIES:{}", escape_text(post.state.as_str())),
        ];
        if post.state == PostState::Published
            && let Some(url) = post.remote_url.as_deref().filter(|url| is_plain_url(url))
        {
            lines.push(format!("URL:{url}"));
        }
        lines.push("END:VEVENT".to_owned());
        for line in lines {
            fold(&line, &mut out);
        }
    }
    fold("END:VCALENDAR", &mut out);
    out
}

/// A file name for the download: `herald-sunnycafe-schedule.csv`.
pub fn file_name(account: &AccountRecord, extension: &str) -> String {
    let handle: String = account
        .handle
        .trim_start_matches('@')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("herald-{handle}-schedule.{extension}")
}

/// Posts that are, or were, on the schedule: not drafts, not failed, not expired.
const ON_SCHEDULE: &[PostState] = &[
    PostState::Submitted,
    PostState::Approved,
    PostState::Scheduled,
    PostState::Publishing,
    PostState::Published,
    PostState::Unconfirmed,
];

fn time_of(post: &PostRecord) -> Option<Timestamp> {
    post.published_at.or(post.scheduled_at)
}

/// Going out (or gone) for certain, or still waiting for approval or a check.
fn status(state: PostState) -> &'static str {
    match state {
        PostState::Scheduled | PostState::Publishing | PostState::Published => "CONFIRMED",
        _ => "TENTATIVE",
    }
}

/// `20261224T093000Z`.
fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// The first 60 characters on one line, for a calendar's event title.
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 60;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= SHOWN {
        return flat;
    }
    let mut short: String = flat.chars().take(SHOWN - 1).collect();
    short.push('…');
    short
}

/// An address the network gave, used only when it is a plain http(s) URL.
fn is_plain_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// RFC 5545 TEXT: backslash, semicolon, comma and line breaks escaped; other control
/// characters (which no property value may hold) dropped.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded to lines of at most 75 octets (a continuation starts with a space,
/// which counts), each ended by CRLF; a fold never falls inside a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut octets = 0;
    for c in line.chars() {
        if octets + c.len_utf8() > LINE_OCTETS {
            out.push_str("\r\n ");
            octets = 1;
        }
        out.push(c);
        octets += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// A CSV field a spreadsheet would run as a formula, with a leading `'` so it shows as text
/// (also one that already starts with `'` before a formula, so the import's rule undoes it).
fn protect(field: &str) -> String {
    if field.trim_start_matches('\'').starts_with(FORMULA_STARTS) {
        return format!("'{field}");
    }
    field.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The logical lines of an iCalendar text: folds undone.
    fn unfold(text: &str) -> Vec<String> {
        let mut lines: Vec<String> = Vec::new();
        for physical in text.split("\r\n").filter(|line| !line.is_empty()) {
            match physical.strip_prefix(' ') {
                Some(rest) => lines.last_mut().expect("a line to continue").push_str(rest),
                None => lines.push(physical.to_owned()),
            }
        }
        lines
    }

    #[test]
    fn text_values_escape_backslashes_separators_and_line_breaks() {
        assert_eq!(
            escape_text("Soup; bread, and C:\\menu\r\nline two\nthree\u{7}"),
            "Soup\\; bread\\, and C:\\\\menu\\nline two\\nthree"
        );
        assert_eq!(escape_text("tab\tstays"), "tab\tstays");
    }

    #[test]
    fn long_lines_fold_at_75_octets_and_never_inside_a_character() {
        let line = format!("DESCRIPTION:{}", "Café ☕ crème brûlée 🍮 ".repeat(12));
        let mut out = String::new();
        fold(&line, &mut out);
        assert!(out.ends_with("\r\n"));
        let physical: Vec<&str> = out.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert!(physical.len() > 3, "it was folded");
        for part in &physical {
            assert!(part.len() <= 75, "{} octets: {part:?}", part.len());
        }
        assert!(physical[1..].iter().all(|part| part.starts_with(' ')));
        assert_eq!(unfold(&out), [line]);
    }

    #[test]
    fn a_line_of_exactly_75_octets_is_not_folded() {
        let line = "X".repeat(75);
        let mut out = String::new();
        fold(&line, &mut out);
        assert_eq!(out, format!("{line}\r\n"));
        let mut longer = String::new();
        fold(&"X".repeat(76), &mut longer);
        assert_eq!(longer, format!("{}\r\n X\r\n", "X".repeat(75)));
    }

    #[test]
    fn formulas_are_protected_for_spreadsheets_and_plain_text_is_not() {
        assert_eq!(protect("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(protect("-20% today"), "'-20% today");
        assert_eq!(protect("Soup today"), "Soup today");
        assert_eq!(protect("'=quoted"), "''=quoted");
        for text in ["=1+1", "'=1+1", "''@x", "'plain", "plain"] {
            assert_eq!(
                crate::services::import::unprotect(&protect(text)),
                text,
                "{text}"
            );
        }
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("Soup\nof the day"), "Soup of the day");
        let long = excerpt(&"word ".repeat(40));
        assert_eq!(long.chars().count(), 60);
        assert!(long.ends_with('…'));
    }
}
