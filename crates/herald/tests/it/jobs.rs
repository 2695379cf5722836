//! The job runner, driven one step at a time with a hand-moved clock: no sleeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use herald::clock::ManualClock;
use herald::config::JobsConfig;
use herald::domain::jobs::{Job, JobId, JobState, NewJob};
use herald::jobs::{Done, JobError, JobFuture, JobHandler, RunSummary, Runner};
use herald::metrics::Metrics;
use herald::store::Store;
use jiff::{SignedDuration, Timestamp};

use crate::helpers::contract_test;

/// A handler that answers each attempt from a script (then succeeds) and counts its runs.
#[derive(Clone, Default)]
struct Scripted {
    failures: Arc<Mutex<Vec<JobError>>>,
    runs: Arc<Mutex<HashMap<JobId, u32>>>,
}

impl Scripted {
    fn failing_with(failures: Vec<JobError>) -> Scripted {
        let mut failures = failures;
        failures.reverse();
        Scripted {
            failures: Arc::new(Mutex::new(failures)),
            ..Scripted::default()
        }
    }

    fn runs_of(&self, id: JobId) -> u32 {
        self.runs
            .lock()
            .expect("lock")
            .get(&id)
            .copied()
            .unwrap_or(0)
    }
}

impl JobHandler for Scripted {
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(async move {
            *self.runs.lock().expect("lock").entry(job.id).or_default() += 1;
            match self.failures.lock().expect("lock").pop() {
                Some(failure) => Err(failure),
                None => Ok(Done::ByRunner),
            }
        })
    }
}

fn retry(reason: &str) -> JobError {
    JobError::Retry {
        reason: reason.to_owned(),
        not_before: None,
    }
}

fn start() -> Timestamp {
    Timestamp::from_second(1_800_000_000).expect("valid time")
}

fn runner(store: &Store, clock: &ManualClock, handler: &Scripted) -> (Runner, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let config = JobsConfig {
        max_attempts: 3,
        ..JobsConfig::default()
    };
    let mut runner = Runner::new(
        store.clone(),
        Arc::new(clock.clone()),
        metrics.clone(),
        &config,
    );
    runner.register("test.step", handler.clone());
    (runner, metrics)
}

async fn enqueue(store: &Store, run_at: Timestamp, max_attempts: u32) -> JobId {
    let job = NewJob {
        kind: "test.step".to_owned(),
        payload: serde_json::json!({}),
        run_at,
        dedupe_key: None,
        max_attempts,
    };
    store.enqueue_job(&job, run_at).await.expect("enqueue")
}

async fn state_of(store: &Store, id: JobId) -> Job {
    store.find_job(id).await.expect("find").expect("job exists")
}

