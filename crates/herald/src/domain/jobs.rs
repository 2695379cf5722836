//! What a background job is, and the rule for when a failed one is tried again.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A job's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobId(pub i64);

/// Where a job is in its life: `Queued` until due and claimed, `Running` while a worker holds
/// its lease, then `Done`, or `Dead` once it has failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    pub run_at: Timestamp,
    /// Attempts so far, counting the one in progress: a claim is an attempt, so a job whose
    /// worker keeps crashing still runs out of attempts.
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
}

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub run_at: Timestamp,
    /// Enqueuing again with the same key returns the existing job instead of adding another.
    pub dedupe_key: Option<String>,
    pub max_attempts: u32,
}

/// The first retry waits this long; each further one waits twice as long as the one before.
const FIRST_RETRY_DELAY: SignedDuration = SignedDuration::from_secs(5);
/// No retry waits longer than this.
const LONGEST_RETRY_DELAY: SignedDuration = SignedDuration::from_secs(3600);

/// When a job that has failed `attempts` times may run again: exponential backoff from 5 s,
/// capped at an hour, never earlier than `not_before` (e.g. a network's rate-limit reset).
pub fn retry_at(now: Timestamp, attempts: u32, not_before: Option<Timestamp>) -> Timestamp {
    let doublings = attempts.saturating_sub(1).min(20);
    let delay = FIRST_RETRY_DELAY
        .checked_mul(1 << doublings)
        .map_or(LONGEST_RETRY_DELAY, |delay| delay.min(LONGEST_RETRY_DELAY));
    let backoff = now.saturating_add(delay).unwrap_or(now);
    not_before.map_or(backoff, |earliest| earliest.max(backoff))
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Dead,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("valid test time")
    }

    #[test]
    fn retries_back_off_exponentially_and_stop_growing_at_an_hour() {
        let now = at(1_000_000);
        let delays: Vec<i64> = (1..=12)
            .map(|attempts| now.duration_until(retry_at(now, attempts, None)).as_secs())
            .collect();
        assert_eq!(
            delays,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(retry_at(now, u32::MAX, None), at(1_000_000 + 3600));
    }

    #[test]
    fn a_rate_limit_reset_later_than_the_backoff_wins() {
        let now = at(1_000_000);
        assert_eq!(retry_at(now, 1, Some(at(1_000_900))), at(1_000_900));
        assert_eq!(retry_at(now, 1, Some(at(999_000))), at(1_000_005));
    }

    #[test]
    fn job_states_round_trip_through_their_names() {
        for state in [
            JobState::Queued,
            JobState::Running,
            JobState::Done,
            JobState::Dead,
        ] {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobState::parse("finished"), None);
    }
}
