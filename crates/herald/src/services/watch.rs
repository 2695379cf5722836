//! Watching each connected account (X, LinkedIn, Facebook Pages, Instagram, Threads, Bluesky
//! and Mastodon) for signs that someone else controls it (issue 20): posts on it that Herald
//! did not publish, a post Herald published that is gone, changes to its profile, links that
//! link safety calls dangerous in its own posts, and Herald's token suddenly refused. What it
//! finds becomes a "possible compromise" alert with the evidence ([`incidents::detected`]),
//! once per sign. Each network's own reading is its `Watch` in `networks` (`x/watch.rs`, …).
//!
//! The first look at an account only remembers what is there (its posts and profile) and
//! alerts on nothing: posts from before Herald watched are not evidence.

use std::sync::Arc;

use jiff::Timestamp;
use networks::{Endpoint, NetworkError, OwnPost, Profile, Tokens, Watch};

use crate::domain::accounts::Network;
use crate::services::connections::{self, Networks, TokensError};
use crate::services::incidents::{self, Evidence};
use crate::services::links::{LinkSafety, Reach};
use crate::services::{AppError, Services};
use crate::store::{AccountRecord, Store};

/// How many posts a network's first page holds at most (the page every watcher asks for): a
/// Herald post missing from a shorter page is gone, not merely older.
const FULL_PAGE: usize = networks::watch::PAGE;

/// The networks Herald can watch: those whose API shows an account its own posts and profile
/// with the tokens Herald holds (all of them: each has a `Watch`).
pub fn watchable(network: Network) -> bool {
    matches!(
        network,
        Network::Mastodon
            | Network::Bluesky
            | Network::X
            | Network::Linkedin
            | Network::Facebook
            | Network::Instagram
            | Network::Threads
    )
}

/// Looks at one account; returns the incident an alert went to, if it found anything.
pub async fn look(
    services: &Services,
    account: &AccountRecord,
    now: Timestamp,
) -> Result<Option<i64>, AppError> {
    let Services {
        store, networks, ..
    } = services;
    let links = services.policy.links().map(AsRef::as_ref);
    if !watchable(account.network) || account.connection != "connected" {
        return Ok(None);
    }
    let adapter = networks
        .adapter(account.network)
        .map_err(|error| AppError::Internal(error.to_string()))?;
    let tokens = match connections::tokens_for(services, adapter.as_ref(), account, now).await {
        Ok(tokens) => tokens,
        Err(TokensError::Network(NetworkError::Unauthorized(reason))) => {
            return refused(store, account, &reason, now).await;
        }
        Err(_) => return Ok(None),
    };
    let Some(watcher) = watcher(networks, account.network, &tokens) else {
        return Ok(None);
    };
    let posts = match watcher.recent_posts(&tokens).await {
        Ok(posts) => posts,
        Err(NetworkError::Unauthorized(reason)) => {
            return refused(store, account, &reason, now).await;
        }
        Err(error) => {
            tracing::info!(account.id = account.id.get(), %error, "could not watch the account this time");
            return Ok(None);
        }
    };
    let profile = watcher.profile(&tokens).await.ok();
    let first_look = store.watched_profile(account.id).await?.is_none()
        && store.seen_posts(account.id).await?.is_empty();
    let mut evidence = Vec::new();
    if first_look {
        for post in &posts {
            store
                .note_seen_post(account.id, &post.remote_id, now)
                .await?;
        }
    } else {
        evidence.extend(unknown_posts(store, links, account, &posts, now).await?);
        evidence.extend(deleted_posts(store, account, &posts, now).await?);
    }
    if let Some(profile) = profile {
        evidence.extend(profile_changes(store, account, &profile, now).await?);
    }
    if evidence.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        incidents::detected(store, account, &evidence, now).await?,
    ))
}

/// The watcher for the account's network (see [`watchable`]): Mastodon's at the tokens'
/// instance, the configured one for every other network.
pub(crate) fn watcher(
    networks: &Networks,
    network: Network,
    tokens: &Tokens,
) -> Option<Arc<dyn Watch>> {
    if network != Network::Mastodon {
        return networks.watcher(network);
    }
    let server = tokens.server.clone().unwrap_or_default();
    Some(Arc::new(networks::mastodon::Mastodon::new(Endpoint::new(
        &server,
        networks.outbound(),
        None,
    ))))
}

