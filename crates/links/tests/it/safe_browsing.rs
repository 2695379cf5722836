//! Safe Browsing Update API v4 against a local fake of the API: the prefix list kept up to
//! date (full, then partial with a removal; a bad checksum empties the list), and a full-hash
//! request only when a URL's expression hits a prefix.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use links::Canonical;
use links::safe_browsing::SafeBrowsing;
use networks::Outbound;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const KEY: &str = "test-api-key";

/// What the fake holds: each malware expression's full hash, what it was asked.
#[derive(Default)]
struct Fake {
    malware: Vec<[u8; 32]>,
    /// A prefix on the list whose full hash the API no longer confirms.
    stale: Vec<[u8; 32]>,
    /// Whether the next partial update sends a wrong checksum.
    break_checksum: bool,
    full_hash_requests: Vec<Value>,
    states_seen: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

fn full(expression: &str) -> [u8; 32] {
    Sha256::digest(expression.as_bytes()).into()
}

fn checksum(prefixes: &mut [Vec<u8>]) -> String {
    prefixes.sort();
    let mut digest = Sha256::new();
    for prefix in prefixes.iter() {
        digest.update(prefix);
    }
    STANDARD.encode(digest.finalize())
}

async fn update(
    State(fake): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    assert!(query.contains(&("key".to_owned(), KEY.to_owned())));
    let mut fake = fake.lock().expect("fake");
    let mut responses = Vec::new();
    for request in body["listUpdateRequests"].as_array().expect("requests") {
        let threat_type = request["threatType"].as_str().expect("type").to_owned();
        let state = request["state"].as_str().unwrap_or_default().to_owned();
        if threat_type != "MALWARE" {
            responses.push(json!({
                "threatType": threat_type, "responseType": "FULL_UPDATE",
                "newClientState": "empty", "checksum": { "sha256": checksum(&mut Vec::new()) }
            }));
            continue;
        }
        fake.states_seen.push(state.clone());
        let mut prefixes: Vec<Vec<u8>> = fake
            .malware
            .iter()
            .chain(&fake.stale)
            .map(|hash| hash[..4].to_vec())
            .collect();
        if state.is_empty() {
            let raw: Vec<u8> = prefixes.concat();
            responses.push(json!({
                "threatType": "MALWARE", "responseType": "FULL_UPDATE",
                "additions": [{ "compressionType": "RAW",
                    "rawHashes": { "prefixSize": 4, "rawHashes": STANDARD.encode(raw) } }],
                "newClientState": "s1", "checksum": { "sha256": checksum(&mut prefixes) }
            }));
        } else {
            // The stale entry (first in sorted order among the client's) goes.
            let mut sorted = prefixes.clone();
            sorted.sort();
            let stale = fake.stale.first().map(|hash| hash[..4].to_vec());
            let index = sorted.iter().position(|p| Some(p) == stale.as_ref());
            let mut kept: Vec<Vec<u8>> = sorted
                .into_iter()
                .filter(|p| Some(p) != stale.as_ref())
                .collect();
            let sum = if fake.break_checksum {
                STANDARD.encode([0u8; 32])
            } else {
                checksum(&mut kept)
            };
            responses.push(json!({
                "threatType": "MALWARE", "responseType": "PARTIAL_UPDATE",
                "removals": [{ "compressionType": "RAW", "rawIndices": { "indices": index.into_iter().collect::<Vec<_>>() } }],
                "newClientState": "s2", "checksum": { "sha256": sum }
            }));
        }
    }
    Json(json!({ "listUpdateResponses": responses, "minimumWaitDuration": "300s" }))
}

async fn find(State(fake): State<Shared>, Json(body): Json<Value>) -> Json<Value> {
    let mut fake = fake.lock().expect("fake");
    fake.full_hash_requests.push(body.clone());
    let asked: Vec<Vec<u8>> = body["threatInfo"]["threatEntries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            STANDARD
                .decode(entry["hash"].as_str().expect("hash"))
                .expect("base64")
        })
        .collect();
    let matches: Vec<Value> = fake
        .malware
        .iter()
        .filter(|hash| asked.iter().any(|prefix| hash.starts_with(prefix)))
        .map(|hash| {
            json!({ "threatType": "MALWARE", "platformType": "ANY_PLATFORM",
            "threatEntryType": "URL", "threat": { "hash": STANDARD.encode(hash) },
            "cacheDuration": "300s" })
        })
        .collect();
    Json(json!({ "matches": matches, "negativeCacheDuration": "300s" }))
}

