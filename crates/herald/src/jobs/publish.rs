//! Publishing a scheduled post: one job per (post, scheduled time). The job moves the post to
//! `publishing`, sends it through the account's adapter with a key stable per (post, account),
//! and records how the attempt ended in the same transaction as the post's new state.
//!
//! Never twice: where the network honours the key (Mastodon, Bluesky), any attempt may be
//! repeated. Where it does not (X, LinkedIn, Meta), an attempt whose outcome is unknown leaves
//! the post `unconfirmed`, and the next attempt first asks the network whether it has the post
//! ([`networks::Adapter::find`]); only a clear "no" lets it publish again.

use crate::domain::ids::PostId;
use jiff::{SignedDuration, Timestamp};
use networks::{Adapter, NetworkError, Outgoing, Published};

use super::{Done, JobError, JobFuture, JobHandler};
use crate::domain::audit::{Actor, NewAuditEntry};
use crate::domain::jobs::{Job, NewJob, retry_at};
use crate::domain::posts::{Outcome, PostState};
use crate::domain::webhooks::WebhookEvent;
use crate::services::Services;
use crate::services::connections::{self, TokensError};
use crate::services::links::Reach;
use crate::services::notify;
use crate::store::{AccountRecord, AttemptEnd, PostRecord};

pub const PUBLISH_KIND: &str = "publish_post";

/// An unconfirmed post is looked for no sooner than this after the attempt, so the network
/// has had time to show it.
const RECONCILE_DELAY: SignedDuration = SignedDuration::from_secs(15);

/// The job that publishes post `post_id` at `at`. Scheduling again makes a new job (its key
/// names the time); the old one finds the post's time changed and does nothing.
pub fn job(post_id: PostId, at: Timestamp, max_attempts: u32) -> NewJob {
    NewJob {
        kind: PUBLISH_KIND.to_owned(),
        payload: serde_json::json!({ "post": post_id, "at": at.as_millisecond() }),
        run_at: at,
        dedupe_key: Some(format!("publish:{post_id}:{}", at.as_millisecond())),
        max_attempts,
    }
}

/// The key that makes publishing idempotent where the network allows: the same for every
/// attempt at one post on one account.
pub fn idempotency_key(post: &PostRecord) -> String {
    format!("herald-{}-{}", post.account_id, post.id)
}

/// Publishes due posts.
pub struct PublishPosts {
    /// The store, keys, networks and clock; the media library images are read from; the guard
    /// whose link safety checks a post's links again just before it is published.
    services: Services,
    worker: String,
}

impl std::fmt::Debug for PublishPosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishPosts")
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to, before it is recorded.
struct Ending {
    outcome: Outcome,
    detail: String,
    published: Option<Published>,
    /// `Some` when the job should run again (no earlier than the time given).
    again: Option<Timestamp>,
    /// The network no longer accepts the account's tokens.
    reconnect: bool,
    /// The link rules that held the post back before anything was sent.
    held: Vec<String>,
}

impl PublishPosts {
    pub fn new(services: Services, worker: &str) -> PublishPosts {
        PublishPosts {
            services,
            worker: worker.to_owned(),
        }
    }

    /// The post's blocking link findings now, followed to where short links go.
    async fn links_holding(&self, post: &PostRecord, now: Timestamp) -> Ending {
        let Some(links) = self.services.policy.links() else {
            return published_later();
        };
        let findings = match links
            .findings(&self.services.store, &post.text, now, Reach::ShortLinks)
            .await
        {
            Ok(findings) => findings,
            Err(error) => {
                tracing::warn!(post.id = post.id.get(), error = %error, "could not check a post's links before publishing");
                return published_later();
            }
        };
        let blocking: Vec<_> = findings
            .iter()
            .filter(|finding| finding.action == guard::Action::Block)
            .collect();
        if blocking.is_empty() {
            return published_later();
        }
        let named: Vec<String> = blocking
            .iter()
            .map(|finding| format!("{} ({})", finding.rule.as_str(), finding.message))
            .collect();
        Ending {
            held: blocking
                .iter()
                .map(|finding| finding.rule.as_str().to_owned())
                .collect(),
            ..failed(format!(
                "held before publishing, nothing was sent: {}. Change the link, then schedule the post again",
                named.join("; ")
            ))
        }
    }

