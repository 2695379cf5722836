//! The incidents' storage contract (issue 20), on SQLite and on PostgreSQL: one open incident
//! per account, the lockdown claimed once, steps replaced in place with every change in the
//! timeline, a paused account's posts never start publishing, the templates, the watcher's
//! memory.

use herald::domain::ids::AccountId;
use herald::domain::posts::PostState;
use herald::store::{NewIncident, StepRecord};
use jiff::Timestamp;

use crate::helpers::{contract_test, owner_and_account};
use crate::publishing::scheduled_in_store;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + second).expect("valid test time")
}

fn new_incident(account_id: AccountId, opened_by: &'static str) -> NewIncident<'static> {
    NewIncident {
        account_id,
        opened_by,
        opened_by_user: None,
        owner_id: None,
        drill: false,
        summary: "test",
    }
}

contract_test!(
    an_account_has_at_most_one_open_incident_and_its_lockdown_is_claimed_once,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let (first, opened) = store
            .open_incident(&new_incident(account, "detection"), at(1))
            .await
            .expect("open");
        assert!(opened);
        assert_eq!(first.status, "open");
        assert_eq!(first.opened_by, "detection");
        let (again, opened_again) = store
            .open_incident(&new_incident(account, "lockdown"), at(2))
            .await
            .expect("open again");
        assert!(!opened_again);
        assert_eq!(again.id, first.id, "the open one is answered");
        assert!(
            store
                .claim_lockdown(first.id, false, at(3))
                .await
                .expect("claim")
        );
        assert!(
            !store
                .claim_lockdown(first.id, false, at(4))
                .await
                .expect("claim twice")
        );
        store.mark_locked(first.id, at(5)).await.expect("locked");
        let locked = store
            .incident(first.id)
            .await
            .expect("read")
            .expect("there");
        assert_eq!(locked.status, "locked_down");
        assert_eq!(locked.lockdown_started_at, Some(at(3)));
        assert_eq!(locked.locked_at, Some(at(5)));
        assert!(
            store
                .close_incident(first.id, owner, "lessons", at(6))
                .await
                .expect("close")
        );
        assert!(
            !store
                .close_incident(first.id, owner, "again", at(7))
                .await
                .expect("closed already")
        );
        assert!(
            store
                .open_incident_of(account)
                .await
                .expect("read")
                .is_none()
        );
        let (next, opened_next) = store
            .open_incident(&new_incident(account, "member"), at(8))
            .await
            .expect("a new one");
        assert!(opened_next);
        assert_ne!(next.id, first.id);
        assert_eq!(store.incidents().await.expect("list").len(), 2);
    }
);

contract_test!(
    a_step_is_replaced_in_place_and_every_change_is_in_the_timeline,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let (incident, _) = store
            .open_incident(&new_incident(account, "lockdown"), at(1))
            .await
            .expect("open");
        let step = |outcome: &str, second| StepRecord {
            step: "revoke_tokens".to_owned(),
            phase: "lockdown".to_owned(),
            outcome: outcome.to_owned(),
            detail: format!("{outcome} detail"),
            by_user: Some(owner),
            at: at(second),
        };
        store
            .set_step(incident.id, &step("failed", 2), "lockdown")
            .await
            .expect("failed");
        store
            .set_step(incident.id, &step("done", 3), "lockdown")
            .await
            .expect("done");
        let steps = store.incident_steps(incident.id).await.expect("steps");
        assert_eq!(steps, vec![step("done", 3)]);
        store
            .add_incident_event(incident.id, at(4), "note", Some(owner), None, "a note")
            .await
            .expect("note");
        let events = store.incident_events(incident.id).await.expect("events");
        let seen: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|event| (event.text.as_str(), event.outcome.as_deref()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("failed detail", Some("failed")),
                ("done detail", Some("done")),
                ("a note", None)
            ]
        );
    }
);

contract_test!(
    a_paused_account_s_posts_never_start_publishing_until_it_resumes,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let scheduled = scheduled_in_store(&store, account, owner, "one", at(100), 3, at(0)).await;
        let held = scheduled_in_store(&store, account, owner, "two", at(100), 3, at(0)).await;
        let (incident, _) = store
            .open_incident(&new_incident(account, "lockdown"), at(1))
            .await
            .expect("open");
        let work = store.write().await.expect("work");
        work.lock_account_row(account).await.expect("row");
        work.pause_account(account, incident.id, at(2))
            .await
            .expect("pause");
        work.pause_account(account, incident.id, at(3))
            .await
            .expect("pausing twice keeps one");
        let moved = work
            .hold_scheduled_posts(account, owner, "held", at(2))
            .await
            .expect("hold");
        work.commit().await.expect("commit");
        assert_eq!(moved, vec![scheduled, held]);
        assert!(store.account_paused(account).await.expect("paused"));
        assert_eq!(
            store.post(held).await.expect("read").expect("post").state,
            PostState::Approved
        );
        assert_eq!(
            store
                .count_account_posts(account, "scheduled")
                .await
                .expect("count"),
            0
        );
        // Even a post put back to `scheduled` behind the lockdown's back does not start.
        assert!(
            store
                .step_post(
                    held,
                    PostState::Approved,
                    PostState::Scheduled,
                    owner,
                    "sneaky",
                    at(4)
                )
                .await
                .expect("step")
        );
        let started = store
            .start_attempt(held, PostState::Scheduled, "worker", "publishing", at(5))
            .await
            .expect("start");
        assert_eq!(started, None, "a paused account's post does not start");
        assert!(store.resume_account(account).await.expect("resume"));
        assert!(!store.resume_account(account).await.expect("resume twice"));
        let started = store
            .start_attempt(held, PostState::Scheduled, "worker", "publishing", at(6))
            .await
            .expect("start");
        assert!(started.is_some(), "it starts once resumed");
    }
);

contract_test!(
    templates_are_seeded_and_replaced_and_the_watcher_remembers_once,
    |store| {
        let (owner, account) = owner_and_account(&store, at(0)).await;
        let holding = store
            .incident_template("holding")
            .await
            .expect("read")
            .expect("seeded");
        assert!(holding.contains("{account}") && holding.contains("{network}"));
        assert!(
            store
                .incident_template("all_clear")
                .await
                .expect("read")
                .is_some()
        );
        store
            .set_incident_template("holding", "Ours: {account}", owner, at(1))
            .await
            .expect("set");
        assert_eq!(
            store
                .incident_template("holding")
                .await
                .expect("read")
                .as_deref(),
            Some("Ours: {account}")
        );
        assert!(
            store
                .note_seen_post(account, "109", at(1))
                .await
                .expect("seen")
        );
        assert!(
            !store
                .note_seen_post(account, "109", at(2))
                .await
                .expect("seen twice")
        );
        assert_eq!(
            store.seen_posts(account).await.expect("seen"),
            vec!["109".to_owned()]
        );
        assert_eq!(store.watched_profile(account).await.expect("profile"), None);
        store
            .set_watched_profile(account, "{\"handle\":\"a\"}", at(1))
            .await
            .expect("set");
        store
            .set_watched_profile(account, "{\"handle\":\"b\"}", at(2))
            .await
            .expect("set again");
        assert_eq!(
            store
                .watched_profile(account)
                .await
                .expect("profile")
                .as_deref(),
            Some("{\"handle\":\"b\"}")
        );
        assert!(!store.drop_tokens(account).await.expect("no tokens to drop"));
        assert_eq!(
            store
                .account(account)
                .await
                .expect("read")
                .expect("account")
                .connection,
            "not_connected"
        );
    }
);
