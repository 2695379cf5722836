//! Bulk import: a CSV of posts, previewed row by row with every problem named before anything
//! is saved, then imported through the same services the composer uses. Each row becomes a
//! draft by the importer, is given its time while a draft, then submitted, so the policy guard,
//! the network's length rule and the approval workflow hold exactly as for a post written by
//! hand. The import checks everything again: an earlier preview is never trusted.
//!
//! The file, forgiving where that is safe and strict where it matters:
//! - a header row names the columns, in any order and any case: `date`, `time`, `message` and
//!   `account` are required, `link` is optional, and `state` and `post_id` (which the export
//!   writes, so an export imports again) are ignored; any other column is refused by name;
//! - fields are separated by `,` or `;` (whichever the header uses) and may be in double
//!   quotes (needed for a message holding a separator or a line break); a byte-order mark,
//!   CRLF line ends, spaces around fields and rows with every field empty are all fine;
//! - `date` is `YYYY-MM-DD` and `time` is `HH:MM` (24-hour), read in the account's time zone;
//! - `account` is the handle as Herald shows it (`@sunnycafe`; the `@` may be left out) or the
//!   account's number; only accounts the importer may write for are found;
//! - `link`, if given, is an `http://` or `https://` address, appended to the message after a
//!   space;
//! - a field the export protected from spreadsheet formulas (`'=…`, see `export.rs`) is read
//!   without its leading `'`.
//!
//! Rows are numbered by the line of the file they start on, the header being line 1, as a text
//! editor or a spreadsheet shows them.

use crate::domain::ids::{AccountId, PostId};
use std::collections::HashMap;

use guard::Action;
use jiff::Timestamp;

use crate::domain::access::{AccountAction, check_account};
use crate::domain::accounts::AccountLevel;
use crate::domain::audit::Actor;
use crate::domain::post_text;
use crate::domain::schedule as rules;
use crate::services::accounts;
use crate::services::audit::record;
use crate::services::policy::{self, PolicyGuard};
use crate::services::posts::{self, PostView};
use crate::services::schedule::{self, When};
use crate::services::{AppError, Services};
use crate::store::{AccountRecord, Store, UserRecord};

mod file;

/// For the export's round-trip test of its formula guard.
#[cfg(test)]
pub(crate) use file::unprotect;
use file::{RawRow, parse};

/// The most rows one file may hold; larger plans are imported in parts. Each row is several
/// transactions; 500 rows stay well inside the request timeout (1,000 took 18 s in a debug
/// build on two cores).
pub const MAX_ROWS: usize = 500;

/// A field starting with one of these opens as a formula in a spreadsheet.
pub(crate) const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One thing wrong with the file or with one of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line the row starts on (the header is line 1); none for the file as a whole.
    pub row: Option<usize>,
    /// The column it is about, as the header names it.
    pub column: Option<String>,
    pub message: String,
}

/// One row as Herald reads it, with everything wrong with it.
#[derive(Debug, Clone)]
pub struct Row {
    pub row: usize,
    /// The account it is for, once found among those the importer may write for.
    pub account: Option<AccountRecord>,
    /// What the `account` column said.
    pub account_text: String,
    /// When it goes out, and the same written in the account's time zone.
    pub at: Option<Timestamp>,
    pub local_time: Option<String>,
    /// The post's text: the message, then the link after a space.
    pub text: String,
    /// The same for showing: whatever the policy blocks (a key, a card number) replaced by
    /// the guard's redacted view of it, so a preview never echoes a secret.
    pub shown_text: String,
    pub problems: Vec<Problem>,
    /// What will happen that is not a problem: an approval to wait for, a confirmation.
    pub notes: Vec<String>,
}

/// The whole file as Herald reads it. Nothing has been saved.
#[derive(Debug, Clone)]
pub struct Preview {
    pub separator: char,
    /// The header's column names, in the file's order.
    pub columns: Vec<String>,
    /// Problems with the file as a whole (its header, its size, the policy not yet accepted):
    /// any of them stops the import, valid rows or not.
    pub file_problems: Vec<Problem>,
    pub rows: Vec<Row>,
}

