//! Group commit for the publisher on SQLite.
//!
//! SQLite has one writer. What bounds how many posts a second Herald publishes is not the work
//! of each write but the cost around it: handing the write turn to the next task, the trip to
//! the connection's thread and back, and the pages every commit appends to the log. So the
//! publisher's two writes per post (the start of an attempt and its end) are not run one by
//! one. They go to one task, which takes every request waiting and commits the group in a few
//! round trips, whatever its size. Each caller hears back once its group is committed, with
//! exactly the answer it would have had alone.
//!
//! A group that fails is rolled back. When a constraint refused it, its requests are run again
//! one by one, so one bad request fails by itself; any other failure (the file busy, the disk
//! full) is every request's error. PostgreSQL has row locks and many writers; it needs none of
//! this.

use crate::domain::ids::PostId;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::Sqlite;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::audit::ChainedEntry;
use super::posts::AttemptEnd;
use super::publishing::CUT_OFF;
use super::{StoreError, sqlite};
use crate::domain::audit::NewAuditEntry;
use crate::domain::posts::PostState;

/// The most requests of one kind committed together.
const MAX_GROUP: usize = 256;

/// A publishing attempt to start (see [`super::Store::start_attempt`]).
#[derive(Debug)]
pub(super) struct Start {
    pub post_id: PostId,
    pub from: PostState,
    pub worker: String,
    pub note: String,
    pub now: Timestamp,
}

/// An attempt's end (see [`super::Store::finish_attempt`]), owned so it can wait its turn.
#[derive(Debug)]
pub(super) struct Finish {
    post_id: PostId,
    attempt_id: i64,
    to: PostState,
    outcome: String,
    detail: String,
    problem: Option<String>,
    published: bool,
    remote_id: Option<String>,
    remote_url: Option<String>,
    audit: Option<NewAuditEntry>,
    job_done: Option<(i64, String)>,
    now: Timestamp,
}

impl From<&AttemptEnd<'_>> for Finish {
    fn from(end: &AttemptEnd<'_>) -> Finish {
        Finish {
            post_id: end.post_id,
            attempt_id: end.attempt_id,
            to: end.to,
            outcome: end.outcome.to_owned(),
            detail: end.detail.to_owned(),
            problem: end.problem().map(str::to_owned),
            published: end.published(),
            remote_id: end.remote_id.map(str::to_owned),
            remote_url: end.remote_url.map(str::to_owned),
            audit: end.audit.cloned(),
            job_done: end.job_done.map(|(job, worker)| (job.0, worker.to_owned())),
            now: end.now,
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Request {
    Start(Start, Reply<Option<i64>>),
    Finish(Box<Finish>, Reply<bool>),
}

/// How the group commits went, since the store was opened: for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCounts {
    /// Groups committed (or tried).
    pub groups: u64,
    /// Requests in them.
    pub requests: u64,
    /// Requests run again alone after their group was refused.
    pub alone: u64,
}

#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    requests: AtomicU64,
    alone: AtomicU64,
}