contract_test!(
    a_failing_job_is_retried_with_backoff_until_it_succeeds,
    |store| {
        let clock = ManualClock::new(start());
        let handler = Scripted::failing_with(vec![retry("timeout"), retry("503")]);
        let (runner, metrics) = runner(&store, &clock, &handler);
        let id = enqueue(&store, start(), 5).await;

        assert_eq!(
            runner.run_once().await.expect("step"),
            RunSummary {
                retried: 1,
                ..RunSummary::default()
            }
        );
        let job = state_of(&store, id).await;
        assert_eq!(job.state, JobState::Queued);
        assert_eq!(job.run_at, start() + SignedDuration::from_secs(5));
        assert_eq!(job.last_error.as_deref(), Some("timeout"));

        clock.advance(SignedDuration::from_secs(4));
        assert_eq!(
            runner.run_once().await.expect("step"),
            RunSummary::default(),
            "not due yet"
        );

        clock.advance(SignedDuration::from_secs(1));
        assert_eq!(runner.run_once().await.expect("step").retried, 1);
        assert_eq!(
            state_of(&store, id).await.run_at,
            clock_now(&clock) + SignedDuration::from_secs(10)
        );

        clock.advance(SignedDuration::from_secs(10));
        assert_eq!(runner.run_once().await.expect("step").done, 1);
        let job = state_of(&store, id).await;
        assert_eq!((job.state, job.attempts), (JobState::Done, 3));
        assert_eq!(handler.runs_of(id), 3);

        let text = metrics.render(store.job_counts().await.expect("counts"));
        assert!(
            text.contains(r#"herald_jobs_processed_total{kind="test.step",outcome="retried"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"herald_jobs_processed_total{kind="test.step",outcome="done"} 1"#),
            "{text}"
        );
    }
);

fn clock_now(clock: &ManualClock) -> Timestamp {
    use herald::clock::Clock;
    clock.now()
}

contract_test!(
    a_job_that_keeps_failing_is_dead_after_its_last_attempt,
    |store| {
        let clock = ManualClock::new(start());
        let handler = Scripted::failing_with(vec![retry("one"), retry("two"), retry("three")]);
        let (runner, _) = runner(&store, &clock, &handler);
        let id = enqueue(&store, start(), 3).await;
        for _ in 0..3 {
            runner.run_once().await.expect("step");
            clock.advance(SignedDuration::from_hours(2));
        }
        let job = state_of(&store, id).await;
        assert_eq!(job.state, JobState::Dead);
        assert_eq!(
            job.last_error.as_deref(),
            Some("gave up after 3 attempts: three")
        );
        assert_eq!(
            runner.run_once().await.expect("step"),
            RunSummary::default()
        );
        assert_eq!(handler.runs_of(id), 3);
    }
);

contract_test!(a_permanent_error_is_not_retried, |store| {
    let clock = ManualClock::new(start());
    let handler = Scripted::failing_with(vec![JobError::Permanent {
        reason: "account revoked".to_owned(),
    }]);
    let (runner, _) = runner(&store, &clock, &handler);
    let id = enqueue(&store, start(), 5).await;
    assert_eq!(runner.run_once().await.expect("step").dead, 1);
    assert_eq!(state_of(&store, id).await.state, JobState::Dead);
});

contract_test!(a_job_of_an_unknown_kind_is_buried_with_a_reason, |store| {
    let clock = ManualClock::new(start());
    let (runner, _) = runner(&store, &clock, &Scripted::default());
    let job = NewJob {
        kind: "nobody.handles.this".to_owned(),
        payload: serde_json::json!({}),
        run_at: start(),
        dedupe_key: None,
        max_attempts: 5,
    };
    let id = store.enqueue_job(&job, start()).await.expect("enqueue");
    runner.run_once().await.expect("step");
    let job = state_of(&store, id).await;
    assert_eq!(job.state, JobState::Dead);
    assert!(
        job.last_error
            .expect("reason")
            .contains("no handler for job kind \"nobody.handles.this\"")
    );
});

contract_test!(
    a_job_left_behind_by_a_crashed_worker_runs_after_its_lease,
    |store| {
        let clock = ManualClock::new(start());
        let handler = Scripted::default();
        let (runner, _) = runner(&store, &clock, &handler);
        let id = enqueue(&store, start(), 5).await;
        // A worker claims the job and dies before finishing it.
        store
            .claim_jobs("crashed", start(), SignedDuration::from_secs(120), 1)
            .await
            .expect("claim");

        assert_eq!(
            runner.run_once().await.expect("step"),
            RunSummary::default()
        );
        clock.advance(SignedDuration::from_secs(120));
        assert_eq!(runner.run_once().await.expect("step").done, 1);
        assert_eq!(handler.runs_of(id), 1);
        assert_eq!(state_of(&store, id).await.attempts, 2);
    }
);

contract_test!(
    two_runners_on_one_database_run_every_job_exactly_once,
    |store| {
        let clock = ManualClock::new(start());
        let handler = Scripted::default();
        let (first, _) = runner(&store, &clock, &handler);
        let (second, _) = runner(&store, &clock, &handler);
        let mut ids = Vec::new();
        for _ in 0..60 {
            ids.push(enqueue(&store, start(), 3).await);
        }
        loop {
            let (a, b) = tokio::join!(first.run_once(), second.run_once());
            let (a, b) = (a.expect("step"), b.expect("step"));
            if a == RunSummary::default() && b == RunSummary::default() {
                break;
            }
        }
        assert!(
            ids.iter().all(|id| handler.runs_of(*id) == 1),
            "each job ran exactly once"
        );
        assert_eq!(store.job_counts().await.expect("counts").done, 60);
    }
);