/// Which rows to import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Every row, or none if any row has a problem.
    All,
    /// The rows without problems; the others are reported as skipped.
    OnlyValid,
}

/// What an import did.
#[derive(Debug)]
pub struct Report {
    /// Rows imported, in the file's order, with the post each became.
    pub imported: Vec<Imported>,
    /// Rows left out because they have problems (only with [`Choice::OnlyValid`]).
    pub skipped: Vec<Row>,
    /// Where the import stopped when a row failed part-way: the rows before it are in
    /// `imported`, the rows after it were not tried.
    pub stopped: Option<Stopped>,
}

#[derive(Debug)]
pub struct Imported {
    pub row: usize,
    pub post: PostView,
}

#[derive(Debug)]
pub struct Stopped {
    pub row: usize,
    /// The draft the row had become before it failed, if it got that far.
    pub draft_id: Option<PostId>,
    pub error: AppError,
}

impl Preview {
    /// True when the file is fine as a whole and every row is valid: "import all" works.
    pub fn is_clean(&self) -> bool {
        self.file_problems.is_empty()
            && !self.rows.is_empty()
            && self.rows.iter().all(|row| row.problems.is_empty())
    }

    /// How many rows would be imported with [`Choice::OnlyValid`].
    pub fn valid_rows(&self) -> usize {
        if !self.file_problems.is_empty() {
            return 0;
        }
        self.rows
            .iter()
            .filter(|row| row.problems.is_empty())
            .count()
    }

    /// Every problem, the file's first, then each row's in order.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.file_problems
            .iter()
            .chain(self.rows.iter().flat_map(|row| row.problems.iter()))
    }
}

impl Report {
    /// What to say when the import stopped part-way: exactly which rows went in. Internal
    /// errors are logged here and described without their cause.
    pub fn stopped_detail(&self) -> Option<String> {
        let stopped = self.stopped.as_ref()?;
        let reason = match &stopped.error {
            AppError::Store(_) | AppError::Internal(_) => {
                tracing::error!(error = %stopped.error, row = stopped.row, "import stopped");
                "an internal error, which has been logged".to_owned()
            }
            other => other.to_string(),
        };
        let imported = if self.imported.is_empty() {
            "no row was imported before it".to_owned()
        } else {
            let rows: Vec<String> = self
                .imported
                .iter()
                .map(|imported| format!("row {} as post {}", imported.row, imported.post.post.id))
                .collect();
            format!("imported before it: {}", rows.join(", "))
        };
        let draft = stopped
            .draft_id
            .map(|id| format!("; it was saved as draft {id}, not submitted"))
            .unwrap_or_default();
        Some(format!(
            "the import stopped at row {} ({reason}){draft}; {imported}; rows after it were not imported",
            stopped.row
        ))
    }
}

impl Problem {
    fn file(column: Option<&str>, message: String) -> Problem {
        Problem {
            row: None,
            column: column.map(str::to_owned),
            message,
        }
    }

    fn at(row: usize, column: Option<&str>, message: String) -> Problem {
        Problem {
            row: Some(row),
            column: column.map(str::to_owned),
            message,
        }
    }

    /// `row 3, time: …`, for messages that list problems in a sentence.
    pub fn describe(&self) -> String {
        match (self.row, &self.column) {
            (Some(row), Some(column)) => format!("row {row}, {column}: {}", self.message),
            (Some(row), None) => format!("row {row}: {}", self.message),
            (None, _) => self.message.clone(),
        }
    }
}