impl Counters {
    fn committed(&self, requests: usize) {
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(
            u64::try_from(requests).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn ran_alone(&self, requests: usize) {
        self.alone.fetch_add(
            u64::try_from(requests).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

/// The queue to the task that commits the publisher's writes. Cheap to clone.
#[derive(Debug, Clone)]
pub(super) struct GroupCommit {
    queue: mpsc::UnboundedSender<Request>,
    writer: SqlitePool,
    counts: Arc<Counters>,
}

impl GroupCommit {
    /// Starts the committing task. It writes through `writer` (a pool of one connection that
    /// nothing else uses, so it never waits behind readers), taking `turn` like every other
    /// writer in the process. It ends when the last [`GroupCommit`] is dropped.
    pub(super) fn spawn(writer: SqlitePool, turn: Arc<Mutex<()>>) -> GroupCommit {
        let (queue, requests) = mpsc::unbounded_channel();
        let counts = Arc::<Counters>::default();
        tokio::spawn(run(writer.clone(), turn, counts.clone(), requests));
        GroupCommit {
            queue,
            writer,
            counts,
        }
    }

    pub(super) fn counts(&self) -> GroupCounts {
        GroupCounts {
            groups: self.counts.groups.load(Ordering::Relaxed),
            requests: self.counts.requests.load(Ordering::Relaxed),
            alone: self.counts.alone.load(Ordering::Relaxed),
        }
    }

    /// Closes the connection, once the group being committed is; later requests fail.
    pub(super) async fn close(&self) {
        self.writer.close().await;
    }

    /// Starts an attempt; the attempt's id, or `None` when the post was no longer in `from`.
    pub(super) async fn start(&self, start: Start) -> Result<Option<i64>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request::Start(start, reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Ends an attempt; whether the post left `publishing`.
    pub(super) async fn finish(&self, finish: Finish) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request::Finish(Box::new(finish), reply))
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn gone() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

async fn run(
    writer: SqlitePool,
    turn: Arc<Mutex<()>>,
    counts: Arc<Counters>,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let mut starts = Vec::new();
    let mut finishes = Vec::new();
    let sort = |request, starts: &mut Vec<_>, finishes: &mut Vec<_>| match request {
        Request::Start(start, reply) => starts.push((start, reply)),
        Request::Finish(finish, reply) => finishes.push((*finish, reply)),
    };
    while let Some(request) = requests.recv().await {
        sort(request, &mut starts, &mut finishes);
        while !starts.is_empty() || !finishes.is_empty() {
            // One group of each kind per turn: other writers get in between.
            let _turn = turn.lock().await;
            // Whatever arrived while waiting for the turn joins these groups.
            while let Ok(request) = requests.try_recv() {
                sort(request, &mut starts, &mut finishes);
            }
            // A publisher that has gone (stopped at shutdown) no longer wants its attempt.
            starts.retain(|(_, reply): &(Start, Reply<Option<i64>>)| !reply.is_closed());
            let mut conn = match writer.acquire().await {
                Ok(conn) => conn,
                Err(error) => {
                    let error = StoreError::Database(error);
                    for (_, reply) in starts.drain(..) {
                        let _ = reply.send(Err(told(&error)));
                    }
                    for (_, reply) in finishes.drain(..) {
                        let _ = reply.send(Err(told(&error)));
                    }
                    break;
                }
            };
            // Starts first: their publishers are waiting to send. An end never depends on a
            // start beside it (its own start was answered before it was sent).
            if !starts.is_empty() {
                let group = take_group(&mut starts, |start| start.post_id);
                commit_starts(&mut conn, group, &counts).await;
            }
            if !finishes.is_empty() {
                let group = take_group(&mut finishes, |finish| finish.post_id);
                commit_finishes(&mut conn, group, &counts).await;
            }
        }
    }
}

/// Whether a group's failure may be one request's doing (a constraint or trigger refused it,
/// or its audit entry could not be chained), so its requests are worth running alone. A busy,
/// full or broken database fails them all, at once.
fn one_requests_doing(error: &StoreError) -> bool {
    const SQLITE_CONSTRAINT: i32 = 19;
    match error {
        StoreError::Database(sqlx::Error::Database(error)) => error
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_CONSTRAINT),
        StoreError::Database(_) | StoreError::Grouped(_) => false,
        _ => true,
    }
}

/// How a failed group's error reaches each of its requests.
fn told(error: &StoreError) -> StoreError {
    StoreError::Grouped(error.to_string())
}

/// Takes up to [`MAX_GROUP`] requests from `pending`, no two for the same post, in order.
fn take_group<T, R>(pending: &mut Vec<(T, R)>, post: impl Fn(&T) -> PostId) -> Vec<(T, R)> {
    let mut seen = HashSet::new();
    let (group, rest) = std::mem::take(pending)
        .into_iter()
        .partition(|(request, _)| seen.len() < MAX_GROUP && seen.insert(post(request)));
    *pending = rest;
    group
}

/// Starts every attempt of the group if its post is still in the state its publisher saw
/// and its account's queue is not paused by a lockdown (`account_pauses`):
/// records the attempt, notes the step in the post's history (unless it was already
/// publishing) and moves the post to `publishing`. Returns (post, attempt) for those started.
/// The history is written before the `UPDATE`, while the posts are still in the state seen.
/// An earlier attempt still without an outcome was cut off (the process died): it is marked
/// `interrupted`.
const START_GROUP: &str = "
    BEGIN IMMEDIATE;
    UPDATE publish_attempts
       SET finished_at = request.value ->> 'now', outcome = 'interrupted', detail = request.value ->> 'cut_off'
      FROM json_each($1) AS request
      JOIN posts ON posts.id = request.value ->> 'post' AND posts.state = request.value ->> 'from'
     WHERE publish_attempts.post_id = posts.id AND publish_attempts.outcome IS NULL
       AND NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id);
    INSERT INTO publish_attempts (post_id, started_at, worker)
         SELECT posts.id, request.value ->> 'now', request.value ->> 'worker'
           FROM json_each($1) AS request
           JOIN posts ON posts.id = request.value ->> 'post'
                     AND posts.state = request.value ->> 'from'
          WHERE NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id)
      RETURNING post_id, id;
    INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
         SELECT posts.id, request.value ->> 'now', NULL, posts.state, 'publishing',
                request.value ->> 'note'
           FROM json_each($1) AS request
           JOIN posts ON posts.id = request.value ->> 'post'
                     AND posts.state = request.value ->> 'from'
          WHERE request.value ->> 'event' AND NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id);
    UPDATE posts SET state = 'publishing', updated_at = request.value ->> 'now'
      FROM json_each($1) AS request
     WHERE posts.id = request.value ->> 'post' AND posts.state = request.value ->> 'from'
       AND NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id);
    COMMIT;";

/// One attempt alone, as [`START_GROUP`] does a group: records the attempt if the post is
/// still in the state the publisher saw ($3), moves it to `publishing`, and notes the step in
/// its history unless it was already publishing ($6). Returns the attempt's id, or no row when
/// the post had moved on. `changes()` is the row count of the statement before. An earlier
/// attempt without an outcome is marked `interrupted`, as in [`START_GROUP`].
const START_ALONE: &str = "
    BEGIN IMMEDIATE;
    UPDATE publish_attempts SET finished_at = $1, outcome = 'interrupted', detail = $7
     WHERE post_id = $2 AND outcome IS NULL
       AND EXISTS (SELECT 1 FROM posts WHERE id = $2 AND state = $3 AND NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id));
    INSERT INTO publish_attempts (post_id, started_at, worker)
         SELECT $2, $1, $5 WHERE EXISTS (SELECT 1 FROM posts WHERE id = $2 AND state = $3 AND NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id))
      RETURNING id;
    UPDATE posts SET state = 'publishing', updated_at = $1 WHERE id = $2 AND state = $3 AND NOT EXISTS (SELECT 1 FROM account_pauses WHERE account_pauses.account_id = posts.account_id);
    INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
         SELECT $2, $1, NULL, $3, 'publishing', $4 WHERE changes() = 1 AND $6;
    COMMIT;";

