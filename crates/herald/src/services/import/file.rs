//! Reading an import file: its separator, its header and each row's fields, with what is wrong
//! with them. Pure (no accounts, no policy, no clock), so every rule of the format described
//! in `import.rs` is tested here.

use std::collections::HashMap;

use jiff::civil::{Date, Time};

use super::{FORMULA_STARTS, MAX_ROWS, Problem};

/// The columns the import reads, as the header names them.
const REQUIRED: [&str; 4] = ["date", "time", "message", "account"];
const OPTIONAL: [&str; 1] = ["link"];
/// Written by the export; read and ignored, so an exported file imports again.
const IGNORED: [&str; 2] = ["state", "post_id"];

/// The file read into rows, before any account or policy is looked at.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Parsed {
    pub(super) separator: char,
    pub(super) columns: Vec<String>,
    pub(super) file_problems: Vec<Problem>,
    pub(super) rows: Vec<RawRow>,
}

/// One row's fields, the date and time read when they could be.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RawRow {
    pub(super) row: usize,
    pub(super) date: Option<Date>,
    pub(super) time: Option<Time>,
    pub(super) message: String,
    pub(super) link: String,
    pub(super) account: String,
    pub(super) problems: Vec<Problem>,
}

/// Reads the file: its separator, header and rows. Pure, so every rule is tested inline.
pub(super) fn parse(text: &str) -> Parsed {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let separator = separator_of(text);
    let mut parsed = Parsed {
        separator: char::from(separator),
        columns: Vec::new(),
        file_problems: Vec::new(),
        rows: Vec::new(),
    };
    let mut records = reader(text, separator).into_records();
    let header = match records.next() {
        Some(Ok(header)) if header.iter().any(|name| !name.is_empty()) => header,
        Some(Err(error)) => {
            parsed.file_problems.push(Problem::file(
                None,
                format!("the header cannot be read: {error}"),
            ));
            return parsed;
        }
        _ => {
            parsed.file_problems.push(Problem::file(
                None,
                "the file is empty; its first row must name the columns: date, time, message, link, account".to_owned(),
            ));
            return parsed;
        }
    };
    parsed.columns = header.iter().map(str::to_owned).collect();
    let Some(columns) = read_header(&parsed.columns, &mut parsed.file_problems) else {
        return parsed;
    };
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, |position| position.line());
                parsed.file_problems.push(Problem::file(
                    None,
                    format!("line {line} cannot be read: {error}"),
                ));
                break;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        if parsed.rows.len() == MAX_ROWS {
            parsed.file_problems.push(Problem::file(
                None,
                format!("the file has more than {MAX_ROWS} rows; import it in parts"),
            ));
            break;
        }
        let row = record.position().map_or(parsed.rows.len() + 2, |position| {
            line_of(text, position.byte())
        });
        let fields: Vec<&str> = record.iter().collect();
        parsed
            .rows
            .push(read_row(row, &fields, &columns, parsed.columns.len()));
    }
    parsed
}

/// Where each column the import reads is in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Columns {
    date: usize,
    time: usize,
    message: usize,
    account: usize,
    link: Option<usize>,
}

