//! Breached-password data: Have I Been Pwned's "Pwned Passwords" SHA-1 list, imported by the
//! user and queried locally. Nothing about a password ever leaves the machine.
//!
//! Import reads the downloaded data (one file of `HASH:COUNT` lines, or a folder of range
//! files named by their five-character hash prefix holding `SUFFIX:COUNT` lines), checks every
//! line and the sort order, and writes a compact sorted file of 20-byte hashes into the data
//! directory. A lookup is then a binary search of about 30 reads, whatever the list's size.
//! The new file replaces the old one only once it is complete, so a malformed download
//! overwrites nothing.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

/// The file in the data directory that holds the imported list.
pub const FILE_NAME: &str = "breached-passwords.bin";
/// Marks the file as Herald's and names its layout (sorted 20-byte SHA-1 hashes).
const MAGIC: &[u8; 8] = b"HRLDPWN1";
const HASH_LEN: u64 = 20;

/// Why breach data could not be imported or read. Each names the file and, for a malformed
/// download, the line and what is wrong with it (never the line itself).
#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("{path}, line {line}: {problem}")]
    Malformed {
        path: PathBuf,
        line: u64,
        problem: String,
    },
    #[error(
        "{path}, line {line}: out of order; Pwned Passwords files are sorted by hash, so this one was changed or cut short. Download it again"
    )]
    Unsorted { path: PathBuf, line: u64 },
    #[error(
        "{path}: no password hashes in it; expected lines like 7C4A8D09CA3762AF61E59520943DC26494F8941B:24230577"
    )]
    Empty { path: PathBuf },
    #[error(
        "{path}: a range folder holds files named by five hexadecimal characters, such as 7C4A8.txt; this one is not"
    )]
    StrayFile { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write the breach list into {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("{path} is not a breach list written by Herald; import the data again")]
    Corrupt { path: PathBuf },
}

/// The imported list in a data directory. Opening the file per lookup keeps an import made by
/// `herald breaches import` while the server runs visible at once.
#[derive(Debug, Clone)]
pub struct Breaches {
    path: PathBuf,
}

/// What the imported list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub hashes: u64,
}

impl Breaches {
    pub fn in_data_dir(data_dir: &Path) -> Breaches {
        Breaches {
            path: data_dir.join(FILE_NAME),
        }
    }

    /// The list's size, or `None` when nothing was imported yet.
    pub fn summary(&self) -> Result<Option<Summary>, BreachError> {
        Ok(self.open()?.map(|(_, hashes)| Summary { hashes }))
    }

    /// Whether `password` is in the imported list; `None` when nothing was imported.
    pub fn contains(&self, password: &str) -> Result<Option<bool>, BreachError> {
        let Some((file, count)) = self.open()? else {
            return Ok(None);
        };
        let wanted: [u8; 20] = Sha1::digest(password.as_bytes()).into();
        let read = |index: u64| -> Result<[u8; 20], BreachError> {
            let mut hash = [0u8; 20];
            file.read_exact_at(&mut hash, MAGIC.len() as u64 + index * HASH_LEN)
                .map_err(|source| self.read_error(source))?;
            Ok(hash)
        };
        let (mut low, mut high) = (0, count);
        while low < high {
            let middle = low + (high - low) / 2;
            match read(middle)?.cmp(&wanted) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(Some(true)),
            }
        }
        Ok(Some(false))
    }

    fn open(&self) -> Result<Option<(File, u64)>, BreachError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.read_error(source)),
        };
        let length = file
            .metadata()
            .map_err(|source| self.read_error(source))?
            .len();
        let mut magic = [0u8; 8];
        let body = length.checked_sub(MAGIC.len() as u64);
        let intact = body.is_some_and(|body| body % HASH_LEN == 0)
            && file.read_exact_at(&mut magic, 0).is_ok()
            && &magic == MAGIC;
        match body {
            Some(body) if intact => Ok(Some((file, body / HASH_LEN))),
            _ => Err(BreachError::Corrupt {
                path: self.path.clone(),
            }),
        }
    }

    fn read_error(&self, source: io::Error) -> BreachError {
        BreachError::Read {
            path: self.path.clone(),
            source,
        }
    }
}