async fn commit_starts(
    conn: &mut PoolConnection<Sqlite>,
    group: Vec<(Start, Reply<Option<i64>>)>,
    counts: &Counters,
) {
    let requests: Vec<Value> = group
        .iter()
        .map(|(start, _)| {
            json!({
                "post": start.post_id,
                "from": start.from.as_str(),
                "worker": start.worker,
                "note": start.note,
                "event": start.from != PostState::Publishing,
                "now": start.now.as_millisecond(),
                "cut_off": CUT_OFF,
            })
        })
        .collect();
    let started: Result<Vec<(PostId, i64)>, sqlx::Error> = sqlx::query_as(START_GROUP)
        .bind(Value::Array(requests).to_string())
        .fetch_all(&mut **conn)
        .await;
    counts.committed(group.len());
    match started {
        Ok(started) => {
            let attempts: HashMap<PostId, i64> = started.into_iter().collect();
            for (start, reply) in group {
                let _ = reply.send(Ok(attempts.get(&start.post_id).copied()));
            }
        }
        Err(error) => after_failure(conn, group, error.into(), counts, start_alone).await,
    }
}

/// After a group failed: rolls it back, then tells every request the error, or, when the
/// failure may be one request's doing, runs each alone (`alone`) so that one fails by itself.
async fn after_failure<T, R>(
    conn: &mut PoolConnection<Sqlite>,
    group: Vec<(T, Reply<R>)>,
    error: StoreError,
    counts: &Counters,
    alone: impl AsyncFn(&mut PoolConnection<Sqlite>, &T) -> Result<R, StoreError>,
) {
    sqlite::abandon(conn).await;
    if group.len() == 1 || !one_requests_doing(&error) {
        tracing::warn!(error = %error, requests = group.len(), "a group of the publisher's writes failed");
        for (_, reply) in group {
            let _ = reply.send(Err(told(&error)));
        }
        return;
    }
    tracing::warn!(error = %error, requests = group.len(), "a group of the publisher's writes was refused; running each alone");
    counts.ran_alone(group.len());
    for (request, reply) in group {
        let _ = reply.send(alone(conn, &request).await);
    }
}