/// Reads the file and checks every row as the import would, saving nothing.
pub async fn preview(
    store: &Store,
    guard: &PolicyGuard,
    actor: &UserRecord,
    csv: &str,
    now: Timestamp,
) -> Result<Preview, AppError> {
    let parsed = parse(csv);
    let mut file_problems = parsed.file_problems;
    if let Some(document) = policy::document(store, actor).await?
        && document.acknowledged_at.is_none()
    {
        file_problems.push(Problem::file(
            None,
            format!(
                "read and accept the social media policy (version {}) before importing posts",
                document.version
            ),
        ));
    }
    let writable: Vec<_> = accounts::visible(store, actor)
        .await?
        .into_iter()
        .filter(|seen| check_account(actor.role, seen.level, AccountAction::Draft).is_ok())
        .collect();
    let mut rows = Vec::with_capacity(parsed.rows.len());
    let mut seen: HashMap<(AccountId, Timestamp, String), usize> = HashMap::new();
    for raw in parsed.rows {
        let mut row = check_row(store, guard, &writable, raw, now).await?;
        if let (Some(account), Some(at)) = (&row.account, row.at) {
            let key = (account.id, at, row.text.clone());
            match seen.get(&key) {
                Some(first) => row.problems.push(Problem::at(
                    row.row,
                    Some("message"),
                    format!("the same post as row {first}: same account, time and message"),
                )),
                None => {
                    seen.insert(key, row.row);
                }
            }
        }
        rows.push(row);
    }
    Ok(Preview {
        separator: parsed.separator,
        columns: parsed.columns,
        file_problems,
        rows,
    })
}

/// [`import`], run on a task of its own so that it goes on to the end, and to its audit entry,
/// even when the request that asked for it is dropped (a timeout, a closed browser).
pub async fn import_to_the_end(
    services: Services,
    actor: UserRecord,
    csv: String,
    choice: Choice,
    now: Timestamp,
) -> Result<Report, AppError> {
    tokio::spawn(async move { import(&services, &actor, &csv, choice, now).await })
        .await
        .map_err(|error| AppError::Internal(format!("the import task ended early: {error}")))?
}

/// Imports the file: all rows, or (with [`Choice::OnlyValid`]) the valid ones. Refused with
/// nothing saved when the file has a problem, or a row has one and `choice` is `All`. Audited
/// once as `posts.imported` with the counts and each imported row's post, also when it
/// stopped part-way.
pub async fn import(
    services: &Services,
    actor: &UserRecord,
    csv: &str,
    choice: Choice,
    now: Timestamp,
) -> Result<Report, AppError> {
    let Services { store, .. } = services;
    let guard = services.policy.as_ref();
    let preview = preview(store, guard, actor, csv, now).await?;
    if !preview.file_problems.is_empty() {
        return Err(refused(&preview.file_problems, "the file"));
    }
    if preview.rows.is_empty() {
        return Err(invalid(
            "the file has a header but no rows to import".to_owned(),
        ));
    }
    let (valid, skipped): (Vec<Row>, Vec<Row>) = preview
        .rows
        .into_iter()
        .partition(|row| row.problems.is_empty());
    if choice == Choice::All && !skipped.is_empty() {
        let problems: Vec<Problem> = skipped
            .iter()
            .flat_map(|row| row.problems.iter().cloned())
            .collect();
        let rows = if skipped.len() == 1 {
            "1 row".to_owned()
        } else {
            format!("{} rows", skipped.len())
        };
        return Err(refused(&problems, &rows));
    }
    if valid.is_empty() {
        return Err(invalid(
            "no row is valid, so nothing was imported; fix the problems the preview shows"
                .to_owned(),
        ));
    }
    let mut report = Report {
        imported: Vec::with_capacity(valid.len()),
        skipped,
        stopped: None,
    };
    for row in &valid {
        match import_row(services, actor, row, now).await {
            Ok(post) => report.imported.push(Imported { row: row.row, post }),
            Err((draft_id, error)) => {
                report.stopped = Some(Stopped {
                    row: row.row,
                    draft_id,
                    error,
                });
                break;
            }
        }
    }
    let mut accounts: Vec<AccountId> = report
        .imported
        .iter()
        .map(|imported| imported.post.post.account_id)
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let details = serde_json::json!({
        "rows": valid.len() + report.skipped.len(),
        "imported": report.imported.len(),
        "skipped": report.skipped.len(),
        "stopped_at_row": report.stopped.as_ref().map(|stopped| stopped.row),
        "posts": report
            .imported
            .iter()
            .map(|imported| serde_json::json!({ "row": imported.row, "post": imported.post.post.id }))
            .collect::<Vec<_>>(),
        "accounts": accounts,
    });
    record(
        store,
        now,
        Actor::User(actor.id),
        "posts.imported",
        None,
        None,
        details,
    )
    .await?;
    Ok(report)
}

