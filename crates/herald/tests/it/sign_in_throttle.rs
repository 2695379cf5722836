//! Sign-in throttling that slows guessers without locking the real member out (the rule is in
//! `domain/throttle.rs` and the README). Client addresses are varied the way a reverse proxy
//! reports them: Herald trusts 127.0.0.1 as its proxy and reads `X-Forwarded-For`.

use std::sync::Arc;

use herald::clock::{Clock, ManualClock};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, contract_test, spawn_app_with_clock};
use crate::people::{OWNER_EMAIL, OWNER_PASSWORD, Person, client, code, set_up};

/// A Herald behind a (pretend) proxy on 127.0.0.1, with a hand-moved clock, and its owner.
async fn behind_a_proxy() -> (TestApp, ManualClock, Person) {
    let clock = ManualClock::new(Timestamp::from_second(1_800_000_000).expect("time"));
    let app = spawn_app_with_clock(
        |config| {
            // Throttling is what is tested, not hashing: a cheap Argon2 keeps the many guesses
            // quick in a debug build.
            config.passwords.argon2_memory_kib = 1024;
            config.passwords.argon2_iterations = 1;
            config.trusted_proxies = vec![
                herald::domain::client_address::AddressBlock::parse("127.0.0.1").expect("block"),
            ];
        },
        Arc::new(clock.clone()),
    )
    .await;
    let owner = set_up(&app, &clock).await;
    (app, clock, owner)
}

/// Signs in as `email` from `address` with `browser` (whose cookie jar may hold a device cookie).
async fn sign_in(
    app: &TestApp,
    browser: &reqwest::Client,
    address: &str,
    email: &str,
    password: &str,
    code: &str,
) -> reqwest::Response {
    browser
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", address)
        .json(&json!({ "email": email, "password": password, "code": code }))
        .send()
        .await
        .expect("request")
}

/// The owner signs in with the right password and a fresh code; the clock moves to the next
/// code first, since each code works once.
async fn owner_signs_in(
    app: &TestApp,
    clock: &ManualClock,
    owner: &Person,
    browser: &reqwest::Client,
    address: &str,
) -> StatusCode {
    clock.advance(SignedDuration::from_secs(30));
    let code = code(&owner.secret, clock);
    sign_in(app, browser, address, OWNER_EMAIL, OWNER_PASSWORD, &code)
        .await
        .status()
}

/// Makes `failures` wrong guesses judged (401), the `n`-th from `address(n)` as `email(n)`, and
/// waits out each 429 the way a patient guesser would.
async fn guess(
    app: &TestApp,
    clock: &ManualClock,
    failures: usize,
    address: impl Fn(usize) -> String,
    email: impl Fn(usize) -> String,
) {
    let mut judged = 0;
    while judged < failures {
        let response = sign_in(
            app,
            &client(),
            &address(judged),
            &email(judged),
            "some password guess",
            "123456",
        )
        .await;
        match response.status() {
            StatusCode::UNAUTHORIZED => judged += 1,
            StatusCode::TOO_MANY_REQUESTS => clock.advance(retry_after(&response)),
            other => panic!("unexpected {other}"),
        }
    }
}

fn retry_after(response: &reqwest::Response) -> SignedDuration {
    let seconds: i64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    SignedDuration::from_secs(seconds)
}

#[tokio::test]
async fn eleven_failures_with_random_emails_slow_their_address_but_not_a_browser_that_signed_in_there_before()
 {
    let (app, clock, owner) = behind_a_proxy().await;
    let office = "198.51.100.10";
    let known_browser = client();
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &known_browser, office).await,
        StatusCode::OK
    );
    // Eleven and more: twenty, so that the address's wait (512 s) outlasts the owner's moves
    // to a fresh code.
    guess(
        &app,
        &clock,
        20,
        |_| office.to_owned(),
        |n| format!("random{n}@guess.example"),
    )
    .await;
    // The rule: a browser that has not signed in before waits with the address it shares.
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &client(), office).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A forged or another account's device cookie is no exemption.
    let forged = reqwest::Client::builder()
        .default_headers(
            [(
                reqwest::header::COOKIE,
                reqwest::header::HeaderValue::from_static("herald_device=v1.1.x.1800000000.AAAA"),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .expect("client");
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &forged, office).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The owner's own browser, which signed in there before, gets in at once.
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &known_browser, office).await,
        StatusCode::OK
    );
    // And so does any browser from another address.
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &client(), "203.0.113.20").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_paced_guesser_never_keeps_the_owner_out_from_another_address_or_a_browser_that_signed_in_before()
 {
    let (app, clock, owner) = behind_a_proxy().await;
    let attacker = "192.0.2.66";
    let known_browser = client();
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &known_browser, attacker).await,
        StatusCode::OK,
        "the owner once signed in from the address the guesser uses later (a café, say)"
    );
    let started = clock.now();
    let mut judged = 0;
    let mut waits = 0;
    let mut next_owner_check = started;
    while clock.now().duration_since(started) < SignedDuration::from_hours(8) {
        let guess = sign_in(
            &app,
            &client(),
            attacker,
            OWNER_EMAIL,
            "wrong password guess",
            "123456",
        )
        .await;
        match guess.status() {
            StatusCode::UNAUTHORIZED => judged += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                // One wrong try each time the wait ends.
                waits += 1;
                clock.advance(retry_after(&guess));
            }
            other => panic!("unexpected {other}"),
        }
        if clock.now() >= next_owner_check {
            next_owner_check = clock.now() + SignedDuration::from_hours(1);
            assert_eq!(
                owner_signs_in(&app, &clock, &owner, &client(), "203.0.113.20").await,
                StatusCode::OK,
                "from another address, after {judged} judged guesses"
            );
            assert_eq!(
                owner_signs_in(&app, &clock, &owner, &known_browser, attacker).await,
                StatusCode::OK,
                "from the known browser at the guesser's own address"
            );
        }
    }
    // About four guesses an hour once the waits reach 15 minutes.
    assert!(judged >= 4 * 7, "the guesser kept guessing: {judged}");
    assert!(waits >= 4 * 7, "and was slowed down: {waits}");
}