async fn start_alone(
    conn: &mut PoolConnection<Sqlite>,
    start: &Start,
) -> Result<Option<i64>, StoreError> {
    let started: Result<Vec<i64>, sqlx::Error> = sqlx::query_scalar(START_ALONE)
        .bind(start.now.as_millisecond())
        .bind(start.post_id)
        .bind(start.from.as_str())
        .bind(&start.note)
        .bind(&start.worker)
        .bind(start.from != PostState::Publishing)
        .bind(CUT_OFF)
        .fetch_all(&mut **conn)
        .await;
    match started {
        Ok(attempt) => Ok(attempt.first().copied()),
        Err(error) => {
            sqlite::abandon(conn).await;
            Err(error.into())
        }
    }
}

/// Opens the transaction that ends a group of attempts, and reads the audit log's head in it:
/// the entries of the group are chained onto it in Rust, in order.
const BEGIN_WITH_AUDIT_HEAD: &str = "
    BEGIN IMMEDIATE;
    SELECT seq, hash FROM audit_head WHERE id = 1;";

/// Moves every post of the group that is still publishing to its new state; returns the ids
/// of those that moved.
const FINISH_GROUP_POSTS: &str = "
    UPDATE posts SET state = request.value ->> 'to', problem = request.value ->> 'problem',
           remote_id = COALESCE(request.value ->> 'remote_id', remote_id),
           remote_url = COALESCE(request.value ->> 'remote_url', remote_url),
           published_at = CASE WHEN request.value ->> 'published' THEN request.value ->> 'now'
                               ELSE published_at END,
           updated_at = request.value ->> 'now'
      FROM json_each($1) AS request
     WHERE posts.id = request.value ->> 'post' AND posts.state = 'publishing'
 RETURNING posts.id;";