/// One valid row through the normal services: a draft, its time, then submission (which
/// approves and schedules a publisher's post, and sends a contributor's for approval).
async fn import_row(
    services: &Services,
    actor: &UserRecord,
    row: &Row,
    now: Timestamp,
) -> Result<PostView, (Option<PostId>, AppError)> {
    let Services { store, .. } = services;
    let (Some(account), Some(at)) = (&row.account, row.at) else {
        return Err((
            None,
            AppError::Internal(format!("row {} was valid without a time", row.row)),
        ));
    };
    let draft = posts::create(store, actor, account.id, &row.text, now)
        .await
        .map_err(|error| (None, error))?;
    let id = draft.post.id;
    let when = When::At(at.to_string());
    schedule::schedule(services, actor, id, &when, false, now)
        .await
        .map_err(|error| (Some(id), error))?;
    let seen = posts::Seen {
        id,
        version: draft.post.version,
    };
    posts::submit(services, actor, seen, None, now)
        .await
        .map_err(|error| (Some(id), error))
}

/// Checks one row's account, time, text and policy findings.
async fn check_row(
    store: &Store,
    guard: &PolicyGuard,
    writable: &[accounts::Visible],
    raw: RawRow,
    now: Timestamp,
) -> Result<Row, AppError> {
    let mut problems = raw.problems;
    let mut notes = Vec::new();
    let text = match raw.link.as_str() {
        "" => raw.message.clone(),
        link => format!("{} {link}", raw.message),
    };
    let found = match find_account(writable, &raw.account) {
        Ok(found) => Some(found),
        Err(message) => {
            problems.push(Problem::at(raw.row, Some("account"), message));
            None
        }
    };
    let mut at = None;
    let mut local_time = None;
    if let Some(found) = found {
        let account = &found.account;
        let zone = schedule::zone_of(account)?;
        if let (Some(date), Some(time)) = (raw.date, raw.time) {
            match zone.instant(date.to_datetime(time)) {
                Some(instant) => {
                    if let Err(error) = rules::require_future(instant, now, &zone) {
                        let column = if date < zone.local(now).date() {
                            "date"
                        } else {
                            "time"
                        };
                        problems.push(Problem::at(raw.row, Some(column), error.to_string()));
                    }
                    local_time = Some(zone.show(instant));
                    at = Some(instant);
                }
                None => problems.push(Problem::at(
                    raw.row,
                    Some("time"),
                    format!("{date} {time} is not a time in {}", zone.name()),
                )),
            }
        }
        if !raw.message.is_empty()
            && let Some(message) = too_long(account, &text)
        {
            let column = if raw.link.is_empty() || too_long(account, &raw.message).is_some() {
                "message"
            } else {
                "link"
            };
            problems.push(Problem::at(raw.row, Some(column), message));
        }
        if found.level < Some(AccountLevel::Publisher) {
            notes.push("waits for approval by a publisher of the account".to_owned());
        }
        if account.confirm_before_publish {
            notes.push(format!(
                "{} asks for confirmation before every post: once approved, it waits for someone to schedule it and confirm",
                account.handle
            ));
        }
    }
    let mut shown_text = text.clone();
    if !raw.message.is_empty() {
        let (findings, _) = policy::scan(store, guard, &text, now).await?;
        shown_text = redacted(&text, &findings);
        let blocking: Vec<String> = findings
            .iter()
            .filter(|finding| finding.action == Action::Block)
            .map(|finding| format!("{} ({})", finding.rule.as_str(), finding.message))
            .collect();
        if !blocking.is_empty() {
            problems.push(Problem::at(
                raw.row,
                Some("message"),
                format!("the policy blocks this post: {}", blocking.join("; ")),
            ));
        }
        let asking: Vec<&str> = findings
            .iter()
            .filter(|finding| finding.action == Action::RequireApproval)
            .map(|finding| finding.rule.as_str())
            .collect();
        if !asking.is_empty() {
            notes.push(format!(
                "the policy asks for approval: {}",
                asking.join(", ")
            ));
        }
    }
    Ok(Row {
        row: raw.row,
        account: found.map(|found| found.account.clone()),
        account_text: raw.account,
        at,
        local_time,
        text,
        shown_text,
        problems,
        notes,
    })
}

