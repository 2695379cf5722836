//! The publisher's writes when many land at once. On SQLite they are committed in groups
//! (`store/group_commit.rs`); on PostgreSQL one by one. Either way each caller must get the
//! answer it would have had alone, and the audit chain must hold.

use futures_util::future::join_all;
use herald::domain::audit::{Actor, ChainVerifier, NewAuditEntry};
use herald::domain::ids::{AccountId, PostId, UserId};
use herald::domain::jobs::{JobId, JobState};
use herald::domain::posts::PostState;
use herald::jobs::publish_job;
use herald::store::{AttemptEnd, AuditFilter, Store};
use jiff::{SignedDuration, Timestamp};

use crate::helpers::{contract_test, open_store, owner_and_account};

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("time")
}

/// `count` scheduled posts on one account: (their author, their account, their ids).
async fn scheduled_posts(store: &Store, count: usize) -> (UserId, AccountId, Vec<PostId>) {
    let (owner, account) = owner_and_account(store, at(0)).await;
    let mut ids = Vec::new();
    for n in 0..count {
        let id = store
            .create_post(account, owner, &format!("Fresh loaves, batch {n}"), at(1))
            .await
            .expect("post");
        let job = publish_job(id, at(100), 8);
        let scheduled = store
            .schedule_post(
                id,
                PostState::Draft,
                at(100),
                Some(owner),
                "scheduled",
                &job,
                at(2),
            )
            .await
            .expect("schedule");
        assert!(scheduled);
        ids.push(id);
    }
    (owner, account, ids)
}

fn published(post: PostId) -> NewAuditEntry {
    NewAuditEntry {
        actor: Actor::System,
        action: "post.published".to_owned(),
        target: Some(format!("post:{post}")),
        ip: None,
        details: serde_json::json!({ "remote_id": format!("remote-{post}") }),
    }
}

