//! Google Safe Browsing Update API v4, as Google requires it be used: a local list of SHA-256
//! hash prefixes kept up to date (`threatListUpdates:fetch`: full or partial updates, removals
//! by index before additions, the list's SHA-256 checksum verified), and a full-hash request
//! (`fullHashes:find`) only when one of a URL's lookup expressions hits a prefix. Requests go
//! through the hardened outbound client; the API key is never logged or put in an error.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use networks::Outbound;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::canonical::Canonical;

/// The threat lists Herald follows (URLs, any platform).
const THREAT_TYPES: [&str; 4] = [
    "MALWARE",
    "SOCIAL_ENGINEERING",
    "UNWANTED_SOFTWARE",
    "POTENTIALLY_HARMFUL_APPLICATION",
];
/// The largest answer read from the API.
const LARGEST_ANSWER: usize = 64 * 1024 * 1024;

/// One threat list's local prefixes and the state the server gave with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct List {
    threat_type: String,
    state: String,
    /// Sorted byte-wise, as the checksum and removal indices require.
    prefixes: Vec<Vec<u8>>,
}

/// The local Safe Browsing lists and how to reach the API. `Debug` leaves the key out.
#[derive(Clone)]
pub struct SafeBrowsing {
    outbound: Outbound,
    /// `https://safebrowsing.googleapis.com` (a local fake in tests).
    base_url: String,
    key: String,
    lists: Vec<List>,
}

impl std::fmt::Debug for SafeBrowsing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeBrowsing")
            .field("base_url", &self.base_url)
            .field("key", &"[REDACTED]")
            .field("prefixes", &self.prefix_count())
            .finish_non_exhaustive()
    }
}

impl SafeBrowsing {
    /// Empty lists; [`SafeBrowsing::update`] fills them.
    pub fn new(outbound: Outbound, base_url: &str, key: &str) -> SafeBrowsing {
        SafeBrowsing {
            outbound,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            lists: THREAT_TYPES
                .iter()
                .map(|threat_type| List {
                    threat_type: (*threat_type).to_owned(),
                    ..List::default()
                })
                .collect(),
        }
    }

    /// How many prefixes are held, over all lists.
    pub fn prefix_count(&self) -> usize {
        self.lists.iter().map(|list| list.prefixes.len()).sum()
    }