#[tokio::test]
async fn a_guesser_spread_over_many_addresses_slows_new_browsers_but_not_one_that_signed_in_before()
{
    let (app, clock, owner) = behind_a_proxy().await;
    let known_browser = client();
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &known_browser, "203.0.113.20").await,
        StatusCode::OK
    );
    // One guess from each of 28 addresses: past the account's 20 free failures an hour, and
    // its wait (128 s) outlasts the owner's move to a fresh code.
    guess(
        &app,
        &clock,
        28,
        |n| format!("192.0.2.{n}"),
        |_| OWNER_EMAIL.to_owned(),
    )
    .await;
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &client(), "198.51.100.99").await,
        StatusCode::TOO_MANY_REQUESTS,
        "over 20 failures an hour for one account from anywhere slow new browsers"
    );
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &known_browser, "198.51.100.99").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_browser_with_a_device_cookie_is_still_slowed_by_its_own_failures() {
    let (app, clock, owner) = behind_a_proxy().await;
    let known_browser = client();
    assert_eq!(
        owner_signs_in(&app, &clock, &owner, &known_browser, "203.0.113.20").await,
        StatusCode::OK
    );
    for _ in 0..4 {
        let wrong = sign_in(
            &app,
            &known_browser,
            "203.0.113.20",
            OWNER_EMAIL,
            "wrong password guess",
            "123456",
        )
        .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let code = code(&owner.secret, &clock);
    let waiting = sign_in(
        &app,
        &known_browser,
        "203.0.113.20",
        OWNER_EMAIL,
        OWNER_PASSWORD,
        &code,
    )
    .await;
    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_in_sets_a_signed_http_only_device_cookie() {
    let (app, clock, owner) = behind_a_proxy().await;
    clock.advance(SignedDuration::from_secs(30));
    let response = sign_in(
        &app,
        &client(),
        "203.0.113.20",
        OWNER_EMAIL,
        OWNER_PASSWORD,
        &code(&owner.secret, &clock),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let device = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("herald_device="))
        .expect("a device cookie")
        .to_owned();
    assert!(
        device.contains("HttpOnly")
            && device.contains("SameSite=Strict")
            && device.contains("Path=/"),
        "{device}"
    );
    assert!(!device.contains("Secure"), "not over plain HTTP");
}

contract_test!(
    failures_are_counted_within_their_window_or_until_cleared,
    |store| {
        let start = Timestamp::from_second(1_800_000_000).expect("time");
        let hour = Some(SignedDuration::from_hours(1));
        let at = |minutes: i64| start + SignedDuration::from_mins(minutes);
        let mut counts = Vec::new();
        for minutes in [0, 10, 59, 60, 61] {
            counts.push(
                store
                    .count_failure_in_window("address:192.0.2.1", at(minutes), hour)
                    .await
                    .expect("count"),
            );
        }
        assert_eq!(
            counts,
            [1, 2, 3, 1, 2],
            "a new window starts an hour after the first"
        );
        for minutes in [0, 120, 600] {
            store
                .count_failure_in_window("account-address:a@b.example 192.0.2.1", at(minutes), None)
                .await
                .expect("count");
        }
        let (failures, _) = store
            .throttle("account-address:a@b.example 192.0.2.1")
            .await
            .expect("read")
            .expect("row");
        assert_eq!(
            failures, 3,
            "without a window, failures count until cleared"
        );
    }
);