/// The rest of a group's end, then its commit: the history of the posts that moved ($1's
/// `moved`), the audit entries chained in Rust ($2) and the log's new head ($3, $4; no change
/// when $4 is NULL), every attempt's row closed, and each settled job ($1's `job`, leased by
/// its `worker`) marked done.
const FINISH_GROUP_REST: &str = "
    INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
         SELECT value ->> 'post', value ->> 'now', NULL, 'publishing', value ->> 'to',
                value ->> 'detail'
           FROM json_each($1) WHERE value ->> 'moved';
    INSERT INTO audit_log (seq, at, actor, action, target, ip, details, prev_hash, hash)
         SELECT value ->> 'seq', value ->> 'at', value ->> 'actor', value ->> 'action',
                value ->> 'target', value ->> 'ip', value ->> 'details', value ->> 'prev_hash',
                value ->> 'hash'
           FROM json_each($2);
    UPDATE audit_head SET seq = $3, hash = $4 WHERE id = 1 AND $4 IS NOT NULL;
    UPDATE publish_attempts
       SET finished_at = request.value ->> 'now', outcome = request.value ->> 'outcome',
           detail = request.value ->> 'detail'
      FROM json_each($1) AS request
     WHERE publish_attempts.id = request.value ->> 'attempt';
    UPDATE jobs SET state = 'done', last_error = NULL, locked_by = NULL, locked_until = NULL,
           updated_at = request.value ->> 'now'
      FROM json_each($1) AS request
     WHERE jobs.id = request.value ->> 'job' AND jobs.locked_by = request.value ->> 'worker'
       AND jobs.state = 'running';
    COMMIT;";

/// One attempt's end alone, in the transaction [`BEGIN_WITH_AUDIT_HEAD`] opened: the post
/// leaves `publishing` ($1 the new state), and only if it did, the step goes into its history
/// and, when $11, the audit entry ($12 … $19, hashed from the head read in the same
/// transaction) into the log and its head. The attempt's row is closed either way, and the
/// publish job ($20, leased by $21; NULL to leave it to the runner) marked done. Returns one
/// row when the post moved.
const FINISH_ALONE: &str = "
    UPDATE posts SET state = $1, problem = $2,
           remote_id = COALESCE($3, remote_id), remote_url = COALESCE($4, remote_url),
           published_at = CASE WHEN $5 THEN $6 ELSE published_at END, updated_at = $6
     WHERE id = $7 AND state = 'publishing'
 RETURNING id;
    INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
         SELECT $7, $6, NULL, 'publishing', $1, $10 WHERE changes() = 1;
    INSERT INTO audit_log (seq, at, actor, action, target, ip, details, prev_hash, hash)
         SELECT $12, $6, $13, $14, $15, $16, $17, $18, $19 WHERE changes() = 1 AND $11;
    UPDATE audit_head SET seq = $12, hash = $19 WHERE id = 1 AND changes() = 1;
    UPDATE publish_attempts SET finished_at = $6, outcome = $9, detail = $10 WHERE id = $8;
    UPDATE jobs SET state = 'done', last_error = NULL, locked_by = NULL, locked_until = NULL, updated_at = $6
     WHERE id = $20 AND locked_by = $21 AND state = 'running';
    COMMIT;";

async fn commit_finishes(
    conn: &mut PoolConnection<Sqlite>,
    group: Vec<(Finish, Reply<bool>)>,
    counts: &Counters,
) {
    let finishes: Vec<&Finish> = group.iter().map(|(finish, _)| finish).collect();
    let finished = finish_group(conn, &finishes).await;
    counts.committed(group.len());
    match finished {
        Ok(moved) => {
            for (finish, reply) in group {
                let _ = reply.send(Ok(moved.contains(&finish.post_id)));
            }
        }
        Err(error) => after_failure(conn, group, error, counts, finish_alone).await,
    }
}