    async fn publish(&self, job: &Job) -> Result<Done, JobError> {
        let (post_id, at) = payload(job)?;
        let Some((post, images)) = self.services.store.post_to_publish(post_id).await? else {
            return Ok(Done::ByRunner);
        };
        // Taken off the schedule, sent back, already published, or given another time (whose
        // own job will publish it): nothing for this job to do.
        let rescheduled = post.state == PostState::Scheduled && post.scheduled_at != Some(at);
        if !post.state.publisher_may_start() || rescheduled {
            return Ok(Done::ByRunner);
        }
        let account = self
            .services
            .store
            .account(post.account_id)
            .await?
            .ok_or_else(|| JobError::Permanent {
                reason: format!("post {post_id}'s account is gone"),
            })?;
        let now = self.services.now();
        let note = match post.state {
            PostState::Publishing => "publishing again after an interrupted attempt",
            PostState::Unconfirmed => "checking whether the earlier attempt was published",
            _ => "publishing",
        };
        let Some(attempt_id) = self
            .services
            .store
            .start_attempt(post_id, post.state, &self.worker, note, now)
            .await?
        else {
            return Ok(Done::ByRunner); // Someone moved the post meanwhile.
        };
        let ending = self.attempt(job, &post, images, &account).await;
        let now = self.services.now();
        let audit = audit_entry(&post, &account, &ending, job);
        let end = AttemptEnd {
            post_id,
            attempt_id,
            to: PostState::Publishing
                .after_attempt(ending.outcome)
                .unwrap_or(PostState::Failed),
            outcome: match ending.outcome {
                Outcome::Published => "published",
                Outcome::TryLater => "retry",
                Outcome::Failed => "failed",
                Outcome::Unconfirmed => "unconfirmed",
            },
            detail: &ending.detail,
            remote_id: ending
                .published
                .as_ref()
                .map(|done| done.remote_id.as_str()),
            remote_url: ending
                .published
                .as_ref()
                .and_then(|done| done.url.as_deref()),
            audit: audit.as_ref(),
            job_done: ending
                .again
                .is_none()
                .then_some((job.id, self.worker.as_str())),
            now,
        };
        self.services.store.finish_attempt(&end).await?;
        tracing::info!(post.id = post_id.get(), account.id = account.id.get(), outcome = end.outcome, detail = %ending.detail, "publishing attempt ended");
        // The post's outcome is saved (and a settled job marked done) whatever happens here:
        // a notification that cannot be written is logged, not a reason to publish again.
        if let Err(error) = self.tell(&post, &account, &ending, now).await {
            tracing::warn!(post.id = post_id.get(), error = %error, "could not tell people about a publishing attempt");
        }
        match ending.again {
            Some(not_before) => Err(JobError::Retry {
                reason: ending.detail,
                not_before: Some(not_before),
            }),
            None => Ok(Done::InHandler),
        }
    }

