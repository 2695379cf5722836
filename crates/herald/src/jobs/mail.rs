//! The mail jobs: `mail_notification` decides how one notification is mailed (see
//! `services/mail.rs`), `mail_send` sends one outbox message (retried with backoff, up to a
//! week, while the server is down or refuses Herald), and `mail_digest` sends every member's
//! daily digest at 07:00 UTC, then schedules the next.

use jiff::{SignedDuration, Timestamp, ToSpan};

use super::{Done, JobError, JobFuture, JobHandler, Runner};
use crate::domain::jobs::Job;
use crate::services::{AppError, Services, mail};
use crate::store::{MAIL_NOTIFICATION_KIND, MAIL_SEND_KIND, Store, StoreError};

pub const MAIL_DIGEST_KIND: &str = "mail_digest";

/// The three mail jobs, with where people reach Herald (for links in messages).
#[derive(Debug, Clone)]
pub struct MailJobs {
    services: Services,
    base: String,
}

/// Registers the mail jobs and schedules the next digest. Registered whether or not mail is
/// configured: without it, notifications are marked as not mailed.
pub async fn register(
    runner: &mut Runner,
    services: &Services,
    base: String,
) -> Result<(), StoreError> {
    let jobs = MailJobs {
        services: services.clone(),
        base,
    };
    runner.register(MAIL_SEND_KIND, jobs.clone());
    runner.register(MAIL_NOTIFICATION_KIND, jobs.clone());
    runner.register(MAIL_DIGEST_KIND, jobs);
    let now = services.now();
    enqueue_digest(&services.store, next_digest(now), now).await
}

/// The next 07:00 UTC after `now`.
pub fn next_digest(now: Timestamp) -> Timestamp {
    let zoned = now.to_zoned(jiff::tz::TimeZone::UTC);
    let today = zoned
        .date()
        .at(7, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|at| at.timestamp())
        .unwrap_or(now);
    if today > now {
        today
    } else {
        today
            .saturating_add(SignedDuration::from_hours(24))
            .unwrap_or(now)
    }
}

async fn enqueue_digest(
    store: &Store,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    super::recurring::schedule(store, MAIL_DIGEST_KIND, "%Y-%m-%d", run_at, now).await
}

fn retry(error: AppError) -> JobError {
    JobError::Retry {
        reason: error.to_string(),
        not_before: None,
    }
}

impl MailJobs {
    async fn run_job(&self, job: &Job) -> Result<Done, JobError> {
        let now = self.services.now();
        let id = |name: &str| {
            job.payload[name]
                .as_i64()
                .ok_or_else(|| JobError::Permanent {
                    reason: format!("a {} job without {name}", job.kind),
                })
        };
        match job.kind.as_str() {
            MAIL_SEND_KIND => match mail::send_outboxed(&self.services, id("outbox")?).await {
                Ok(()) => Ok(Done::ByRunner),
                Err(error) if error.permanent => Err(JobError::Permanent {
                    reason: error.explanation,
                }),
                Err(error) => Err(JobError::Retry {
                    reason: error.explanation,
                    not_before: None,
                }),
            },
            MAIL_NOTIFICATION_KIND => {
                mail::notification(&self.services, &self.base, id("notification")?, now)
                    .await
                    .map_err(retry)?;
                Ok(Done::ByRunner)
            }
            _ => {
                let day = now.strftime("%Y-%m-%d").to_string();
                for user in self.services.store.members_with_digest().await? {
                    mail::digest(&self.services, &self.base, user, &day, now)
                        .await
                        .map_err(retry)?;
                }
                let next = next_digest(now.saturating_add(1.minute()).unwrap_or(now));
                enqueue_digest(&self.services.store, next, now).await?;
                Ok(Done::ByRunner)
            }
        }
    }
}

impl JobHandler for MailJobs {
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(self.run_job(job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_goes_at_seven_utc_today_or_tomorrow() {
        let at = |text: &str| text.parse::<Timestamp>().expect("time");
        assert_eq!(
            next_digest(at("2026-12-05T06:59:00Z")),
            at("2026-12-05T07:00:00Z")
        );
        assert_eq!(
            next_digest(at("2026-12-05T07:00:00Z")),
            at("2026-12-06T07:00:00Z")
        );
        assert_eq!(
            next_digest(at("2026-12-05T19:00:00Z")),
            at("2026-12-06T07:00:00Z")
        );
    }
}
