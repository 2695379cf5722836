//! Threat feed files: URLhaus's CSV dump, PhishTank's CSV, OpenPhish's one URL a line, and a
//! plain list of domains. The format is told from the content; every entry must read, and a
//! file with one that does not is refused whole, naming its line.

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use crate::canonical::Canonical;

/// The feed formats Herald reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// URLhaus CSV: `# id,dateadded,url,url_status,...` comments, then quoted rows.
    Urlhaus,
    /// PhishTank CSV: a `phish_id,url,...` header, then rows.
    Phishtank,
    /// OpenPhish: one URL a line.
    Openphish,
    /// One domain a line; every address on it and its subdomains.
    Domains,
}

impl Format {
    /// The name used in `[links] feeds` and by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Urlhaus => "urlhaus",
            Format::Phishtank => "phishtank",
            Format::Openphish => "openphish",
            Format::Domains => "domains",
        }
    }

    /// The format named `name`.
    pub fn parse(name: &str) -> Option<Format> {
        [
            Format::Urlhaus,
            Format::Phishtank,
            Format::Openphish,
            Format::Domains,
        ]
        .into_iter()
        .find(|format| format.as_str() == name)
    }
}

/// Why a feed file was refused: the line (from 1) and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedError {
    pub line: u64,
    pub message: String,
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for FeedError {}

/// How many bytes of a file are looked at to tell its format.
const SNIFF_BYTES: usize = 64 * 1024;

/// Reads a whole feed, calling `entry` with the lookup expression of every entry, and answers
/// the format read and how many entries it had. `format` forces one; `None` detects it.
pub fn read(
    input: impl Read,
    format: Option<Format>,
    mut entry: impl FnMut(String),
) -> Result<(Format, u64), FeedError> {
    let mut input = BufReader::with_capacity(SNIFF_BYTES, input);
    let format = match format {
        Some(format) => format,
        None => detect(input.fill_buf().map_err(|error| io_error(0, &error))?)?,
    };
    let count = match format {
        Format::Urlhaus => read_csv(input, Column::Fixed(2), &mut entry)?,
        Format::Phishtank => read_csv(input, Column::Named("url"), &mut entry)?,
        Format::Openphish => read_lines(input, false, &mut entry)?,
        Format::Domains => read_lines(input, true, &mut entry)?,
    };
    Ok((format, count))
}

/// The format of a file that starts with `start`.
pub fn detect(start: &[u8]) -> Result<Format, FeedError> {
    let text = String::from_utf8_lossy(start);
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let Some(first) = lines.next() else {
        return Err(FeedError {
            line: 1,
            message: "The file is empty; a feed needs at least one entry".to_owned(),
        });
    };
    let lower = first.to_ascii_lowercase();
    if lower.starts_with('#') {
        let header = text.lines().take(20).any(|line| {
            line.to_ascii_lowercase()
                .replace(' ', "")
                .contains("id,dateadded,url")
        });
        if header {
            return Ok(Format::Urlhaus);
        }
        let data = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with('#'));
        return match data {
            Some(line) if line.starts_with('"') => Ok(Format::Urlhaus),
            Some(line) => detect(line.as_bytes()),
            None => Err(FeedError {
                line: 1,
                message: "The file has only comments; a feed needs at least one entry".to_owned(),
            }),
        };
    }
    if lower.starts_with("phish_id,") {
        return Ok(Format::Phishtank);
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(Format::Openphish);
    }
    if looks_like_domain(first) {
        return Ok(Format::Domains);
    }
    Err(FeedError {
        line: 1,
        message: format!(
            "`{}` is not the start of a feed Herald reads (URLhaus CSV, PhishTank CSV, OpenPhish or a list of domains)",
            shown(first)
        ),
    })
}