    /// Makes one attempt and says how it ended; records nothing.
    async fn attempt(
        &self,
        job: &Job,
        post: &PostRecord,
        images: u32,
        account: &AccountRecord,
    ) -> Ending {
        let network = account.network.label();
        if post.state == PostState::Scheduled {
            let held = self.links_holding(post, self.services.now()).await;
            if !held.held.is_empty() {
                return held;
            }
        }
        let adapter = match self.services.networks.adapter(account.network) {
            Ok(adapter) => adapter,
            Err(error) => return failed(error.to_string()),
        };
        let now = self.services.now();
        // After an interrupted or unconfirmed attempt, the post is dated when Herald first
        // sent it: networks that look a post up by time (X's timeline) search from there.
        let first_sent = match post.state {
            PostState::Scheduled => None,
            _ => self
                .services
                .store
                .first_attempt_at(post.id)
                .await
                .ok()
                .flatten(),
        };
        let media = match images {
            0 => Vec::new(),
            _ => {
                match crate::services::media::for_publishing(
                    &self.services,
                    post,
                    account.network,
                    now,
                )
                .await
                {
                    Ok(media) => media,
                    Err(reason) => return failed(reason),
                }
            }
        };
        let outgoing = Outgoing {
            key: idempotency_key(post),
            text: post.text.clone(),
            media,
            created_at: first_sent.unwrap_or(now),
        };
        // Whether the network certainly does not have the post yet. After an interrupted or
        // unconfirmed attempt that is known only where the network honours the key.
        let mut absent = post.state == PostState::Scheduled || adapter.idempotent();
        let last_attempt = job.attempts >= job.max_attempts;
        let tokens = match connections::tokens_for(&self.services, adapter.as_ref(), account, now)
            .await
        {
            Ok(tokens) => tokens,
            Err(TokensError::NotConnected(_)) => {
                return failed(format!(
                    "Herald is not connected to this {network} account; its gatekeeper connects it, then reschedule the post"
                ));
            }
            Err(TokensError::Network(error)) => {
                return self.after_error(error, absent, last_attempt, adapter.as_ref(), now);
            }
            Err(TokensError::People(error)) => {
                return Ending {
                    again: Some(retry_at(now, job.attempts, None)),
                    ..unconfirmed_or_later(
                        absent,
                        format!("Herald could not open the account's tokens: {error}"),
                    )
                };
            }
        };
        // A lockdown that committed after this attempt started: the post is held, never sent
        // after the lockdown was recorded (the attempt's start already refused a paused queue;
        // this closes the gap while the tokens were opened).
        if self
            .services
            .store
            .account_paused(account.id)
            .await
            .unwrap_or(true)
        {
            let held = "held by the account's lockdown, nothing was sent; reschedule it once the incident is closed";
            if absent {
                return failed(held.to_owned());
            }
            return unconfirmed(format!("{held}. An earlier attempt may have published it"));
        }
        // Whether the post answers an inbox item, read once for the look and the send.
        let answering = self.reply_to(post, account).await;
        if !absent {
            // An answer from the inbox is looked for where it went (a conversation, say).
            let found = match &answering {
                Ok(Some((reader, reply_to))) => {
                    match reader.find_reply(&tokens, reply_to, &outgoing).await {
                        // Where Herald cannot look, sending again could answer twice.
                        Err(NetworkError::Unknown(reason)) => {
                            return unconfirmed(format!(
                                "the answer may have gone out, and {reason}. Check the conversation on {network}, then mark the reply published or reschedule it"
                            ));
                        }
                        found => found,
                    }
                }
                _ => adapter.find(&tokens, &outgoing).await,
            };
            match found {
                Ok(Some(found)) => {
                    return Ending {
                        outcome: Outcome::Published,
                        detail: format!(
                            "{network} has the post from the earlier attempt: published once"
                        ),
                        published: Some(found),
                        again: None,
                        reconnect: false,
                        held: Vec::new(),
                    };
                }
                Ok(None) => absent = true,
                Err(error) => {
                    return self.after_error(error, false, last_attempt, adapter.as_ref(), now);
                }
            }
        }
        let sent = match answering {
            // A reply from the inbox is threaded under the item it answers; if the item cannot
            // be read now, nothing is sent and the attempt is tried again.
            Ok(Some((reader, reply_to))) => reader.reply(&tokens, &reply_to, &outgoing).await,
            Ok(None) => adapter.publish(&tokens, &outgoing).await,
            Err(error) => Err(NetworkError::Unavailable(format!(
                "the inbox item this reply answers could not be read: {error}"
            ))),
        };
        match sent {
            Ok(published) => Ending {
                outcome: Outcome::Published,
                detail: format!("published to {network}"),
                published: Some(published),
                again: None,
                reconnect: false,
                held: Vec::new(),
            },
            Err(error) => self.after_error(error, absent, last_attempt, adapter.as_ref(), now),
        }
    }