/// Imports the Pwned Passwords data at `source` (a file, or a folder of range files) into
/// `data_dir`, replacing an earlier import only once the new one is complete and valid.
pub fn import(source: &Path, data_dir: &Path) -> Result<Summary, BreachError> {
    let target = data_dir.join(FILE_NAME);
    let partial = data_dir.join(format!("{FILE_NAME}.importing"));
    let result = write_list(source, &partial);
    let renamed = result.and_then(|summary| {
        fs::rename(&partial, &target)
            .map(|()| summary)
            .map_err(|source| BreachError::Write {
                path: target.clone(),
                source,
            })
    });
    if renamed.is_err() {
        // Best effort: a leftover partial file would only waste space.
        let _ = fs::remove_file(&partial);
    }
    renamed
}

fn write_list(source: &Path, partial: &Path) -> Result<Summary, BreachError> {
    let write_error = |source: io::Error| BreachError::Write {
        path: partial.to_owned(),
        source,
    };
    let mut out = BufWriter::new(File::create(partial).map_err(write_error)?);
    out.write_all(MAGIC).map_err(write_error)?;
    let mut writer = SortedWriter {
        out,
        previous: None,
        hashes: 0,
    };
    if source.is_dir() {
        for (prefix, path) in range_files(source)? {
            writer.copy(&path, Some(&prefix))?;
        }
    } else {
        let prefix = range_prefix(source);
        writer.copy(source, prefix.as_deref())?;
    }
    if writer.hashes == 0 {
        return Err(BreachError::Empty {
            path: source.to_owned(),
        });
    }
    let file = writer
        .out
        .into_inner()
        .map_err(|error| write_error(error.into_error()))?;
    file.sync_all().map_err(write_error)?;
    Ok(Summary {
        hashes: writer.hashes,
    })
}

/// Writes hashes in order, refusing any that is out of order; repeats are written once.
struct SortedWriter {
    out: BufWriter<File>,
    previous: Option<[u8; 20]>,
    hashes: u64,
}

impl SortedWriter {
    fn copy(&mut self, path: &Path, prefix: Option<&str>) -> Result<(), BreachError> {
        let read_error = |source: io::Error| BreachError::Read {
            path: path.to_owned(),
            source,
        };
        let reader = BufReader::new(File::open(path).map_err(read_error)?);
        for (index, line) in reader.split(b'\n').enumerate() {
            let line_number = index as u64 + 1;
            let line = line.map_err(read_error)?;
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            if line.is_empty() {
                continue;
            }
            let hash = parse_line(line, prefix).map_err(|problem| BreachError::Malformed {
                path: path.to_owned(),
                line: line_number,
                problem,
            })?;
            match self.previous {
                Some(previous) if hash < previous => {
                    return Err(BreachError::Unsorted {
                        path: path.to_owned(),
                        line: line_number,
                    });
                }
                Some(previous) if hash == previous => continue,
                _ => {}
            }
            self.out
                .write_all(&hash)
                .map_err(|source| BreachError::Write {
                    path: path.to_owned(),
                    source,
                })?;
            self.previous = Some(hash);
            self.hashes += 1;
        }
        Ok(())
    }
}

/// One line, `HASH:COUNT` (or `SUFFIX:COUNT` in a range file), as the 20-byte hash. The
/// problem names what is wrong without repeating the line, which might be someone's password
/// if the wrong file was chosen.
fn parse_line(line: &[u8], prefix: Option<&str>) -> Result<[u8; 20], String> {
    let (hash, count) = match line.iter().position(|&byte| byte == b':') {
        Some(colon) => (&line[..colon], &line[colon + 1..]),
        None => (line, &b""[..]),
    };
    let expected = 40 - prefix.map_or(0, str::len);
    if count.is_empty() || !count.iter().all(u8::is_ascii_digit) {
        return Err(format!(
            "expected a hash of {expected} hexadecimal characters, a colon and a count, like 7C4A8D09CA3762AF61E59520943DC26494F8941B:24230577"
        ));
    }
    if hash.len() == 32 && prefix.is_none() {
        return Err(
            "this looks like the NTLM edition of Pwned Passwords; Herald needs the SHA-1 edition"
                .to_owned(),
        );
    }
    if hash.len() != expected {
        return Err(format!(
            "the hash has {} characters; it should have {expected}",
            hash.len()
        ));
    }
    let mut text = String::with_capacity(40);
    text.push_str(prefix.unwrap_or(""));
    text.push_str(std::str::from_utf8(hash).map_err(|_| "the hash is not hexadecimal")?);
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(&text, &mut bytes).map_err(|_| "the hash is not hexadecimal")?;
    Ok(bytes)
}

/// The prefix a range file's name gives (`7C4A8.txt` → `7C4A8`), when it is one.
fn range_prefix(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    (stem.len() == 5 && stem.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| stem.to_ascii_uppercase())
}