async fn start(fake: Fake) -> (String, Shared) {
    let shared = Arc::new(Mutex::new(fake));
    let app = Router::new()
        .route("/v4/threatListUpdates:fetch", post(update))
        .route("/v4/fullHashes:find", post(find))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, shared)
}

fn client(url: &str) -> SafeBrowsing {
    let outbound = Outbound::new(Duration::from_secs(2)).allow_private_addresses(true);
    SafeBrowsing::new(outbound, url, KEY)
}

fn url(raw: &str) -> Canonical {
    Canonical::parse(raw).expect("parses")
}

#[tokio::test]
async fn a_prefix_hit_is_confirmed_by_its_full_hash_and_a_miss_asks_nothing() {
    let (base, fake) = start(Fake {
        malware: vec![full("evil.example/"), full("files.example/x/payload.exe")],
        stale: vec![full("was-bad.example/")],
        ..Fake::default()
    })
    .await;
    let mut safe = client(&base);
    safe.update().await.expect("updates");
    assert_eq!(safe.prefix_count(), 3);

    let found = safe
        .lookup(&url("HTTPS://login.EVIL.example/a/../b?c=1#d"))
        .await;
    assert_eq!(found, Ok(Some("MALWARE".to_owned())));
    let found = safe
        .lookup(&url("http://files.example/x/./payload.exe"))
        .await;
    assert_eq!(found, Ok(Some("MALWARE".to_owned())));
    assert_eq!(fake.lock().expect("fake").full_hash_requests.len(), 2);

    assert_eq!(
        safe.lookup(&url("https://fine.example/menu")).await,
        Ok(None)
    );
    assert_eq!(
        fake.lock().expect("fake").full_hash_requests.len(),
        2,
        "no prefix hit, no request: the URL never leaves the machine"
    );
    let stale = safe.lookup(&url("https://was-bad.example/")).await;
    assert_eq!(
        stale,
        Ok(None),
        "a prefix the full hashes do not confirm is clean"
    );
    let asked = fake.lock().expect("fake").full_hash_requests[2].clone();
    assert_eq!(
        asked["threatInfo"]["threatEntries"][0]["hash"],
        STANDARD.encode(&full("was-bad.example/")[..4]),
        "only the prefix is sent"
    );
}

#[tokio::test]
async fn partial_updates_remove_by_index_and_a_bad_checksum_empties_the_list() {
    let (base, fake) = start(Fake {
        malware: vec![full("evil.example/")],
        stale: vec![full("was-bad.example/")],
        ..Fake::default()
    })
    .await;
    let mut safe = client(&base);
    safe.update().await.expect("full update");
    assert_eq!(safe.prefix_count(), 2);
    safe.update().await.expect("partial update");
    assert_eq!(safe.prefix_count(), 1, "the stale prefix was removed");
    assert_eq!(
        safe.lookup(&url("https://was-bad.example/")).await,
        Ok(None)
    );
    assert_eq!(fake.lock().expect("fake").full_hash_requests.len(), 0);

    fake.lock().expect("fake").break_checksum = true;
    let error = safe.update().await.expect_err("checksum");
    assert!(error.contains("checksum does not match"), "{error}");
    assert_eq!(safe.prefix_count(), 0);
    fake.lock().expect("fake").break_checksum = false;
    safe.update().await.expect("full update again");
    assert_eq!(safe.prefix_count(), 2);
    assert_eq!(
        fake.lock().expect("fake").states_seen,
        ["", "s1", "s2", ""],
        "after a bad checksum the client asks for the whole list"
    );
}

#[tokio::test]
async fn the_api_is_reached_only_through_the_hardened_client() {
    let (base, _) = start(Fake::default()).await;
    let outbound = Outbound::new(Duration::from_secs(2));
    let mut strict = SafeBrowsing::new(outbound, &base, KEY);
    let error = strict.update().await.expect_err("refused");
    assert_eq!(error, networks::outbound::REFUSED_ADDRESS);
    assert!(!error.contains(KEY));
    assert!(
        !format!("{strict:?}").contains(KEY),
        "Debug leaves the key out"
    );
}