/// Posts Herald did not publish, each once; with any dangerous link in them named.
async fn unknown_posts(
    store: &Store,
    links: Option<&LinkSafety>,
    account: &AccountRecord,
    posts: &[OwnPost],
    now: Timestamp,
) -> Result<Vec<Evidence>, AppError> {
    let herald: Vec<String> = store
        .herald_remote_ids(account.id)
        .await?
        .into_iter()
        .map(|(_, remote_id, _, _)| remote_id)
        .collect();
    let mut evidence = Vec::new();
    for post in posts {
        if herald.contains(&post.remote_id) {
            store
                .note_seen_post(account.id, &post.remote_id, now)
                .await?;
            continue;
        }
        if !store
            .note_seen_post(account.id, &post.remote_id, now)
            .await?
        {
            continue;
        }
        // Remembered as the attacker's, for the recovery step that deletes them
        // (`services::attacker_posts`).
        store
            .note_seen_post(account.id, &format!("attacker:{}", post.remote_id), now)
            .await?;
        let place = post.url.as_deref().unwrap_or(&post.remote_id);
        evidence.push(Evidence {
            kind: "unknown_post",
            text: format!(
                "A post Herald did not publish appeared on the account ({place}): \"{}\"",
                excerpt(&post.text)
            ),
        });
        if let Some(links) = links {
            let findings = links
                .findings(store, &post.text, now, Reach::Offline)
                .await?;
            for finding in findings
                .iter()
                .filter(|finding| finding.action == guard::Action::Block)
            {
                evidence.push(Evidence {
                    kind: "dangerous_link",
                    text: format!(
                        "That post links somewhere dangerous: {} ({})",
                        finding.rule.as_str(),
                        finding.message
                    ),
                });
            }
        }
    }
    Ok(evidence)
}

/// Posts Herald published that the network no longer shows, each once.
async fn deleted_posts(
    store: &Store,
    account: &AccountRecord,
    posts: &[OwnPost],
    now: Timestamp,
) -> Result<Vec<Evidence>, AppError> {
    let oldest_shown = posts
        .iter()
        .filter_map(|post| post.created_at.as_deref()?.parse::<Timestamp>().ok())
        .min();
    let whole_history = posts.len() < FULL_PAGE;
    let mut evidence = Vec::new();
    for (post_id, remote_id, published, published_at) in store.herald_remote_ids(account.id).await?
    {
        let recent = match (published_at, oldest_shown) {
            (Some(at), Some(oldest)) => at >= oldest,
            _ => false,
        };
        let expected = published && (whole_history || recent);
        if !expected || posts.iter().any(|post| post.remote_id == remote_id) {
            continue;
        }
        if store
            .note_seen_post(account.id, &format!("deleted:{remote_id}"), now)
            .await?
        {
            evidence.push(Evidence {
                kind: "post_deleted",
                text: format!(
                    "Post {post_id}, which Herald published, is no longer on the account"
                ),
            });
        }
    }
    Ok(evidence)
}

/// What changed in the profile since the last look; remembers the new one.
async fn profile_changes(
    store: &Store,
    account: &AccountRecord,
    profile: &Profile,
    now: Timestamp,
) -> Result<Vec<Evidence>, AppError> {
    let json =
        serde_json::to_string(profile).map_err(|error| AppError::Internal(error.to_string()))?;
    let before = store.watched_profile(account.id).await?;
    store.set_watched_profile(account.id, &json, now).await?;
    let Some(before) = before.and_then(|before| serde_json::from_str::<Profile>(&before).ok())
    else {
        return Ok(Vec::new());
    };
    Ok(profile
        .changes_from(&before)
        .into_iter()
        .map(|(field, old, new)| Evidence {
            kind: "profile_change",
            text: format!(
                "The account's {field} changed from \"{}\" to \"{}\"",
                excerpt(&old),
                excerpt(&new)
            ),
        })
        .collect())
}

/// Herald's token refused: once per set of tokens (a reconnection stores new ones).
async fn refused(
    store: &Store,
    account: &AccountRecord,
    reason: &str,
    now: Timestamp,
) -> Result<Option<i64>, AppError> {
    let stored = store.secret(account.id, "oauth_tokens").await?;
    let key = format!(
        "token_refused:{}",
        stored.map_or(0, |secret| secret.updated_at.as_millisecond())
    );
    if !store.note_seen_post(account.id, &key, now).await? {
        return Ok(None);
    }
    let evidence = [Evidence {
        kind: "token_refused",
        text: format!(
            "{} suddenly refused Herald's token ({reason}): someone may have changed the password or removed Herald",
            account.network.label()
        ),
    }];
    Ok(Some(
        incidents::detected(store, account, &evidence, now).await?,
    ))
}

/// At most 280 characters of a text, on one line.
fn excerpt(text: &str) -> String {
    let line = text.replace('\n', " ");
    match line.char_indices().nth(280) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}
