//! `webhook_deliver`: one try of one webhook delivery (`services/webhooks.rs`); a failure is
//! tried again with the runner's backoff until the delivery is a day old.

use super::{Done, JobError, JobFuture, JobHandler, Runner};
use crate::domain::jobs::Job;
use crate::services::Services;
use crate::services::webhooks::{self, Tried};
use crate::store::WEBHOOK_DELIVER_KIND;

/// The delivery job, with one hardened client shared by every delivery.
#[derive(Debug, Clone)]
pub struct DeliverWebhooks {
    services: Services,
    client: reqwest::Client,
    base: String,
}

pub fn register(runner: &mut Runner, services: &Services, base: String) {
    runner.register(
        WEBHOOK_DELIVER_KIND,
        DeliverWebhooks {
            client: webhooks::outbound(services).client(),
            services: services.clone(),
            base,
        },
    );
}

impl DeliverWebhooks {
    async fn run_job(&self, job: &Job) -> Result<Done, JobError> {
        let id = job.payload["delivery"]
            .as_i64()
            .ok_or_else(|| JobError::Permanent {
                reason: "a webhook job without its delivery".to_owned(),
            })?;
        let tried = webhooks::deliver(&self.services, &self.client, &self.base, id, false)
            .await
            .map_err(|error| JobError::Retry {
                reason: error.to_string(),
                not_before: None,
            })?;
        match tried {
            Tried::Finished => Ok(Done::ByRunner),
            Tried::Again(reason) => Err(JobError::Retry {
                reason,
                not_before: None,
            }),
        }
    }
}

impl JobHandler for DeliverWebhooks {
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(self.run_job(job))
    }
}