contract_test!(
    attempts_that_land_together_each_get_the_answer_they_would_alone,
    |store| {
        let (owner, account, posts) = scheduled_posts(&store, 40).await;
        let unscheduled = store
            .create_post(account, owner, "Still a draft", at(3))
            .await
            .expect("draft");

        // The publish jobs, leased as the runner leases them, to be marked done with the ends.
        let jobs: std::collections::HashMap<PostId, JobId> = store
            .claim_jobs("w1", at(100), SignedDuration::from_secs(60), 100)
            .await
            .expect("claim")
            .into_iter()
            .map(|job| {
                (
                    PostId::new(job.payload["post"].as_i64().expect("post id")),
                    job.id,
                )
            })
            .collect();
        assert_eq!(jobs.len(), posts.len());
        let before = store.group_commits();

        // Every post's attempt at once, the first post twice, and a post not scheduled.
        let mut starts: Vec<_> = posts
            .iter()
            .chain([&posts[0], &unscheduled])
            .map(|&post| {
                store.start_attempt(post, PostState::Scheduled, "w1", "publishing", at(100))
            })
            .collect();
        let last = starts.pop().expect("the draft's start");
        let (answers, draft) = tokio::join!(join_all(starts), last);
        let answers: Vec<Option<i64>> = answers
            .into_iter()
            .map(|answer| answer.expect("start"))
            .collect();
        assert_eq!(draft.expect("start"), None, "a draft is not published");
        let first_twice = [answers[0], answers[posts.len()]];
        assert_eq!(
            first_twice
                .iter()
                .filter(|attempt| attempt.is_some())
                .count(),
            1,
            "a post's attempt starts once: {first_twice:?}"
        );
        let attempt_of = |index: usize| {
            answers[index]
                .or(answers[posts.len()].filter(|_| index == 0))
                .expect("started")
        };
        for (index, &post) in posts.iter().enumerate() {
            let record = store.post(post).await.expect("read").expect("post");
            assert_eq!(record.state, PostState::Publishing, "post {post}");
            assert!(attempt_of(index) > 0);
            let history = store.post_history(post).await.expect("history");
            let started = history.last().expect("history");
            assert_eq!(
                (started.from_state.as_deref(), started.to_state.as_str()),
                (Some("scheduled"), "publishing")
            );
        }
        // On SQLite the starts were committed together: one group, and one more for the post
        // asked twice (a post is in a group at most once).
        if let (Some(before), Some(after)) = (before, store.group_commits()) {
            assert_eq!(after.groups - before.groups, 2, "{before:?} -> {after:?}");
            assert_eq!(after.requests - before.requests, 42);
            assert_eq!(after.alone, 0);
        }

        // Every end at once: a third of the posts published (with their audit entry), a third
        // failed, a third back to scheduled; and, among them, an end for a post that is not
        // publishing, whose audit entry must not be chained.
        let outcome = |index: usize| match index % 3 {
            0 => (PostState::Scheduled, "retry"),
            1 => (PostState::Published, "published"),
            _ => (PostState::Failed, "failed"),
        };
        let remote: Vec<String> = posts.iter().map(|post| format!("remote-{post}")).collect();
        let details: Vec<String> = posts
            .iter()
            .map(|post| format!("attempt for {post}"))
            .collect();
        let audits: Vec<NewAuditEntry> = posts.iter().map(|&post| published(post)).collect();
        let mut ends: Vec<AttemptEnd> = posts
            .iter()
            .enumerate()
            .map(|(index, &post)| {
                let (to, outcome) = outcome(index);
                let publishes = to == PostState::Published;
                AttemptEnd {
                    post_id: post,
                    attempt_id: attempt_of(index),
                    to,
                    outcome,
                    detail: &details[index],
                    remote_id: publishes.then_some(remote[index].as_str()),
                    remote_url: publishes.then_some("https://social.example/@bakery/1"),
                    audit: publishes.then_some(&audits[index]),
                    job_done: Some((jobs[&post], "w1")),
                    now: at(101),
                }
            })
            .collect();
        let middle = posts.len() / 2;
        ends.insert(
            middle,
            AttemptEnd {
                post_id: unscheduled,
                attempt_id: 0,
                to: PostState::Published,
                outcome: "published",
                detail: "not publishing",
                remote_id: Some("nowhere"),
                remote_url: None,
                audit: Some(&audits[1]),
                job_done: None,
                now: at(101),
            },
        );
        let before = store.group_commits();
        let moved: Vec<bool> = join_all(ends.iter().map(|end| store.finish_attempt(end)))
            .await
            .into_iter()
            .map(|moved| moved.expect("finish"))
            .collect();
        let draft_moved = moved[middle];
        assert!(!draft_moved, "a draft does not move");
        assert!(moved.iter().filter(|moved| **moved).count() == posts.len());
        if let (Some(before), Some(after)) = (before, store.group_commits()) {
            assert_eq!(after.groups - before.groups, 1, "{before:?} -> {after:?}");
            assert_eq!(after.alone, 0);
        }

        for (index, &post) in posts.iter().enumerate() {
            let record = store.post(post).await.expect("read").expect("post");
            let history = store.post_history(post).await.expect("history");
            let attempts = store.post_attempts(post).await.expect("attempts");
            assert_eq!(attempts.len(), 1, "post {post}: {attempts:?}");
            assert_eq!(attempts[0].detail, details[index]);
            assert!(attempts[0].finished_at.is_some());
            let last = history.last().expect("history");
            assert_eq!(last.note, details[index]);
            let (to, outcome) = outcome(index);
            assert_eq!(record.state, to, "post {post}");
            assert_eq!(attempts[0].outcome.as_deref(), Some(outcome));
            match to {
                PostState::Published => {
                    assert_eq!(record.remote_id.as_deref(), Some(remote[index].as_str()));
                    assert_eq!(
                        record.remote_url.as_deref(),
                        Some("https://social.example/@bakery/1")
                    );
                    assert_eq!(record.published_at, Some(at(101)));
                    assert_eq!(record.problem, None);
                }
                PostState::Failed => {
                    assert_eq!(record.problem.as_deref(), Some(details[index].as_str()));
                    assert_eq!(record.published_at, None);
                }
                _ => {
                    assert_eq!(record.problem, None);
                    assert_eq!(record.remote_id, None);
                }
            }
            let job = store
                .find_job(jobs[&post])
                .await
                .expect("job")
                .expect("exists");
            assert_eq!(job.state, JobState::Done, "post {post}'s job");
        }
        let draft = store.post(unscheduled).await.expect("read").expect("draft");
        assert_eq!(draft.state, PostState::Draft);
        assert_eq!(draft.remote_id, None);

        // One audit entry per published post, chained without a gap or a broken link.
        let entries = store
            .audit_entries(&AuditFilter {
                limit: 1000,
                ..AuditFilter::default()
            })
            .await
            .expect("audit");
        let mut verifier = ChainVerifier::new(Vec::new());
        for entry in &entries {
            verifier.push(entry).expect("the chain holds");
        }
        // In the order they were committed: on PostgreSQL, not necessarily the order asked.
        let mut published: Vec<&str> = entries
            .iter()
            .filter(|entry| entry.action == "post.published")
            .filter_map(|entry| entry.target.as_deref())
            .collect();
        let expected: Vec<String> = posts
            .iter()
            .enumerate()
            .filter(|(index, _)| index % 3 == 1)
            .map(|(_, post)| format!("post:{post}"))
            .collect();
        published.sort_by_key(|target| {
            target
                .strip_prefix("post:")
                .and_then(|id| id.parse::<i64>().ok())
        });
        assert_eq!(published, expected);
        let (head_seq, head_hash) = store.audit_head().await.expect("head");
        let last = entries.last().expect("entries");
        assert_eq!((head_seq, head_hash), (last.seq, last.hash));
    }
);

