//! A backup taken while a batch of 1,000 posts is being published (to a fake Mastodon) is a
//! consistent point in time: restored into a new directory, every post, image and audit
//! entry its manifest counts is there, the audit log verifies, the images' checksums match,
//! and Herald serves from it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald::clock::{Clock, ManualClock};
use herald::domain::ids::PostId;
use herald::domain::posts::PostState;
use herald::jobs::PUBLISH_KIND;
use herald::store::{AuditFilter, Store};
use jiff::{SignedDuration, Timestamp};
use networks::fake::FakeState;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::backup::{backup, restore};
use crate::helpers::{herald, run, spawn_sqlite_app_with_clock};
use crate::people::{invite_and_join, set_up};
use crate::posts::draft_id;
use crate::publishing::scheduled_in_store;
use crate::publishing_faults::{TOKEN, connected};

const POSTS: usize = 1_000;
const IMAGES: usize = 10;

/// The audit entry numbered `seq` (from 1), as the store holds it.
async fn audit_entry(store: &Store, seq: i64) -> herald::domain::audit::AuditEntry {
    let filter = AuditFilter {
        after_seq: seq - 1,
        limit: 1,
        ..AuditFilter::default()
    };
    store
        .audit_entries(&filter)
        .await
        .expect("audit entries")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("audit entry {seq} is there"))
}

