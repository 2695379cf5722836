//! Herald's own recurring jobs (pruning, audit checkpoints) reschedule themselves after each
//! run. The dedupe key names the period, so every process may schedule the same run at start
//! and only one job results.

use jiff::Timestamp;

use crate::domain::jobs::NewJob;
use crate::store::{Store, StoreError};

/// Enqueues `kind` to run at `run_at`, once per period named by `period_format` (a strftime
/// pattern such as `%Y-%m-%d` for daily).
pub async fn schedule(
    store: &Store,
    kind: &str,
    period_format: &str,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    let job = NewJob {
        kind: kind.to_owned(),
        payload: serde_json::json!({}),
        run_at,
        dedupe_key: Some(format!("{kind}:{}", run_at.strftime(period_format))),
        max_attempts: 3,
    };
    store.enqueue_job(&job, now).await.map(drop)
}