fn looks_like_domain(line: &str) -> bool {
    line.contains('.')
        && !line.starts_with('.')
        && line
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Which CSV column holds the URL.
enum Column {
    Fixed(usize),
    Named(&'static str),
}

fn read_csv(
    input: impl Read,
    column: Column,
    entry: &mut impl FnMut(String),
) -> Result<u64, FeedError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(matches!(column, Column::Named(_)))
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(input);
    let index = match column {
        Column::Fixed(index) => index,
        Column::Named(name) => {
            let headers = reader.headers().map_err(|error| csv_error(1, &error))?;
            headers
                .iter()
                .position(|header| header.trim() == name)
                .ok_or_else(|| FeedError {
                    line: 1,
                    message: format!("The header has no `{name}` column"),
                })?
        }
    };
    let mut count = 0;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => return Err(csv_error(line, &error)),
        }
        let line = record.position().map_or(line, csv::Position::line);
        let Some(field) = record.get(index) else {
            return Err(FeedError {
                line,
                message: format!(
                    "The row has {} fields; the URL is field {}",
                    record.len(),
                    index + 1
                ),
            });
        };
        let url = std::str::from_utf8(field).map_err(|_| FeedError {
            line,
            message: "The URL is not UTF-8 text".to_owned(),
        })?;
        if !has_web_scheme(url.trim()) {
            return Err(FeedError {
                line,
                message: format!("`{}` is not an http or https URL", shown(url)),
            });
        }
        entry(entry_for(url, line)?);
        count += 1;
    }
    if count == 0 {
        return Err(FeedError {
            line: reader.position().line(),
            message: "The file has no entries".to_owned(),
        });
    }
    Ok(count)
}

fn read_lines(
    mut input: impl BufRead,
    domains: bool,
    entry: &mut impl FnMut(String),
) -> Result<u64, FeedError> {
    let mut count = 0;
    let mut line_number = 0;
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        line_number += 1;
        let read = input
            .read_until(b'\n', &mut buffer)
            .map_err(|error| io_error(line_number, &error))?;
        if read == 0 {
            break;
        }
        let text = std::str::from_utf8(&buffer).map_err(|_| FeedError {
            line: line_number,
            message: "The line is not UTF-8 text".to_owned(),
        })?;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if domains {
            if !looks_like_domain(text) {
                return Err(FeedError {
                    line: line_number,
                    message: format!("`{}` is not a domain name", shown(text)),
                });
            }
            let canonical = Canonical::parse(text).map_err(|error| FeedError {
                line: line_number,
                message: error.to_string(),
            })?;
            entry(format!("{}/", canonical.host));
        } else {
            if !has_web_scheme(text) {
                return Err(FeedError {
                    line: line_number,
                    message: format!("`{}` is not an http or https URL", shown(text)),
                });
            }
            entry(entry_for(text, line_number)?);
        }
        count += 1;
    }
    if count == 0 {
        return Err(FeedError {
            line: line_number.saturating_sub(1).max(1),
            message: "The file has no entries".to_owned(),
        });
    }
    Ok(count)
}