/// Finds each column by its name, reporting unknown, repeated and missing ones.
fn read_header(names: &[String], problems: &mut Vec<Problem>) -> Option<Columns> {
    let mut found: HashMap<&'static str, usize> = HashMap::new();
    for (index, name) in names.iter().enumerate() {
        let lower = name.to_lowercase();
        let known = REQUIRED
            .iter()
            .chain(&OPTIONAL)
            .chain(&IGNORED)
            .find(|known| **known == lower);
        match known {
            None if name.is_empty() => problems.push(Problem::file(
                None,
                format!("column {} has no name in the header", index + 1),
            )),
            None => problems.push(Problem::file(
                Some(name),
                format!(
                    "unknown column {name:?}; the columns are date, time, message, link and account"
                ),
            )),
            Some(known) if found.contains_key(known) => problems.push(Problem::file(
                Some(known),
                format!("the column {known} is named twice in the header"),
            )),
            Some(known) => {
                found.insert(known, index);
            }
        }
    }
    for required in REQUIRED {
        if !found.contains_key(required) {
            problems.push(Problem::file(
                Some(required),
                format!(
                    "the column {required} is missing; the header must name date, time, message and account"
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return None;
    }
    Some(Columns {
        date: *found.get("date")?,
        time: *found.get("time")?,
        message: *found.get("message")?,
        account: *found.get("account")?,
        link: found.get("link").copied(),
    })
}

fn read_row(row: usize, fields: &[&str], columns: &Columns, width: usize) -> RawRow {
    let field = |index: usize| unprotect(fields.get(index).copied().unwrap_or("")).to_owned();
    let mut problems = Vec::new();
    if fields.len() > width {
        problems.push(Problem::at(
            row,
            None,
            format!(
                "this row has {} fields but the header names {width}; put a message that holds a separator in double quotes",
                fields.len()
            ),
        ));
    }
    let date_text = field(columns.date);
    let date = read_date(&date_text)
        .map_err(|message| problems.push(Problem::at(row, Some("date"), message)))
        .ok();
    let time_text = field(columns.time);
    let time = read_time(&time_text)
        .map_err(|message| problems.push(Problem::at(row, Some("time"), message)))
        .ok();
    let message = field(columns.message);
    if message.is_empty() {
        problems.push(Problem::at(
            row,
            Some("message"),
            "the message is empty".to_owned(),
        ));
    }
    let link = columns.link.map(field).unwrap_or_default();
    if !link.is_empty() && !is_link(&link) {
        problems.push(Problem::at(
            row,
            Some("link"),
            format!(
                "{link:?} is not a link; write it in full, such as https://sunnycafe.example/menu"
            ),
        ));
    }
    RawRow {
        row,
        date,
        time,
        message,
        link,
        account: field(columns.account),
        problems,
    }
}

/// `2026-12-24`, and nothing looser: a day and month in the wrong order must not slip in.
fn read_date(text: &str) -> Result<Date, String> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    let bad = || format!("{text:?} is not a date; write it as YYYY-MM-DD, such as 2026-12-24");
    if !shaped {
        return Err(if text.is_empty() {
            "the date is empty; write it as YYYY-MM-DD, such as 2026-12-24".to_owned()
        } else {
            bad()
        });
    }
    text.parse::<Date>()
        .map_err(|_| format!("{text} is not a day in the calendar"))
}

/// `09:30` or `9:30`, 24-hour.
fn read_time(text: &str) -> Result<Time, String> {
    let bad = || {
        if text.is_empty() {
            "the time is empty; write it as HH:MM (24-hour), such as 09:30".to_owned()
        } else {
            format!("{text:?} is not a time of day; write it as HH:MM (24-hour), such as 09:30")
        }
    };
    let (hour, minute) = text.split_once(':').ok_or_else(bad)?;
    let digits = |part: &str, most: usize| {
        !part.is_empty() && part.len() <= most && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    if !digits(hour, 2) || !digits(minute, 2) || minute.len() != 2 {
        return Err(bad());
    }
    let (Ok(hour), Ok(minute)) = (hour.parse::<i8>(), minute.parse::<i8>()) else {
        return Err(bad());
    };
    Time::new(hour, minute, 0, 0).map_err(|_| bad())
}

fn is_link(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        !rest.is_empty() && !rest.starts_with('/') && !text.chars().any(char::is_whitespace)
    })
}

/// A field written as `'=…` by the export, read back as `=…` (one `'` removed).
pub(crate) fn unprotect(field: &str) -> &str {
    match field.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(FORMULA_STARTS) => rest,
        _ => field,
    }
}

/// The line (from 1) a record starting at byte `offset` is on. The reader's own line count
/// goes astray with CRLF and blank lines, and its offset may point at the line break before
/// the record, so that is skipped first.
fn line_of(text: &str, offset: u64) -> usize {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let start = offset
        + text
            .get(offset..)
            .unwrap_or("")
            .bytes()
            .take_while(|byte| matches!(byte, b'\r' | b'\n'))
            .count();
    1 + text
        .get(..start)
        .unwrap_or(text)
        .bytes()
        .filter(|byte| *byte == b'\n')
        .count()
}

/// `;` when the header splits into more known columns with it than with `,`.
fn separator_of(text: &str) -> u8 {
    let known = |separator: u8| {
        reader(text, separator)
            .into_records()
            .next()
            .and_then(Result::ok)
            .map_or(0, |header| {
                header
                    .iter()
                    .filter(|name| {
                        let name = name.to_lowercase();
                        REQUIRED
                            .iter()
                            .chain(&OPTIONAL)
                            .any(|known| **known == name)
                    })
                    .count()
            })
    };
    if known(b';') > known(b',') {
        b';'
    } else {
        b','
    }
}

fn reader(text: &str, separator: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(problems: &[Problem]) -> Vec<(Option<usize>, Option<&str>)> {
        problems
            .iter()
            .map(|problem| (problem.row, problem.column.as_deref()))
            .collect()
    }

    #[test]
    fn columns_are_found_by_name_in_any_order_with_a_bom_crlf_and_spaces() {
        let parsed = parse(
            "\u{feff}Account , MESSAGE,date,time\r\n @sunnycafe ,\"Soup, bread\",2027-01-05, 9:30 \r\n",
        );
        assert_eq!(parsed.file_problems, Vec::new());
        assert_eq!(parsed.separator, ',');
        let row = &parsed.rows[0];
        assert_eq!(row.row, 2);
        assert_eq!(row.account, "@sunnycafe");
        assert_eq!(row.message, "Soup, bread");
        assert_eq!(row.date, Some(jiff::civil::date(2027, 1, 5)));
        assert_eq!(row.time, Some(jiff::civil::time(9, 30, 0, 0)));
        assert_eq!(row.problems, Vec::new());
    }

    #[test]
    fn semicolons_are_the_separator_when_the_header_uses_them() {
        let parsed = parse("date;time;message;link;account\n2027-01-05;09:30;Soup, hot;;@sunny\n");
        assert_eq!(parsed.separator, ';');
        assert_eq!(parsed.rows[0].message, "Soup, hot");
        assert_eq!(parsed.rows[0].problems, Vec::new());
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_named_for_the_whole_file() {
        let parsed = parse("date,colour,date,message\n2027-01-05,red,2027-01-05,Hi\n");
        assert_eq!(
            messages(&parsed.file_problems),
            [
                (None, Some("colour")),
                (None, Some("date")),
                (None, Some("time")),
                (None, Some("account"))
            ]
        );
        assert!(
            parsed.file_problems[0]
                .message
                .contains("unknown column \"colour\"")
        );
        assert!(
            parsed.rows.is_empty(),
            "no row is read under a broken header"
        );
        assert!(!parse("").file_problems.is_empty(), "an empty file says so");
    }

    #[test]
    fn the_exports_extra_columns_and_formula_guards_read_back() {
        let parsed = parse(
            "date,time,message,link,account,state,post_id\n2027-01-05,09:30,'=1+1 is two,,@sunny,scheduled,7\n",
        );
        assert_eq!(parsed.file_problems, Vec::new());
        assert_eq!(parsed.rows[0].message, "=1+1 is two");
        assert_eq!(unprotect("'quoted"), "'quoted", "only a guard is removed");
    }

    #[test]
    fn bad_dates_times_links_and_empty_messages_name_their_row_and_column() {
        let parsed = parse(
            "date,time,message,link,account\n\
             05/01/2027,09:30,Hi,,@a\n\
             2027-02-30,24:00,Hi,www.example.com,@a\n\
             2027-01-05,09:30,,,@a\n\
             2027-01-05,9.30,Hi,,@a,extra\n",
        );
        let problems: Vec<_> = parsed
            .rows
            .iter()
            .flat_map(|row| messages(&row.problems))
            .collect();
        assert_eq!(
            problems,
            [
                (Some(2), Some("date")),
                (Some(3), Some("date")),
                (Some(3), Some("time")),
                (Some(3), Some("link")),
                (Some(4), Some("message")),
                (Some(5), None),
                (Some(5), Some("time")),
            ]
        );
        assert!(
            parsed.rows[1].problems[0]
                .message
                .contains("not a day in the calendar")
        );
    }

    #[test]
    fn rows_are_numbered_by_the_line_they_start_on_and_blank_rows_are_skipped() {
        let parsed = parse(
            "date,time,message,account\n2027-01-05,09:30,\"two\nlines\",@a\n,,,\n\n2027-01-06,09:30,Hi,@a\n",
        );
        let rows: Vec<usize> = parsed.rows.iter().map(|row| row.row).collect();
        assert_eq!(rows, [2, 6]);
        assert_eq!(parsed.rows[0].message, "two\nlines");
    }

    #[test]
    fn a_file_with_too_many_rows_is_refused_as_a_whole() {
        let mut text = String::from("date,time,message,account\n");
        for _ in 0..=MAX_ROWS {
            text.push_str("2027-01-05,09:30,Hi,@a\n");
        }
        let parsed = parse(&text);
        assert_eq!(parsed.rows.len(), MAX_ROWS);
        assert!(
            parsed.file_problems[0]
                .message
                .contains(&format!("more than {MAX_ROWS} rows"))
        );
    }
}