/// Three round trips for the whole group; the caller rolls back if one fails.
async fn finish_group(
    conn: &mut PoolConnection<Sqlite>,
    group: &[&Finish],
) -> Result<HashSet<PostId>, StoreError> {
    let (mut seq, mut head): (i64, String) = sqlx::query_as(BEGIN_WITH_AUDIT_HEAD)
        .fetch_one(&mut **conn)
        .await?;
    let posts: Vec<Value> = group
        .iter()
        .map(|finish| {
            json!({
                "post": finish.post_id,
                "to": finish.to.as_str(),
                "problem": finish.problem,
                "published": finish.published,
                "remote_id": finish.remote_id,
                "remote_url": finish.remote_url,
                "now": finish.now.as_millisecond(),
            })
        })
        .collect();
    let moved: HashSet<PostId> = sqlx::query_scalar(FINISH_GROUP_POSTS)
        .bind(Value::Array(posts).to_string())
        .fetch_all(&mut **conn)
        .await?
        .into_iter()
        .collect();
    let mut entries = Vec::new();
    let mut rest = Vec::with_capacity(group.len());
    for finish in group {
        let moves = moved.contains(&finish.post_id);
        if let Some(entry) = finish.audit.as_ref().filter(|_| moves) {
            seq += 1;
            let chained = ChainedEntry::next(entry, seq, head, finish.now)?;
            entries.push(json!({
                "seq": seq,
                "at": finish.now.as_millisecond(),
                "actor": chained.actor,
                "action": entry.action,
                "target": entry.target,
                "ip": entry.ip,
                "details": chained.details,
                "prev_hash": chained.prev_hash,
                "hash": chained.hash,
            }));
            head = chained.hash;
        }
        rest.push(json!({
            "post": finish.post_id,
            "moved": moves,
            "to": finish.to.as_str(),
            "detail": finish.detail,
            "attempt": finish.attempt_id,
            "outcome": finish.outcome,
            "job": finish.job_done.as_ref().map(|(job, _)| job),
            "worker": finish.job_done.as_ref().map(|(_, worker)| worker),
            "now": finish.now.as_millisecond(),
        }));
    }
    let new_head = (!entries.is_empty()).then_some(head);
    sqlx::query(FINISH_GROUP_REST)
        .bind(Value::Array(rest).to_string())
        .bind(Value::Array(entries).to_string())
        .bind(seq)
        .bind(new_head)
        .execute(&mut **conn)
        .await?;
    Ok(moved)
}

async fn finish_alone(
    conn: &mut PoolConnection<Sqlite>,
    finish: &Finish,
) -> Result<bool, StoreError> {
    let finished = finish_alone_in(conn, finish).await;
    if finished.is_err() {
        sqlite::abandon(conn).await;
    }
    finished
}

/// Two round trips, one transaction; the caller rolls back if one fails.
async fn finish_alone_in(
    conn: &mut PoolConnection<Sqlite>,
    finish: &Finish,
) -> Result<bool, StoreError> {
    let (seq, prev_hash): (i64, String) = sqlx::query_as(BEGIN_WITH_AUDIT_HEAD)
        .fetch_one(&mut **conn)
        .await?;
    let audit = finish.audit.as_ref();
    let chained = audit
        .map(|entry| ChainedEntry::next(entry, seq + 1, prev_hash, finish.now))
        .transpose()?;
    let moved: Vec<i64> = sqlx::query_scalar(FINISH_ALONE)
        .bind(finish.to.as_str())
        .bind(&finish.problem)
        .bind(&finish.remote_id)
        .bind(&finish.remote_url)
        .bind(finish.published)
        .bind(finish.now.as_millisecond())
        .bind(finish.post_id)
        .bind(finish.attempt_id)
        .bind(&finish.outcome)
        .bind(&finish.detail)
        .bind(chained.is_some())
        .bind(chained.as_ref().map(|chained| chained.seq))
        .bind(chained.as_ref().map(|chained| chained.actor.as_str()))
        .bind(audit.map(|entry| entry.action.as_str()))
        .bind(audit.and_then(|entry| entry.target.as_deref()))
        .bind(audit.and_then(|entry| entry.ip.as_deref()))
        .bind(chained.as_ref().map(|chained| chained.details.as_str()))
        .bind(chained.as_ref().map(|chained| chained.prev_hash.as_str()))
        .bind(chained.as_ref().map(|chained| chained.hash.as_str()))
        .bind(finish.job_done.as_ref().map(|(job, _)| *job))
        .bind(finish.job_done.as_ref().map(|(_, worker)| worker.as_str()))
        .fetch_all(&mut **conn)
        .await?;
    Ok(!moved.is_empty())
}