    /// Where the post answers an inbox item: the network's reader and the item's reply
    /// references (`None` for an ordinary post).
    async fn reply_to(
        &self,
        post: &PostRecord,
        account: &AccountRecord,
    ) -> Result<Option<(std::sync::Arc<dyn networks::ReadInbox>, String)>, crate::store::StoreError>
    {
        let store = &self.services.store;
        let Some(item) = store.inbox_item_replied_by(post.id).await? else {
            return Ok(None);
        };
        let reply_to = store.inbox_item(item).await?.and_then(|item| item.reply_to);
        let reader = self.services.networks.reader(account.network);
        Ok(reader.zip(reply_to))
    }

    /// What a network error means for the post. `absent`: the network certainly did not have
    /// the post before this request.
    fn after_error(
        &self,
        error: NetworkError,
        absent: bool,
        last_attempt: bool,
        adapter: &dyn Adapter,
        now: Timestamp,
    ) -> Ending {
        let reason = error.to_string();
        match error {
            NetworkError::Unauthorized(_) => Ending {
                reconnect: true,
                ..failed(format!(
                    "{reason}. The gatekeeper must reconnect the account; then reschedule the post"
                ))
            },
            NetworkError::Rejected(_) => failed(reason),
            NetworkError::RateLimited { .. } | NetworkError::Unavailable(_) if last_attempt => {
                if absent {
                    failed(format!("gave up after the last attempt: {reason}"))
                } else {
                    unconfirmed(format!(
                        "could not check whether the post was published: {reason}"
                    ))
                }
            }
            NetworkError::RateLimited { retry_after, .. } => {
                let earliest = retry_after.map(|after| after.earliest(now));
                let again = earliest.unwrap_or(now).max(now);
                Ending {
                    again: Some(again),
                    ..unconfirmed_or_later(absent, reason)
                }
            }
            NetworkError::Unavailable(_) => Ending {
                again: Some(now),
                ..unconfirmed_or_later(absent, reason)
            },
            // Sent, answer lost: the same key again is safe where the network honours it;
            // elsewhere the post is unconfirmed until the network is asked.
            NetworkError::Unknown(_) if adapter.idempotent() && !last_attempt => Ending {
                again: Some(now),
                ..unconfirmed_or_later(true, reason)
            },
            NetworkError::Unknown(_) if last_attempt => unconfirmed(format!(
                "{reason}. Check the account on the network, then mark the post published or reschedule it"
            )),
            NetworkError::Unknown(_) => Ending {
                again: now.checked_add(RECONCILE_DELAY).ok(),
                ..unconfirmed(reason)
            },
        }
    }

    /// Tells people about an attempt that ended for good (or needs them).
    async fn tell(
        &self,
        post: &PostRecord,
        account: &AccountRecord,
        ending: &Ending,
        now: Timestamp,
    ) -> Result<(), JobError> {
        if ending.again.is_some() {
            return Ok(());
        }
        let (event, title) = match ending.outcome {
            Outcome::Published => (WebhookEvent::PostPublished, "A post was published"),
            Outcome::Failed => (WebhookEvent::PostFailed, "A post failed"),
            _ => (WebhookEvent::PostFailed, "A post needs checking"),
        };
        crate::services::webhooks::raise(
            &self.services.store,
            event,
            title,
            &format!("Post {} to {}: {}", post.id, account.display_name, ending.detail),
            Some(&format!("/posts/{}", post.id)),
            serde_json::json!({ "post_id": post.id, "account_id": account.id, "network": account.network.label() }),
            now,
        )
        .await?;
        if ending.outcome == Outcome::Published {
            return Ok(());
        }
        let subject = match ending.outcome {
            Outcome::Failed if !ending.held.is_empty() => format!(
                "A post to {} was held: a link in it is unsafe",
                account.display_name
            ),
            Outcome::Failed => format!("A post to {} failed", account.display_name),
            _ => format!("Check a post to {}", account.display_name),
        };
        let body = format!("Post {}: {}", post.id, ending.detail);
        notify::member(
            &self.services.store,
            crate::domain::notifications::NotificationKind::PostOutcome,
            post.author_id,
            account,
            &subject,
            &body,
            now,
        )
        .await?;
        if ending.reconnect {
            self.services
                .store
                .set_connection(account.id, "reconnect_needed", None)
                .await?;
            notify::gatekeeper(
                &self.services.store,
                crate::domain::notifications::NotificationKind::Reconnect,
                account,
                &format!("Reconnect {} to {}", account.display_name, account.network.label()),
                &format!(
                    "{} no longer accepts Herald's access to {}. Connect it again on the account's page.",
                    account.network.label(),
                    account.handle
                ),
                now,
            )
            .await?;
        } else if account.gatekeeper_id != post.author_id {
            notify::gatekeeper(
                &self.services.store,
                crate::domain::notifications::NotificationKind::PostOutcome,
                account,
                &subject,
                &body,
                now,
            )
            .await?;
        }
        Ok(())
    }
}