#[tokio::test]
async fn a_backup_taken_during_a_batch_of_a_thousand_posts_restores_with_everything_it_counted() {
    let mastodon = networks::fake::mastodon::start(FakeState::new(TOKEN, 1))
        .await
        .expect("fake Mastodon");
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let mastodon_url = mastodon.url();
    let app = spawn_sqlite_app_with_clock(
        |config| {
            config.networks.mastodon_instance_url = mastodon_url;
            config.jobs.lease_seconds = 30 * 24 * 3600;
            config.jobs.concurrency = 4;
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let account = connected(
        &app,
        &owner,
        &keeper,
        "mastodon",
        "@herald@127.0.0.1",
        &mastodon,
    )
    .await;

    // Drafts with images, then the batch, approved and due a minute from now.
    let mut with_images = Vec::new();
    for n in 0..IMAGES {
        let id = draft_id(&app, &keeper, account, &format!("Photo of the day, {n}.")).await;
        let part = reqwest::multipart::Part::bytes(crate::media::png(64, 48, n))
            .file_name("photo.png")
            .mime_str("image/png")
            .expect("media type");
        let form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("alt", "A photo");
        let attached = keeper
            .client
            .post(app.url(&format!("/api/v1/posts/{id}/media")))
            .header("x-csrf-token", &keeper.csrf)
            .multipart(form)
            .send()
            .await
            .expect("request");
        assert_eq!(attached.status(), StatusCode::CREATED);
        with_images.push(id);
    }
    let now = clock.now();
    let at = now
        .saturating_add(SignedDuration::from_mins(1))
        .expect("time");
    let mut batch = Vec::new();
    for n in 0..POSTS {
        let text = format!("Today's special, number {n}.");
        batch.push(scheduled_in_store(&app.store, account, keeper.id, &text, at, 5, now).await);
    }
    let (before_batch, _) = app.store.audit_head().await.expect("head");

    // The batch starts; once some posts are out, a backup is taken by another process.
    clock.advance(SignedDuration::from_mins(2));
    // The deadlines only stop a broken run from hanging; they are no performance goal (those
    // live in bench/backup.py).
    let deadline = Instant::now() + Duration::from_secs(180);
    while mastodon.state.posts().len() < 50 {
        assert!(Instant::now() < deadline, "the batch did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dir = TempDir::new().expect("temporary directory");
    let taken = dir.path().join("backup");
    let out_at_start = mastodon.state.posts().len();
    let taken_at = clock.now();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking({
        let (data_dir, taken) = (app.data_dir.clone(), taken.clone());
        move || backup(&data_dir, &taken, &["--include-key"])
    })
    .await
    .expect("backup ran");
    assert!(ok, "{stdout}{stderr}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(taken.join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    let counted = manifest["audit_entries"].as_i64().expect("count");

    // The batch finishes after the backup was taken.
    let deadline = Instant::now() + Duration::from_secs(180);
    while app.store.pending_jobs(PUBLISH_KIND).await.expect("count") > 0 {
        assert!(Instant::now() < deadline, "the batch did not finish");
        clock.advance(SignedDuration::from_mins(1));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (after_batch, _) = app.store.audit_head().await.expect("head");
    assert!(
        out_at_start < POSTS && before_batch < counted && counted < after_batch,
        "the backup was taken mid-batch: {out_at_start} posts out when it began, audit \
         entries {before_batch} before the batch, {counted} in the backup, {after_batch} after"
    );

    let restored = dir.path().join("restored");
    let (ok, stdout, stderr) = restore(&taken, &restored, &[]);
    assert!(ok, "{stdout}{stderr}");
    let (output, verified, _) = run(herald()
        .args(["audit", "verify", "--data-dir"])
        .arg(&restored));
    assert!(output.status.success(), "{verified}");
    assert!(verified.starts_with("audit log intact"), "{verified}");

    // Every image the manifest lists, with the bytes it recorded.
    let images: Vec<&Value> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|file| {
            file["path"]
                .as_str()
                .is_some_and(|path| path.starts_with("media/"))
        })
        .collect();
    assert_eq!(images.len(), IMAGES, "{manifest}");
    for image in images {
        let path = restored.join(image["path"].as_str().expect("path"));
        let bytes = std::fs::read(&path).expect("the restored image");
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            image["sha256"].as_str().expect("checksum"),
            "{}",
            path.display()
        );
    }

    // Every post, in a state the live installation also went through; every audit entry the
    // manifest counted, with the head it names.
    let copy = Store::open_sqlite(&restored.join("herald.db"), 2, Duration::from_secs(5))
        .await
        .expect("the restored database opens");
    let mut out_in_copy = 0;
    for id in batch
        .iter()
        .copied()
        .chain(with_images.iter().map(|id| PostId::new(*id)))
    {
        let post = copy
            .post(id)
            .await
            .expect("read")
            .expect("every post is there");
        let live = app.store.post(id).await.expect("read").expect("post");
        if post.state == PostState::Published {
            out_in_copy += 1;
            assert_eq!(live.state, PostState::Published);
            assert_eq!(post.remote_id, live.remote_id, "post {id}");
        }
    }
    assert!(
        out_in_copy >= out_at_start && out_in_copy < POSTS,
        "{out_in_copy} published in the copy, {out_at_start} out when it began"
    );
    let head = audit_entry(&copy, counted).await;
    assert_eq!(
        hex::encode(head.hash),
        manifest["audit_head"].as_str().expect("head")
    );
    assert_eq!(head.hash, audit_entry(&app.store, counted).await.hash);
    copy.close().await;

    // Herald serves from the restored directory, to the same member's session, as if restored
    // at once: waiting for the batch moved the live clock by hours, past the session's idle
    // limit, so the restored Herald's clock starts at the moment the backup was taken.
    drop(app);
    let served = spawn_sqlite_app_with_clock(
        {
            let restored = restored.clone();
            move |config| config.data_dir = restored
        },
        Arc::new(ManualClock::new(taken_at)),
    )
    .await;
    let post: Value = keeper
        .get_json(&served, &format!("/api/v1/posts/{}", with_images[3]))
        .await;
    assert_eq!(post["id"], with_images[3], "{post}");
    let listed: Value = keeper
        .get_json(&served, &format!("/api/v1/posts/{}/media", with_images[3]))
        .await;
    let media_id = listed[0]["id"].as_i64().expect("image");
    let bytes = keeper
        .get(
            &served,
            &format!("/api/v1/posts/{}/media/{media_id}", with_images[3]),
        )
        .await
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(bytes.to_vec(), crate::media::png(64, 48, 3));
}