    /// Brings every list up to date. A list whose checksum does not match after the update is
    /// emptied (its state forgotten), so the next update is a full one, as the API asks.
    pub async fn update(&mut self) -> Result<(), String> {
        let requests: Vec<serde_json::Value> = self
            .lists
            .iter()
            .map(|list| {
                json!({
                    "threatType": list.threat_type,
                    "platformType": "ANY_PLATFORM",
                    "threatEntryType": "URL",
                    "state": list.state,
                    "constraints": { "supportedCompressions": ["RAW"] },
                })
            })
            .collect();
        let body = json!({
            "client": { "clientId": "herald", "clientVersion": env!("CARGO_PKG_VERSION") },
            "listUpdateRequests": requests,
        });
        let answer: UpdateAnswer = self.call("threatListUpdates:fetch", &body).await?;
        let mut problems = Vec::new();
        for response in answer.list_update_responses {
            let Some(list) = self
                .lists
                .iter_mut()
                .find(|list| list.threat_type == response.threat_type)
            else {
                continue;
            };
            if let Err(problem) = apply(list, response) {
                problems.push(problem);
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Whether `url` is on a Safe Browsing list: its expressions' full hashes against the
    /// local prefixes, and only on a hit the full hashes asked of the API. Names the threat
    /// type when it is.
    pub async fn lookup(&self, url: &Canonical) -> Result<Option<String>, String> {
        let full: Vec<[u8; 32]> = url
            .expressions()
            .iter()
            .map(|expression| Sha256::digest(expression.as_bytes()).into())
            .collect();
        let mut hits: Vec<&[u8]> = Vec::new();
        for list in &self.lists {
            for hash in &full {
                for prefix in &list.prefixes {
                    if hash.starts_with(prefix) && !hits.contains(&prefix.as_slice()) {
                        hits.push(prefix);
                    }
                }
            }
        }
        if hits.is_empty() {
            return Ok(None);
        }
        let entries: Vec<serde_json::Value> = hits
            .iter()
            .map(|prefix| json!({ "hash": STANDARD.encode(prefix) }))
            .collect();
        let body = json!({
            "client": { "clientId": "herald", "clientVersion": env!("CARGO_PKG_VERSION") },
            "clientStates": self.lists.iter().map(|list| list.state.clone()).collect::<Vec<_>>(),
            "threatInfo": {
                "threatTypes": THREAT_TYPES,
                "platformTypes": ["ANY_PLATFORM"],
                "threatEntryTypes": ["URL"],
                "threatEntries": entries,
            },
        });
        let answer: FindAnswer = self.call("fullHashes:find", &body).await?;
        for found in answer.matches {
            let Ok(hash) = STANDARD.decode(found.threat.hash) else {
                continue;
            };
            if full.iter().any(|ours| ours.as_slice() == hash.as_slice()) {
                return Ok(Some(found.threat_type));
            }
        }
        Ok(None)
    }

    /// POSTs `body` to `/v4/{method}?key=…`, reading the answer up to a cap.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
    ) -> Result<T, String> {
        let url = format!("{}/v4/{method}", self.base_url);
        let parsed = reqwest::Url::parse(&url)
            .map_err(|_| "The Safe Browsing address cannot be read".to_owned())?;
        self.outbound
            .check_url(&parsed)
            .map_err(|_| networks::outbound::REFUSED_ADDRESS.to_owned())?;
        let failed = |error: reqwest::Error| {
            // The URL carries the key: the error is logged without it.
            tracing::debug!(error = %error.without_url(), "a Safe Browsing request failed");
            "Safe Browsing cannot be reached".to_owned()
        };
        let mut response = self
            .outbound
            .client()
            .post(parsed)
            .query(&[("key", self.key.as_str())])
            .json(body)
            .send()
            .await
            .map_err(failed)?;
        if !response.status().is_success() {
            return Err(format!("Safe Browsing answered {}", response.status()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if bytes.len() + chunk.len() > LARGEST_ANSWER {
                return Err("Safe Browsing's answer is too large".to_owned());
            }
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes)
            .map_err(|_| "Safe Browsing's answer cannot be read".to_owned())
    }
}

/// Applies one list's update: removals (indices into the sorted list) before additions, then
/// the checksum.
fn apply(list: &mut List, response: ListUpdate) -> Result<(), String> {
    if response.response_type == "FULL_UPDATE" {
        list.prefixes.clear();
    }
    let mut removed: Vec<usize> = response
        .removals
        .iter()
        .flat_map(|removal| removal.raw_indices.indices.iter().copied())
        .collect();
    removed.sort_unstable();
    removed.dedup();
    for index in removed.into_iter().rev() {
        if index >= list.prefixes.len() {
            return forget(list, "a removal names an entry the list does not have");
        }
        list.prefixes.remove(index);
    }
    for addition in response.additions {
        let raw = STANDARD
            .decode(addition.raw_hashes.raw_hashes)
            .map_err(|_| format!("{}: an addition cannot be read", list.threat_type))?;
        let size = addition.raw_hashes.prefix_size;
        if !(4..=32).contains(&size) || raw.len() % size != 0 {
            return forget(list, "an addition has prefixes of an impossible size");
        }
        list.prefixes
            .extend(raw.chunks_exact(size).map(<[u8]>::to_vec));
    }
    list.prefixes.sort_unstable();
    list.prefixes.dedup();
    let mut digest = Sha256::new();
    for prefix in &list.prefixes {
        digest.update(prefix);
    }
    let expected = STANDARD
        .decode(response.checksum.sha256)
        .unwrap_or_default();
    if digest.finalize().as_slice() != expected.as_slice() {
        return forget(list, "the list's checksum does not match after the update");
    }
    list.state = response.new_client_state;
    Ok(())
}

fn forget(list: &mut List, why: &str) -> Result<(), String> {
    list.prefixes.clear();
    list.state.clear();
    Err(format!(
        "{}: {why}; the next update fetches it whole",
        list.threat_type
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateAnswer {
    #[serde(default)]
    list_update_responses: Vec<ListUpdate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListUpdate {
    threat_type: String,
    response_type: String,
    #[serde(default)]
    additions: Vec<Addition>,
    #[serde(default)]
    removals: Vec<Removal>,
    new_client_state: String,
    checksum: Checksum,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Addition {
    raw_hashes: RawHashes,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHashes {
    prefix_size: usize,
    raw_hashes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Removal {
    raw_indices: RawIndices,
}

#[derive(Deserialize)]
struct RawIndices {
    #[serde(default)]
    indices: Vec<usize>,
}

#[derive(Deserialize)]
struct Checksum {
    sha256: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FindAnswer {
    #[serde(default)]
    matches: Vec<Match>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Match {
    threat_type: String,
    threat: MatchedHash,
}

#[derive(Deserialize)]
struct MatchedHash {
    hash: String,
}