impl JobHandler for PublishPosts {
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(self.publish(job))
    }
}

/// The audit entry for an attempt that settles the post (published, failed, or unconfirmed
/// for good); attempts that will be tried again are in the post's history only.
fn audit_entry(
    post: &PostRecord,
    account: &AccountRecord,
    ending: &Ending,
    job: &Job,
) -> Option<NewAuditEntry> {
    if !ending.held.is_empty() {
        return Some(NewAuditEntry {
            actor: Actor::System,
            action: "post.publish_held".to_owned(),
            target: Some(format!("post:{}", post.id)),
            ip: None,
            details: serde_json::json!({
                "account": account.id,
                "rules": ending.held,
                "text_sha256": crate::services::posts::text_sha256(&post.text),
            }),
        });
    }
    let action = match ending.outcome {
        Outcome::Published => "post.published",
        Outcome::Failed => "post.publish_failed",
        Outcome::Unconfirmed if ending.again.is_none() => "post.unconfirmed",
        _ => return None,
    };
    Some(NewAuditEntry {
        actor: Actor::System,
        action: action.to_owned(),
        target: Some(format!("post:{}", post.id)),
        ip: None,
        details: serde_json::json!({
            "account": account.id,
            "network": account.network.as_str(),
            "attempt": job.attempts,
            "remote_id": ending.published.as_ref().map(|done| done.remote_id.clone()),
        }),
    })
}

fn payload(job: &Job) -> Result<(PostId, Timestamp), JobError> {
    let bad = || JobError::Permanent {
        reason: format!("job {} has an unreadable payload", job.id),
    };
    let post = job.payload["post"].as_i64().ok_or_else(bad)?;
    let at = job.payload["at"].as_i64().ok_or_else(bad)?;
    Ok((
        PostId::new(post),
        Timestamp::from_millisecond(at).map_err(|_| bad())?,
    ))
}

/// Nothing holds the post back: the attempt goes on (the outcome is never recorded as such).
fn published_later() -> Ending {
    Ending {
        outcome: Outcome::TryLater,
        detail: String::new(),
        published: None,
        again: None,
        reconnect: false,
        held: Vec::new(),
    }
}

fn failed(detail: String) -> Ending {
    Ending {
        outcome: Outcome::Failed,
        detail,
        published: None,
        again: None,
        reconnect: false,
        held: Vec::new(),
    }
}

fn unconfirmed(detail: String) -> Ending {
    Ending {
        outcome: Outcome::Unconfirmed,
        detail,
        published: None,
        again: None,
        reconnect: false,
        held: Vec::new(),
    }
}

/// Try again later: back to `scheduled` when the network certainly does not have the post,
/// otherwise `unconfirmed`, so the next attempt asks the network first.
fn unconfirmed_or_later(absent: bool, detail: String) -> Ending {
    Ending {
        outcome: if absent {
            Outcome::TryLater
        } else {
            Outcome::Unconfirmed
        },
        detail,
        published: None,
        again: None,
        reconnect: false,
        held: Vec::new(),
    }
}
