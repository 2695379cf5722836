//! Upgrades never lose data (issue 22): for every schema version Herald has had, a database is
//! built as that version left it — each table filled, in that version's own columns, at the
//! migration that made it — then upgraded to the current schema, on SQLite and on PostgreSQL,
//! and everything put in is read back through today's store: members, sessions and tokens
//! (whose scopes a migration renamed), accounts, grants, sealed secrets, rotations (a table
//! SQLite rebuilt), notifications, the policy, posts with their history and attempts, inbox
//! items, incidents, and the audit chain, which must still verify.

use std::path::Path;
use std::time::Duration;

use herald::domain::audit::{AuditEntry, ChainVerifier, canonical, chain_hash};
use herald::domain::ids::{AccountId, PostId, UserId};
use herald::domain::posts::PostState;
use herald::store::{AuditFilter, Store};
use jiff::Timestamp;

use crate::helpers::postgres_url;

/// A database opened twice: through the store (to migrate, then to read), and raw (to write
/// rows as an older Herald wrote them).
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// Runs `sql` (statements separated by `;` at a line's end); `{hex:…}` becomes a byte
    /// string in the backend's own syntax.
    async fn run(&self, sql: &str) {
        for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            let statement = blobs(statement, matches!(self, Raw::Sqlite(_)));
            let done = match self {
                Raw::Sqlite(pool) => sqlx::query(&statement).execute(pool).await.map(drop),
                Raw::Postgres(pool) => sqlx::query(&statement).execute(pool).await.map(drop),
            };
            done.unwrap_or_else(|error| panic!("{statement}: {error}"));
        }
    }

    async fn close(self) {
        match self {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}

fn blobs(statement: &str, sqlite: bool) -> String {
    let mut out = String::new();
    let mut rest = statement;
    while let Some(start) = rest.find("{hex:") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("closed");
        let hex = &rest[start + 5..end];
        if sqlite {
            out.push_str(&format!("X'{hex}'"));
        } else {
            out.push_str(&format!("'\\x{hex}'::bytea"));
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

const T: i64 = 1_800_000_000_000;

/// Rows an older Herald wrote, each set at the schema version that made its tables.
fn seeds() -> Vec<(i64, String)> {
    let mut seeds = vec![
        (
            3,
            format!(
                "INSERT INTO organisation (id, name, created_at) VALUES (1, 'Sunny Café', {T});
                 INSERT INTO users (id, email, name, role, password_hash, totp_secret, totp_last_step, active, created_at)
                   VALUES (1, 'olive@sunny.example', 'Olive', 'owner', 'hash-1', {{hex:0102}}, 7, TRUE, {T});
                 INSERT INTO users (id, email, name, role, password_hash, totp_secret, totp_last_step, active, created_at, deactivated_at)
                   VALUES (2, 'sam@sunny.example', 'Sam', 'member', 'hash-2', {{hex:0304}}, 0, FALSE, {T}, {T});
                 INSERT INTO recovery_codes (user_id, code_hash) VALUES (1, 'code-1');
                 INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at)
                   VALUES ('session-1', 1, 'csrf', {T}, {T}, {});
                 INSERT INTO invitations (token_hash, email, role, invited_by, created_at, expires_at)
                   VALUES ('invite-1', 'kim@sunny.example', 'admin', 1, {T}, {});
                 INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, created_at, expires_at)
                   VALUES (1, 1, 'Zapier', 'token-1', 'account:read posts:write', {T}, {})",
                T + 86_400_000_000,
                T + 86_400_000_000,
                T + 86_400_000_000,
            ),
        ),
        (
            5,
            format!(
                "INSERT INTO social_accounts (id, network, handle, display_name, avatar_colour, gatekeeper_id, confirm_before_publish, created_at)
                   VALUES (1, 'mastodon', '@sunny@social.example', 'Sunny Café', '#1f5f5b', 1, TRUE, {T});
                 INSERT INTO account_grants (account_id, user_id, level, granted_by, granted_at)
                   VALUES (1, 2, 'contributor', 1, {T})"
            ),
        ),
        (
            7,
            format!(
                "INSERT INTO account_secrets (account_id, field, sealed, key_version, strength, fingerprint, updated_at, updated_by)
                   VALUES (1, 'login_password', {{hex:deadbeef}}, 1, 4, 'fp-1', {T}, 1)"
            ),
        ),
        (
            9,
            format!(
                "INSERT INTO rotations (id, account_id, reason, detail, requested_at)
                   VALUES (1, 1, 'member_left', 'Sam left', {T})"
            ),
        ),
        (
            10,
            format!(
                "INSERT INTO notifications (id, user_id, created_at, subject, body, link)
                   VALUES (1, 1, {T}, 'Rotate now', 'Sam left.', '/accounts/1')"
            ),
        ),
        (
            12,
            format!(
                "INSERT INTO policy_documents (version, markdown, created_at, created_by) VALUES (1, 'Be kind.', {T}, 1);
                 INSERT INTO policy_acknowledgements (user_id, version, acknowledged_at) VALUES (1, 1, {T})"
            ),
        ),
        (
            13,
            format!(
                "INSERT INTO posts (id, account_id, author_id, text, state, created_at, updated_at)
                   VALUES (1, 1, 1, 'Fresh bread at eight.', 'published', {T}, {T});
                 INSERT INTO posts (id, account_id, author_id, text, state, created_at, updated_at)
                   VALUES (2, 1, 2, 'A draft by Sam.', 'draft', {T}, {T});
                 INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
                   VALUES (1, {T}, 1, NULL, 'draft', 'written');
                 INSERT INTO post_events (post_id, at, actor_id, from_state, to_state, note)
                   VALUES (1, {T}, NULL, 'draft', 'published', 'published by Herald')"
            ),
        ),
        (
            14,
            format!(
                "UPDATE posts SET published_at = {T}, remote_id = 'remote-1', remote_url = 'https://social.example/@sunny/1' WHERE id = 1;
                 INSERT INTO publish_attempts (post_id, started_at, finished_at, worker, outcome, detail)
                   VALUES (1, {T}, {T}, 'w1', 'published', '');
                 INSERT INTO queue_slots (account_id, weekday, minute) VALUES (1, 1, 540)"
            ),
        ),
        (
            26,
            format!(
                "INSERT INTO inbox_items (id, account_id, network_key, kind, author_id, author_handle, author_name, text, text_cut, links, verdict, reasons, impostor, state, received_at, fetched_at, updated_at)
                   VALUES (1, 1, 'n-1', 'mention', '42', '@fan@example.social', 'Fan', 'Love the bread!', FALSE, '[]', 'safe', '[]', FALSE, 'open', {T}, {T}, {T})"
            ),
        ),
        (
            27,
            format!(
                "INSERT INTO incidents (id, account_id, opened_by, opened_by_user, status, drill, summary, opened_at, closed_at, closed_by, lessons)
                   VALUES (1, 1, 'member', 1, 'closed', TRUE, 'A drill', {T}, {T}, 1, 'Practise more.')"
            ),
        ),
        (
            31,
            format!(
                "INSERT INTO sign_in_devices (user_id, device_hash, browser, last_ip, first_seen_at, last_seen_at)
                   VALUES (1, 'laptop', 'Firefox on Windows', '203.0.113.1', {T}, {T})"
            ),
        ),
        (
            34,
            format!(
                "INSERT INTO policy_staff_profiles (version) VALUES (1);
                 INSERT INTO staff_profiles_none (user_id, declared_at) VALUES (1, {T})"
            ),
        ),
    ];
    seeds.push((2, audit_seed()));
    seeds.sort_by_key(|(version, _)| *version);
    seeds
}

/// Three chained audit entries, hashed as Herald hashes them.
fn audit_seed() -> String {
    let mut prev = [0u8; 32];
    let mut sql = Vec::new();
    for (seq, action, target) in [
        (1, "org.created", "org:1"),
        (2, "member.invited", "email:sam@sunny.example"),
        (3, "post.published", "post:1"),
    ] {
        let at = Timestamp::from_millisecond(T + seq).expect("time");
        let details = format!("{{\"n\":{seq}}}");
        let text = canonical(seq, at, "user:1", action, Some(target), None, &details);
        let hash = chain_hash(&prev, &text);
        sql.push(format!(
            "INSERT INTO audit_log (seq, at, actor, action, target, ip, details, prev_hash, hash)
               VALUES ({seq}, {}, 'user:1', '{action}', '{target}', NULL, '{details}', '{}', '{}')",
            at.as_millisecond(),
            hex(&prev),
            hex(&hash)
        ));
        prev = hash;
    }
    sql.push(format!(
        "UPDATE audit_head SET seq = 3, hash = '{}' WHERE id = 1",
        hex(&prev)
    ));
    sql.join(";\n")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A fresh, empty database of `backend`, opened both ways.
async fn fresh(backend: &str, dir: &Path) -> Option<(Store, Raw)> {
    let timeout = Duration::from_secs(5);
    Some(match backend {
        "sqlite" => {
            let path = dir.join("herald.db");
            let store = Store::open_sqlite(&path, 2, timeout).await.expect("SQLite");
            let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .expect("raw SQLite");
            (store, Raw::Sqlite(raw))
        }
        _ => {
            let url = postgres_url().await?;
            let store = Store::open_postgres(&url.clone().into(), 2, timeout)
                .await
                .expect("PostgreSQL");
            let raw = sqlx::PgPool::connect(&url).await.expect("raw PostgreSQL");
            (store, Raw::Postgres(raw))
        }
    })
}

async fn every_version_upgrades_with_its_data(backend: &str) {
    let dir = tempfile::TempDir::new().expect("temporary directory");
    let Some((probe, raw)) = fresh(backend, dir.path()).await else {
        return;
    };
    let versions: Vec<i64> = probe
        .pending_migrations()
        .await
        .expect("migrations")
        .into_iter()
        .map(|(version, _)| version)
        .collect();
    raw.close().await;
    probe.close().await;
    assert!(versions.len() >= 27, "{versions:?}");
    let seeds = seeds();
    for &left_at in &versions {
        let dir = tempfile::TempDir::new().expect("temporary directory");
        let (store, raw) = fresh(backend, dir.path()).await.expect("database");
        for &version in versions.iter().take_while(|version| **version <= left_at) {
            store.migrate_up_to(version).await.expect("an older schema");
            for (_, sql) in seeds.iter().filter(|(at, _)| *at == version) {
                raw.run(sql).await;
            }
        }
        store.migrate().await.unwrap_or_else(|error| {
            panic!("upgrading from version {left_at} on {backend}: {error}")
        });
        check(&store, left_at).await;
        raw.close().await;
        store.close().await;
    }
}

/// Everything the seeds of versions up to `left_at` put in, read back through today's store.
async fn check(store: &Store, left_at: i64) {
    let at = |version: i64| left_at >= version;
    let context = format!("a database left at version {left_at}");
    let entries: Vec<AuditEntry> = store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(entries.len(), if at(2) { 3 } else { 0 }, "{context}");
    let mut verifier = ChainVerifier::new(Vec::new());
    for entry in &entries {
        verifier
            .push(entry)
            .unwrap_or_else(|error| panic!("{context}: the chain breaks: {error}"));
    }
    let users = store.list_users().await.expect("users");
    if !at(3) {
        assert!(users.is_empty(), "{context}");
        return;
    }
    assert_eq!(
        store.organisation_name().await.expect("name"),
        "Sunny Café",
        "{context}"
    );
    assert_eq!(users.len(), 2, "{context}");
    assert!(users[0].active && !users[1].active, "{context}");
    assert_eq!(users[0].totp_secret, vec![1, 2], "{context}");
    assert_eq!(users[0].totp_last_step, 7, "{context}");
    assert_eq!(
        store
            .recovery_codes_left(UserId::new(1))
            .await
            .expect("codes"),
        1,
        "{context}"
    );
    let session = store.session("session-1").await.expect("session");
    assert_eq!(
        session.map(|s| s.user_id),
        Some(UserId::new(1)),
        "{context}"
    );
    let sessions = store
        .sessions_of(
            UserId::new(1),
            Timestamp::from_millisecond(T).expect("t"),
            Timestamp::from_millisecond(T - 1).expect("t"),
        )
        .await
        .expect("sessions");
    assert!(
        !sessions[0].public_id.is_empty(),
        "{context}: a session gets its public id"
    );
    assert!(
        store
            .invitation("invite-1")
            .await
            .expect("invitation")
            .is_some(),
        "{context}"
    );
    let token = store
        .use_api_token("token-1", Timestamp::from_millisecond(T + 5).expect("t"))
        .await
        .expect("token")
        .expect("valid");
    assert_eq!(
        token.scopes,
        vec!["me:read".to_owned(), "posts:write".to_owned()],
        "{context}"
    );

    let account = AccountId::new(1);
    if at(5) {
        let record = store
            .account(account)
            .await
            .expect("account")
            .expect("kept");
        assert_eq!(record.handle, "@sunny@social.example", "{context}");
        assert!(record.confirm_before_publish, "{context}");
        assert_eq!(record.time_zone, "UTC", "{context}");
        assert_eq!(record.connection, "not_connected", "{context}");
        assert_eq!(
            store.grants(account).await.expect("grants").len(),
            1,
            "{context}"
        );
    }
    if at(7) {
        let secret = store
            .secret(account, "login_password")
            .await
            .expect("secret")
            .expect("kept");
        assert_eq!(secret.sealed, vec![0xde, 0xad, 0xbe, 0xef], "{context}");
        assert_eq!(secret.fingerprint.as_deref(), Some("fp-1"), "{context}");
    }
    if at(9) {
        let rotations = store.rotations_of(account).await.expect("rotations");
        assert_eq!(
            rotations.len(),
            1,
            "{context}: the rebuilt table kept its rows"
        );
        assert_eq!(rotations[0].detail, "Sam left", "{context}");
    }
    if at(10) {
        let notes = store
            .notifications_of(UserId::new(1), 10)
            .await
            .expect("notes");
        assert_eq!(notes[0].subject, "Rotate now", "{context}");
    }
    if at(12) {
        assert_eq!(
            store.policy_acknowledgements(1).await.expect("acks").len(),
            1,
            "{context}"
        );
    }
    if at(13) {
        let post = store
            .post(PostId::new(1))
            .await
            .expect("post")
            .expect("kept");
        assert_eq!(post.state, PostState::Published, "{context}");
        assert_eq!(post.text, "Fresh bread at eight.", "{context}");
        assert_eq!(post.version, 1, "{context}");
        assert_eq!(
            store
                .post_history(PostId::new(1))
                .await
                .expect("history")
                .len(),
            2,
            "{context}"
        );
        let draft = store
            .post(PostId::new(2))
            .await
            .expect("post")
            .expect("kept");
        assert_eq!(draft.author_id, UserId::new(2), "{context}");
    }
    if at(14) {
        let post = store
            .post(PostId::new(1))
            .await
            .expect("post")
            .expect("kept");
        assert_eq!(post.remote_id.as_deref(), Some("remote-1"), "{context}");
        assert_eq!(
            store
                .post_attempts(PostId::new(1))
                .await
                .expect("attempts")
                .len(),
            1,
            "{context}"
        );
        assert_eq!(
            store.queue_slots(account).await.expect("slots").len(),
            1,
            "{context}"
        );
    }
    if at(26) {
        assert!(
            store.inbox_item(1).await.expect("item").is_some(),
            "{context}"
        );
    }
    if at(27) {
        let incident = store.incident(1).await.expect("incident").expect("kept");
        assert!(incident.drill, "{context}");
        assert_eq!(
            incident.lessons.as_deref(),
            Some("Practise more."),
            "{context}"
        );
    }
    if at(31) {
        let devices = store
            .sign_in_devices(UserId::new(1))
            .await
            .expect("devices");
        assert_eq!(devices.len(), 1, "{context}");
        assert_eq!(devices[0].browser, "Firefox on Windows", "{context}");
    }
    if at(34) {
        let document = store
            .policy_document()
            .await
            .expect("document")
            .expect("kept");
        assert!(document.asks_for_staff_profiles, "{context}");
        assert_eq!(
            store
                .members_without_own_profiles()
                .await
                .expect("said none")
                .len(),
            1,
            "{context}"
        );
    }
}

#[tokio::test]
async fn every_schema_version_upgrades_with_its_data_on_sqlite() {
    every_version_upgrades_with_its_data("sqlite").await;
}

#[tokio::test]
async fn every_schema_version_upgrades_with_its_data_on_postgres() {
    every_version_upgrades_with_its_data("postgres").await;
}
