//! Feeds kept compactly: each list is the sorted, de-duplicated first 8 bytes of the SHA-256
//! of every entry's lookup expression (8 bytes an entry: 5 million URLs take 40 MB), looked up
//! by binary search. A list is written to a temporary file beside its final name and renamed
//! over it only once complete, so a half-written import never replaces the last good one.
//!
//! With 64-bit hashes the chance that one of a link's 30 lookups meets one of 5 million
//! unrelated entries by accident is about 1 in 10¹¹.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::canonical::Canonical;

/// The first bytes of a list file.
const MAGIC: &[u8; 8] = b"HLINKS1\n";
/// The file name ending of a list.
pub const LIST_EXTENSION: &str = "hashes";

/// The hash Herald keeps of a lookup expression.
pub fn hash(expression: &str) -> u64 {
    let digest = Sha256::digest(expression.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// One feed's entries as sorted hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HashList {
    hashes: Vec<u64>,
}

impl HashList {
    /// A list from entries' hashes in any order, duplicates allowed.
    pub fn from_hashes(mut hashes: Vec<u64>) -> HashList {
        hashes.sort_unstable();
        hashes.dedup();
        hashes.shrink_to_fit();
        HashList { hashes }
    }

    /// How many distinct entries the list has.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `expression` is in the list.
    pub fn contains(&self, expression: &str) -> bool {
        self.hashes.binary_search(&hash(expression)).is_ok()
    }

    /// Whether any of a URL's lookup expressions is in the list.
    pub fn matches(&self, url: &Canonical) -> bool {
        url.expressions().iter().any(|e| self.contains(e))
    }

    /// Writes the list to `path` whole or not at all: a temporary file in the same folder,
    /// flushed to disk, then renamed over `path`.
    pub fn write_atomically(&self, path: &Path) -> io::Result<()> {
        let folder = path.parent().unwrap_or_else(|| Path::new("."));
        let temporary = folder.join(format!(
            ".{}.partial",
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        let mut bytes = Vec::with_capacity(16 + 8 * self.hashes.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(self.hashes.len() as u64).to_le_bytes());
        for hash in &self.hashes {
            bytes.extend_from_slice(&hash.to_le_bytes());
        }
        let mut file = fs::File::create(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temporary, path)
    }

    /// Reads a list written by [`HashList::write_atomically`], refusing a damaged one.
    pub fn read(path: &Path) -> io::Result<HashList> {
        let mut bytes = Vec::new();
        fs::File::open(path)?.read_to_end(&mut bytes)?;
        let damaged = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("The feed list {} is damaged: {why}", path.display()),
            )
        };
        let (magic, rest) = bytes
            .split_at_checked(8)
            .ok_or_else(|| damaged("too short"))?;
        if magic != MAGIC {
            return Err(damaged("not a Herald feed list"));
        }
        let (count, rest) = rest
            .split_at_checked(8)
            .ok_or_else(|| damaged("too short"))?;
        let mut count_bytes = [0u8; 8];
        count_bytes.copy_from_slice(count);
        let count = u64::from_le_bytes(count_bytes);
        if rest.len() as u64 != count.saturating_mul(8) {
            return Err(damaged("its length does not match its count"));
        }
        let hashes: Vec<u64> = rest
            .chunks_exact(8)
            .map(|chunk| {
                let mut one = [0u8; 8];
                one.copy_from_slice(chunk);
                u64::from_le_bytes(one)
            })
            .collect();
        if hashes.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(damaged("its entries are not in order"));
        }
        Ok(HashList { hashes })
    }
}

/// Every feed list in a folder, each under its name (the file name without `.hashes`).
#[derive(Debug, Clone, Default)]
pub struct FeedLists {
    lists: Vec<(String, HashList)>,
}

impl FeedLists {
    /// The lists in `folder` (none when it does not exist). A damaged list is skipped and
    /// logged rather than stopping the others.
    pub fn load(folder: &Path) -> io::Result<FeedLists> {
        let mut lists = Vec::new();
        let entries = match fs::read_dir(folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(FeedLists::default());
            }
            Err(error) => return Err(error),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some(LIST_EXTENSION) {
                continue;
            }
            let name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default();
            match HashList::read(&path) {
                Ok(list) => lists.push((name, list)),
                Err(error) => tracing::warn!(%error, "a feed list is skipped"),
            }
        }
        lists.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(FeedLists { lists })
    }

    /// Lists from memory, for tests and benchmarks.
    pub fn from_lists(lists: Vec<(String, HashList)>) -> FeedLists {
        FeedLists { lists }
    }

    /// The name of the first list `url` is in.
    pub fn find(&self, url: &Canonical) -> Option<&str> {
        let expressions = url.expressions();
        let hashes: Vec<u64> = expressions.iter().map(|e| hash(e)).collect();
        self.lists
            .iter()
            .find(|(_, list)| hashes.iter().any(|h| list.hashes.binary_search(h).is_ok()))
            .map(|(name, _)| name.as_str())
    }

    /// Each list's name and entry count.
    pub fn summary(&self) -> Vec<(String, usize)> {
        self.lists
            .iter()
            .map(|(name, list)| (name.clone(), list.len()))
            .collect()
    }
}

/// Where the list named `name` lives in `folder`. The name is kept to letters, digits, `-`
/// and `_` so it can never leave the folder.
pub fn list_path(folder: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    folder.join(format!("{safe}.{LIST_EXTENSION}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> HashList {
        HashList::from_hashes(entries.iter().map(|e| hash(e)).collect())
    }

    #[test]
    fn an_entry_matches_however_the_link_is_written() {
        let list = list(&["evil.example/", "198.51.100.7/bins/x86"]);
        for link in [
            "https://EVIL.example/anything?at=all",
            "http://login.evil.example:80/x",
            "http://198.51.100.7/bins/x86",
            "http://3325256711/bins/./x86#top",
        ] {
            let url = Canonical::parse(link).expect("parses");
            assert!(list.matches(&url), "{link}");
        }
        for link in ["https://notevil.example/", "http://198.51.100.7/bins/x64"] {
            let url = Canonical::parse(link).expect("parses");
            assert!(!list.matches(&url), "{link}");
        }
    }

    #[test]
    fn a_list_survives_a_round_trip_and_a_damaged_file_is_refused() {
        let folder = tempfile::tempdir().expect("folder");
        let path = list_path(folder.path(), "URLhaus feed");
        assert!(path.ends_with("urlhaus_feed.hashes"));
        let written = list(&["b.example/", "a.example/", "a.example/"]);
        assert_eq!(written.len(), 2);
        written.write_atomically(&path).expect("writes");
        assert_eq!(HashList::read(&path).expect("reads"), written);
        let loaded = FeedLists::load(folder.path()).expect("loads");
        let url = Canonical::parse("https://a.example/x").expect("parses");
        assert_eq!(loaded.find(&url), Some("urlhaus_feed"));
        let mut bytes = fs::read(&path).expect("reads");
        bytes.truncate(bytes.len() - 3);
        fs::write(&path, bytes).expect("writes");
        let error = HashList::read(&path).expect_err("damaged");
        assert!(error.to_string().contains("is damaged"), "{error}");
        assert!(
            FeedLists::load(folder.path())
                .expect("loads")
                .summary()
                .is_empty()
        );
    }
}