/// A range folder's files in hash order, each with its prefix; hidden files are skipped.
fn range_files(folder: &Path) -> Result<Vec<(String, PathBuf)>, BreachError> {
    let entries = fs::read_dir(folder).map_err(|source| BreachError::Read {
        path: folder.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| BreachError::Read {
                path: folder.to_owned(),
                source,
            })?
            .path();
        if path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        let prefix = range_prefix(&path).ok_or(BreachError::StrayFile { path: path.clone() })?;
        files.push((prefix, path));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_for(password: &str) -> String {
        format!("{}:3", hex::encode_upper(Sha1::digest(password.as_bytes())))
    }

    fn sorted_lines(passwords: &[&str]) -> String {
        let mut lines: Vec<String> = passwords.iter().map(|p| line_for(p)).collect();
        lines.sort();
        lines.join("\r\n") + "\r\n"
    }

    #[test]
    fn an_imported_file_finds_its_passwords_and_no_others() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("pwned.txt");
        fs::write(
            &source,
            sorted_lines(&["password1", "letmein", "Summer2024!"]),
        )
        .expect("write");
        let summary = import(&source, dir.path()).expect("import");
        assert_eq!(summary.hashes, 3);
        let breaches = Breaches::in_data_dir(dir.path());
        assert_eq!(breaches.contains("letmein").expect("lookup"), Some(true));
        assert_eq!(
            breaches.contains("Summer2024!").expect("lookup"),
            Some(true)
        );
        assert_eq!(
            breaches.contains("correct horse battery").expect("lookup"),
            Some(false)
        );
    }

    #[test]
    fn a_folder_of_range_files_imports_with_each_prefix_from_its_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ranges = dir.path().join("ranges");
        fs::create_dir(&ranges).expect("mkdir");
        let line = line_for("letmein");
        let (prefix, rest) = line.split_at(5);
        fs::write(ranges.join(format!("{prefix}.txt")), rest).expect("write");
        import(&ranges, dir.path()).expect("import");
        let breaches = Breaches::in_data_dir(dir.path());
        assert_eq!(breaches.contains("letmein").expect("lookup"), Some(true));
    }

    #[test]
    fn nothing_imported_answers_none_rather_than_not_breached() {
        let dir = tempfile::tempdir().expect("temp dir");
        let breaches = Breaches::in_data_dir(dir.path());
        assert_eq!(breaches.contains("letmein").expect("lookup"), None);
        assert_eq!(breaches.summary().expect("summary"), None);
    }

    #[test]
    fn a_malformed_line_is_named_and_the_earlier_import_survives() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("good.txt");
        fs::write(&good, sorted_lines(&["letmein"])).expect("write");
        import(&good, dir.path()).expect("import");
        let bad = dir.path().join("bad.txt");
        fs::write(&bad, format!("{}\nhunter2\n", line_for("letmein"))).expect("write");
        let error = import(&bad, dir.path()).expect_err("malformed");
        let message = error.to_string();
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains("hunter2"), "the line is never echoed");
        let breaches = Breaches::in_data_dir(dir.path());
        assert_eq!(breaches.contains("letmein").expect("lookup"), Some(true));
        assert!(!dir.path().join(format!("{FILE_NAME}.importing")).exists());
    }

    #[test]
    fn an_unsorted_file_and_an_ntlm_file_are_refused_with_their_reason() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut lines: Vec<String> = ["a", "b", "c"].iter().map(|p| line_for(p)).collect();
        lines.sort();
        lines.reverse();
        let unsorted = dir.path().join("unsorted.txt");
        fs::write(&unsorted, lines.join("\n")).expect("write");
        let error = import(&unsorted, dir.path()).expect_err("unsorted");
        assert!(
            error.to_string().contains("line 2: out of order"),
            "{error}"
        );
        let ntlm = dir.path().join("ntlm.txt");
        fs::write(&ntlm, "8846F7EAEE8FB117AD06BDD830B7586C:1\n").expect("write");
        let error = import(&ntlm, dir.path()).expect_err("ntlm");
        assert!(error.to_string().contains("NTLM"), "{error}");
    }

    #[test]
    fn a_damaged_list_is_reported_not_read_as_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join(FILE_NAME), b"HRLDPWN1short").expect("write");
        let error = Breaches::in_data_dir(dir.path())
            .contains("letmein")
            .expect_err("corrupt");
        assert!(matches!(error, BreachError::Corrupt { .. }));
    }
}