/// `text` with each blocking finding's match replaced by its redacted excerpt.
fn redacted(text: &str, findings: &[guard::Finding]) -> String {
    let mut blocking: Vec<&guard::Finding> = findings
        .iter()
        .filter(|finding| finding.action == Action::Block)
        .collect();
    blocking.sort_by_key(|finding| finding.span.start);
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for finding in blocking {
        if finding.span.start < rest {
            continue;
        }
        out.push_str(text.get(rest..finding.span.start).unwrap_or(""));
        out.push_str(&finding.excerpt);
        rest = finding.span.end;
    }
    out.push_str(text.get(rest..).unwrap_or(""));
    out
}

/// The account a row names, among those the importer may write for. One they cannot write
/// for, or cannot see, is "not found" alike, so nobody learns which other accounts exist.
fn find_account<'a>(
    writable: &'a [accounts::Visible],
    named: &str,
) -> Result<&'a accounts::Visible, String> {
    if named.is_empty() {
        return Err("name the account: its handle, such as @sunnycafe, or its number".to_owned());
    }
    let not_found = || format!("no account {named} that you can write for");
    if let Ok(id) = named.parse::<AccountId>() {
        return writable
            .iter()
            .find(|seen| seen.account.id == id)
            .ok_or_else(not_found);
    }
    let bare = |handle: &str| handle.trim_start_matches('@').to_lowercase();
    let wanted = bare(named);
    let matches: Vec<&accounts::Visible> = writable
        .iter()
        .filter(|seen| bare(&seen.account.handle) == wanted)
        .collect();
    match matches.as_slice() {
        [] => Err(not_found()),
        [only] => Ok(only),
        several => Err(format!(
            "{named} is the handle of several accounts you can write for ({}); use the account's number instead",
            several
                .iter()
                .map(|seen| format!("{} on {}", seen.account.id, seen.account.network.label()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Why `text` does not fit the account's network, in the composer's words; none if it fits.
fn too_long(account: &AccountRecord, text: &str) -> Option<String> {
    let length = post_text::length(account.network, text, None);
    if length.fits() {
        return None;
    }
    let network = account.network.label();
    Some(match length.bytes {
        Some((used, limit)) if used > limit => {
            format!("{network} allows {limit} bytes; this post has {used}")
        }
        _ => format!(
            "{network} allows {} {}; this post has {}",
            length.limit, length.unit, length.used
        ),
    })
}

/// "Nothing was imported", naming the first problems.
fn refused(problems: &[Problem], what: &str) -> AppError {
    const SHOWN: usize = 5;
    let mut listed: Vec<String> = problems.iter().take(SHOWN).map(Problem::describe).collect();
    if problems.len() > SHOWN {
        listed.push(format!("and {} more", problems.len() - SHOWN));
    }
    invalid(format!(
        "nothing was imported: {what} {} problems ({}). Preview the file to see each one, fix them, or import only the valid rows",
        if what == "1 row" { "has" } else { "have" },
        listed.join("; ")
    ))
}

fn invalid(message: String) -> AppError {
    AppError::Invalid {
        field: "csv",
        message,
    }
}