/// A request that fails in a group fails alone: the others in its group are committed.
#[tokio::test]
async fn on_sqlite_one_failing_start_in_a_group_fails_alone() {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let store = open_store("sqlite", dir.path()).await.expect("SQLite");
    let (_, _, posts) = scheduled_posts(&store, 3).await;
    let raw = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("herald.db").display()
    ))
    .await
    .expect("a second connection");
    sqlx::query(&format!(
        "CREATE TRIGGER refuse_one BEFORE UPDATE OF state ON posts WHEN NEW.id = {}
         BEGIN SELECT RAISE(ABORT, 'this post is refused'); END",
        posts[1]
    ))
    .execute(&raw)
    .await
    .expect("trigger");

    let answers =
        join_all(posts.iter().map(|&post| {
            store.start_attempt(post, PostState::Scheduled, "w1", "publishing", at(100))
        }))
        .await;
    assert!(matches!(answers[0], Ok(Some(_))), "{:?}", answers[0]);
    assert!(matches!(answers[2], Ok(Some(_))), "{:?}", answers[2]);
    let refused = answers[1].as_ref().expect_err("the refused post fails");
    assert!(
        refused.to_string().contains("this post is refused"),
        "{refused}"
    );
    let counts = store.group_commits().expect("SQLite groups its writes");
    assert_eq!(
        counts.alone, 3,
        "the refused group ran each alone: {counts:?}"
    );

    for (index, &post) in posts.iter().enumerate() {
        let record = store.post(post).await.expect("read").expect("post");
        let attempts = store.post_attempts(post).await.expect("attempts");
        let expected = if index == 1 {
            (PostState::Scheduled, 0)
        } else {
            (PostState::Publishing, 1)
        };
        assert_eq!((record.state, attempts.len()), expected, "post {post}");
    }

    // The failure left nothing open: once the trigger is gone the refused post starts.
    sqlx::query("DROP TRIGGER refuse_one")
        .execute(&raw)
        .await
        .expect("drop trigger");
    let again = store
        .start_attempt(posts[1], PostState::Scheduled, "w1", "publishing", at(100))
        .await
        .expect("start");
    assert!(again.is_some());
}

contract_test!(
    an_attempt_cut_off_by_a_dead_process_is_marked_interrupted_by_the_next,
    |store| {
        let (_, _, posts) = scheduled_posts(&store, 5).await;
        // The first process starts every attempt, then dies: no attempt gets an outcome.
        let first = join_all(posts.iter().map(|&post| {
            store.start_attempt(post, PostState::Scheduled, "w1", "publishing", at(100))
        }))
        .await;
        assert!(first.iter().all(|started| matches!(started, Ok(Some(_)))));
        // The next process takes the posts over where they were left: publishing.
        let second =
            join_all(posts.iter().map(|&post| {
                store.start_attempt(post, PostState::Publishing, "w2", "again", at(400))
            }))
            .await;
        assert!(second.iter().all(|started| matches!(started, Ok(Some(_)))));
        for &post in &posts {
            let attempts = store.post_attempts(post).await.expect("attempts");
            assert_eq!(attempts.len(), 2, "post {post}: {attempts:#?}");
            let (cut_off, current) = (&attempts[0], &attempts[1]);
            assert_eq!(cut_off.outcome.as_deref(), Some("interrupted"));
            assert_eq!(cut_off.finished_at, Some(at(400)));
            assert!(cut_off.detail.contains("Herald stopped"), "{cut_off:?}");
            assert_eq!(
                (current.worker.as_str(), current.outcome.as_deref()),
                ("w2", None)
            );
        }
    }
);