fn has_web_scheme(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

fn entry_for(url: &str, line: u64) -> Result<String, FeedError> {
    Canonical::parse(url.trim())
        .map(|canonical| canonical.entry())
        .map_err(|error| FeedError {
            line,
            message: format!("`{}` cannot be read: {error}", shown(url)),
        })
}

/// At most 80 characters of `text`, to quote in an error.
fn shown(text: &str) -> String {
    let mut shown: String = text.chars().take(80).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

fn csv_error(line: u64, error: &csv::Error) -> FeedError {
    let line = error.position().map_or(line, csv::Position::line);
    FeedError {
        line: line.max(1),
        message: format!("The CSV cannot be read: {}", error.kind_message()),
    }
}

fn io_error(line: u64, error: &std::io::Error) -> FeedError {
    FeedError {
        line: line.max(1),
        message: format!("The file cannot be read: {error}"),
    }
}

/// A CSV error's words without the position (the line is told apart).
trait KindMessage {
    fn kind_message(&self) -> String;
}

impl KindMessage for csv::Error {
    fn kind_message(&self) -> String {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "a field is not UTF-8 text".to_owned(),
            csv::ErrorKind::Io(error) => error.to_string(),
            _ => "a row is not well-formed CSV".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Result<(Format, Vec<String>), FeedError> {
        let mut found = Vec::new();
        let (format, count) = read(text.as_bytes(), None, |entry| found.push(entry))?;
        assert_eq!(count, found.len() as u64);
        Ok((format, found))
    }

    const URLHAUS: &str = "################################################################\n\
# abuse.ch URLhaus Database Dump (CSV)                         #\n\
################################################################\n\
#\n\
# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
\"3333331\",\"2026-12-01 10:00:04\",\"http://198.51.100.7:443/bins/x86\",\"online\",\"2026-12-01 10:00:04\",\"malware_download\",\"elf,mirai\",\"https://urlhaus.abuse.ch/url/3333331/\",\"geenensp\"\n\
\"3333330\",\"2026-12-01 09:58:02\",\"https://Evil.Example/Invoice.ZIP#x\",\"offline\",\"\",\"malware_download\",\"zip\",\"https://urlhaus.abuse.ch/url/3333330/\",\"anonymous\"\n";

    #[test]
    fn a_urlhaus_dump_is_recognised_and_read() {
        let (format, found) = entries(URLHAUS).expect("reads");
        assert_eq!(format, Format::Urlhaus);
        assert_eq!(found, ["198.51.100.7/bins/x86", "evil.example/Invoice.ZIP"]);
    }

    #[test]
    fn a_phishtank_file_is_recognised_by_its_header() {
        let text = "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n\
9000001,https://login.bank.example.evil.test/signin?x=1,http://www.phishtank.com/phish_detail.php?phish_id=9000001,2026-12-01T10:00:00+00:00,yes,2026-12-01T10:05:00+00:00,yes,Other\n";
        let (format, found) = entries(text).expect("reads");
        assert_eq!(format, Format::Phishtank);
        assert_eq!(found, ["login.bank.example.evil.test/signin?x=1"]);
    }

    #[test]
    fn openphish_and_domain_lists_are_told_apart() {
        let (format, found) =
            entries("https://phish.example/a\nhttp://other.example/\n").expect("reads");
        assert_eq!(format, Format::Openphish);
        assert_eq!(found, ["phish.example/a", "other.example/"]);
        let (format, found) = entries("# blocked\nBad.Example\n\nworse.example\n").expect("reads");
        assert_eq!(format, Format::Domains);
        assert_eq!(found, ["bad.example/", "worse.example/"]);
    }

    #[test]
    fn a_malformed_file_is_refused_naming_the_line() {
        let error = entries("https://phish.example/a\nhttps://ok.example/\nnot a url at all\n")
            .expect_err("refused");
        assert_eq!(error.line, 3);
        assert!(
            error.message.contains("not an http or https URL"),
            "{error}"
        );
        let error = entries("bad.example\nnot a domain/\n").expect_err("refused");
        assert_eq!(
            error.to_string(),
            "Line 2: `not a domain/` is not a domain name"
        );
        let broken = URLHAUS.replace("https://Evil.Example/Invoice.ZIP#x", "not a url");
        let error = entries(&broken).expect_err("refused");
        assert_eq!(error.line, 7, "{error}");
        let short = URLHAUS.replace(
            "\"3333330\",\"2026-12-01 09:58:02\",\"https://Evil.Example/Invoice.ZIP#x\"",
            "\"3333330\"",
        );
        let error = entries(&short).expect_err("refused");
        assert_eq!(error.line, 7, "{error}");
        let error = entries("javascript:alert(1)\n").expect_err("refused");
        assert_eq!(error.line, 1);
        let error = entries("").expect_err("refused");
        assert!(error.message.starts_with("The file is empty"), "{error}");
    }
}
