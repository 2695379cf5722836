//! Bulk import and schedule export through the API and the import page, the way a user would:
//! a CSV previewed row by row, imported only when clean (or only its valid rows), each row a
//! post through the normal workflow; and one account's schedule as CSV (which imports again)
//! and as an iCalendar feed. The clock starts on 2027-01-15 08:00 UTC; London's clocks go
//! forward on 2027-03-28.

use herald::domain::ids::AccountId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::people::{Person, app, invite_and_join, set_up};
use crate::posts::grant;

/// An X account `@sunnycafe` kept by `gatekeeper`, in London's time zone.
async fn london_account(app: &TestApp, owner: &Person, gatekeeper: &Person) -> AccountId {
    let id = crate::accounts::new_account(app, owner, "@sunnycafe", gatekeeper.id).await;
    let queue = gatekeeper
        .send(
            app,
            Method::PUT,
            &format!("/api/v1/accounts/{id}/queue"),
            Some(json!({ "time_zone": "Europe/London", "slots": [] })),
        )
        .await;
    assert_eq!(queue.status(), StatusCode::OK, "{:?}", queue.text().await);
    id
}

async fn preview(app: &TestApp, person: &Person, csv: &str) -> Value {
    let response = person
        .post(app, "/api/v1/import/preview", json!({ "csv": csv }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

async fn import(app: &TestApp, person: &Person, csv: &str, only_valid: bool) -> reqwest::Response {
    person
        .post(
            app,
            "/api/v1/import",
            json!({ "csv": csv, "only_valid": only_valid }),
        )
        .await
}

/// (row, column) of every problem in a preview, the file's first.
fn problems(preview: &Value) -> Vec<(Option<i64>, String)> {
    let file = preview["file_problems"].as_array().expect("file problems");
    let rows = preview["rows"].as_array().expect("rows");
    file.iter()
        .chain(rows.iter().flat_map(|row| {
            row["problems"]
                .as_array()
                .expect("problems")
                .iter()
                .collect::<Vec<_>>()
        }))
        .map(|problem| {
            (
                problem["row"].as_i64(),
                problem["column"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

async fn posts_of(app: &TestApp, person: &Person) -> Vec<herald::store::PostRecord> {
    app.store.posts_by(person.id, 100).await.expect("posts")
}

async fn imported_audits(app: &TestApp) -> Vec<Value> {
    app.store
        .audit_entries(&herald::store::AuditFilter {
            action_prefix: Some("posts.imported".to_owned()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .map(|entry| serde_json::from_str(&entry.details).expect("details"))
        .collect()
}

const CLEAN: &str = "\u{feff}account ; Time;date;message;link\r\n\
    @sunnycafe;09:00;2027-03-27;Saturday brunch: pancakes, as ever;\r\n \
    sunnycafe ; 9:00 ;2027-03-29;\"Monday soup; leek and potato\";https://sunnycafe.example/soup\r\n";

#[tokio::test]
async fn a_clean_file_previews_clean_and_imports_at_the_right_utc_times_across_a_dst_change() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = london_account(&app, &owner, &owner).await;

    let seen = preview(&app, &owner, CLEAN).await;
    assert_eq!(seen["clean"], true, "{seen}");
    assert_eq!(seen["separator"], ";");
    assert_eq!(seen["valid_rows"], 2);
    assert_eq!(seen["rows"][0]["row"], 2);
    assert_eq!(seen["rows"][0]["account_id"], account.get());
    assert_eq!(
        seen["rows"][0]["at"], "2027-03-27T09:00:00Z",
        "GMT before the change"
    );
    assert_eq!(
        seen["rows"][1]["at"], "2027-03-29T08:00:00Z",
        "BST after it"
    );
    assert_eq!(
        seen["rows"][1]["text"],
        "Monday soup; leek and potato https://sunnycafe.example/soup"
    );
    assert!(
        posts_of(&app, &owner).await.is_empty(),
        "a preview saves nothing"
    );

    let response = import(&app, &owner, CLEAN, false).await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: Value = response.json().await.expect("JSON");
    let imported = done["imported"].as_array().expect("imported");
    assert_eq!(imported.len(), 2);
    for (entry, at) in imported
        .iter()
        .zip(["2027-03-27T09:00:00Z", "2027-03-29T08:00:00Z"])
    {
        assert_eq!(
            entry["post"]["state"], "scheduled",
            "a publisher's rows are scheduled"
        );
        assert_eq!(entry["post"]["scheduled_at"], at);
        assert_eq!(entry["post"]["author_id"], owner.id.get());
    }
    let id = imported[1]["post"]["id"].as_i64().expect("id");
    let post: Value = owner.get_json(&app, &format!("/api/v1/posts/{id}")).await;
    assert_eq!(post["scheduled_at"], "2027-03-29T08:00:00Z");
    assert_eq!(posts_of(&app, &owner).await.len(), 2);
    let audits = imported_audits(&app).await;
    assert_eq!(audits.len(), 1, "one audit entry for the import");
    assert_eq!(audits[0]["imported"], 2);
    assert_eq!(audits[0]["skipped"], 0);
    assert_eq!(audits[0]["accounts"], json!([account]));
    let posts: Vec<(i64, i64)> = imported
        .iter()
        .map(|entry| {
            (
                entry["row"].as_i64().expect("row"),
                entry["post"]["id"].as_i64().expect("id"),
            )
        })
        .collect();
    let audited: Vec<(i64, i64)> = audits[0]["posts"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|entry| {
            (
                entry["row"].as_i64().expect("row"),
                entry["post"].as_i64().expect("id"),
            )
        })
        .collect();
    assert_eq!(audited, posts, "the audit names each imported row's post");
}

#[tokio::test]
async fn a_file_with_problems_lists_each_with_its_row_and_column_and_imports_nothing() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    london_account(&app, &owner, &owner).await;
    let key = "AKIAIOSFODNN7EXAMPLE";
    let long = "Soup ".repeat(60);
    let csv = format!(
        "date,time,message,link,account\n\
         2027-02-01,09:00,Fine row,,@sunnycafe\n\
         2027-02-01,09:00,Nobody's account,,@elsewhere\n\
         01/02/2027,09:00,Day and month swapped,,@sunnycafe\n\
         2027-02-01,25:00,No such hour,,@sunnycafe\n\
         2027-01-14,09:00,Yesterday,,@sunnycafe\n\
         2027-02-01,10:00,{long},,@sunnycafe\n\
         2027-02-01,11:00,,,@sunnycafe\n\
         2027-02-01,12:00,Our key: {key},,@sunnycafe\n\
         2027-02-01,09:00,Fine row,,@sunnycafe\n\
         2027-02-01,13:00,Menu,menu.example,@sunnycafe\n"
    );
    let seen = preview(&app, &owner, &csv).await;
    assert_eq!(seen["clean"], false);
    assert_eq!(seen["valid_rows"], 1);
    let expected: Vec<(Option<i64>, String)> = [
        (3, "account"),
        (4, "date"),
        (5, "time"),
        (6, "date"),
        (7, "message"),
        (8, "message"),
        (9, "message"),
        (10, "message"),
        (11, "link"),
    ]
    .into_iter()
    .map(|(row, column)| (Some(row), column.to_owned()))
    .collect();
    assert_eq!(problems(&seen), expected, "{seen}");
    let message = |row: usize| {
        seen["rows"][row]["problems"][0]["message"]
            .as_str()
            .expect("message")
            .to_owned()
    };
    assert_eq!(message(1), "no account @elsewhere that you can write for");
    assert!(message(4).contains("in the past"), "{}", message(4));
    assert!(message(5).contains("X allows 280"), "{}", message(5));
    assert!(message(7).contains("secret.aws_key"), "{}", message(7));
    assert!(
        message(8).contains("the same post as row 2"),
        "{}",
        message(8)
    );
    assert!(
        !seen.to_string().contains(&key[4..]),
        "the secret itself is never shown"
    );

    let refused = import(&app, &owner, &csv, false).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.expect("JSON");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with(
            "nothing was imported: 9 rows have problems (row 3, account: no account @elsewhere"
        ),
        "{detail}"
    );
    assert!(posts_of(&app, &owner).await.is_empty(), "nothing is saved");
    assert!(imported_audits(&app).await.is_empty());
}

#[tokio::test]
async fn unknown_and_missing_columns_are_named_for_the_whole_file() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    london_account(&app, &owner, &owner).await;
    let seen = preview(
        &app,
        &owner,
        "date,hour,message,account\n2027-02-01,09:00,Hi,@sunnycafe\n",
    )
    .await;
    assert_eq!(
        problems(&seen),
        [(None, "hour".to_owned()), (None, "time".to_owned())]
    );
    assert!(
        seen["file_problems"][0]["message"]
            .as_str()
            .expect("message")
            .contains("unknown column \"hour\"")
    );
    let refused = import(
        &app,
        &owner,
        "date,hour,message,account\n2027-02-01,09:00,Hi,@sunnycafe\n",
        true,
    )
    .await;
    assert_eq!(
        refused.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a broken header stops even an import of only the valid rows"
    );
    assert!(posts_of(&app, &owner).await.is_empty());
}

#[tokio::test]
async fn only_valid_imports_the_valid_rows_and_reports_the_skipped_ones() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    london_account(&app, &owner, &owner).await;
    let csv = "date,time,message,account\n\
               2027-02-01,09:00,First,@sunnycafe\n\
               2027-02-01,09:00,Second,@nobody\n\
               2027-02-02,09:00,Third,@sunnycafe\n";
    let response = import(&app, &owner, csv, true).await;
    assert_eq!(response.status(), StatusCode::OK);
    let done: Value = response.json().await.expect("JSON");
    let rows: Vec<i64> = done["imported"]
        .as_array()
        .expect("imported")
        .iter()
        .map(|entry| entry["row"].as_i64().expect("row"))
        .collect();
    assert_eq!(rows, [2, 4]);
    assert_eq!(done["skipped"][0]["row"], 3);
    assert_eq!(done["skipped"][0]["problems"][0]["column"], "account");
    let texts: Vec<String> = posts_of(&app, &owner)
        .await
        .into_iter()
        .map(|post| post.text)
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.contains(&"First".to_owned()) && texts.contains(&"Third".to_owned()));
    let audits = imported_audits(&app).await;
    assert_eq!(
        (
            audits[0]["imported"].as_i64(),
            audits[0]["skipped"].as_i64()
        ),
        (Some(2), Some(1))
    );
}

#[tokio::test]
async fn a_contributors_imported_rows_wait_for_approval_at_their_wished_time() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let keeper = invite_and_join(&app, &clock, &owner, "keeper@sunny.example", "member").await;
    let writer = invite_and_join(&app, &clock, &owner, "writer@sunny.example", "member").await;
    let account = london_account(&app, &owner, &keeper).await;
    grant(&app, &keeper, account, &writer, "contributor").await;
    let csv = format!("date,time,message,account\n2027-07-01,09:30,Summer menu,{account}\n");

    let seen = preview(&app, &writer, &csv).await;
    assert_eq!(seen["clean"], true, "{seen}");
    assert!(
        seen["rows"][0]["notes"][0]
            .as_str()
            .expect("note")
            .contains("waits for approval")
    );
    let done: Value = import(&app, &writer, &csv, false)
        .await
        .json()
        .await
        .expect("JSON");
    let post = &done["imported"][0]["post"];
    assert_eq!(post["state"], "submitted");
    assert_eq!(
        post["scheduled_at"], "2027-07-01T08:30:00Z",
        "kept as its wish"
    );
    let id = post["id"].as_i64().expect("id");
    let approved: Value = crate::posts::act(&app, &keeper, id, "approve", json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(approved["state"], "scheduled");
    assert_eq!(approved["scheduled_at"], "2027-07-01T08:30:00Z");
}

#[tokio::test]
async fn a_caller_without_access_can_neither_import_into_an_account_nor_export_it() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let viewer = invite_and_join(&app, &clock, &owner, "viewer@sunny.example", "member").await;
    let outsider = invite_and_join(&app, &clock, &owner, "out@sunny.example", "member").await;
    let account = london_account(&app, &owner, &owner).await;
    grant(&app, &owner, account, &viewer, "viewer").await;

    for (person, named) in [
        (&outsider, "@sunnycafe".to_owned()),
        (&outsider, account.to_string()),
        (&viewer, "@sunnycafe".to_owned()),
        (&owner, "999999".to_owned()),
    ] {
        let csv = format!("date,time,message,account\n2027-02-01,09:00,Hello,{named}\n");
        let seen = preview(&app, person, &csv).await;
        assert_eq!(
            seen["rows"][0]["problems"][0]["message"],
            format!("no account {named} that you can write for"),
            "unseen, read-only and missing accounts read alike"
        );
        assert_eq!(seen["rows"][0]["account_id"], Value::Null);
        let refused = import(&app, person, &csv, true).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert!(posts_of(&app, &outsider).await.is_empty());
    assert!(posts_of(&app, &viewer).await.is_empty());

    for format in ["csv", "ics"] {
        let path = format!("/api/v1/accounts/{account}/schedule.{format}");
        let hidden = outsider.get(&app, &path).await;
        assert_eq!(hidden.status(), StatusCode::NOT_FOUND, "{path}");
        let missing = owner
            .get(&app, "/api/v1/accounts/999999/schedule.csv")
            .await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let seen = viewer.get(&app, &path).await;
        assert_eq!(seen.status(), StatusCode::OK, "viewers may export: {path}");
    }
}

#[tokio::test]
async fn an_exported_csv_imports_again() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = london_account(&app, &owner, &owner).await;
    let csv = "date,time,message,link,account\n\
               2027-03-27,09:00,\"Brunch, pancakes\nand \"\"proper\"\" coffee\",,@sunnycafe\n\
               2027-03-29,09:00,-20% on soup today,https://sunnycafe.example,@sunnycafe\n";
    assert_eq!(
        import(&app, &owner, csv, false).await.status(),
        StatusCode::OK
    );

    let response = owner
        .get(&app, &format!("/api/v1/accounts/{account}/schedule.csv"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"herald-sunnycafe-schedule.csv\""
    );
    let exported = response.text().await.expect("text");
    let lines: Vec<&str> = exported.split("\r\n").collect();
    assert_eq!(lines[0], "date,time,message,link,account,state,post_id");
    assert!(
        exported.contains(
            "2027-03-29,09:00,'-20% on soup today https://sunnycafe.example,,@sunnycafe,scheduled,"
        ),
        "local times, and a formula-like message guarded: {exported}"
    );

    let seen = preview(&app, &owner, &exported).await;
    assert_eq!(seen["clean"], true, "{seen}");
    assert_eq!(
        seen["rows"][0]["text"],
        "Brunch, pancakes\nand \"proper\" coffee"
    );
    assert_eq!(
        seen["rows"][1]["text"],
        "-20% on soup today https://sunnycafe.example"
    );
    assert_eq!(seen["rows"][1]["at"], "2027-03-29T08:00:00Z");
    let again = import(&app, &owner, &exported, false).await;
    assert_eq!(again.status(), StatusCode::OK);
    let texts: Vec<String> = posts_of(&app, &owner)
        .await
        .into_iter()
        .map(|post| post.text)
        .collect();
    assert_eq!(texts.len(), 4);
    assert_eq!(
        texts.iter().filter(|text| text.starts_with("-20%")).count(),
        2,
        "the same text, twice"
    );
}

/// Undoes iCalendar line folding (RFC 5545 §3.1).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for physical in text.split("\r\n").filter(|line| !line.is_empty()) {
        match physical.strip_prefix(' ') {
            Some(rest) => lines.last_mut().expect("a line to continue").push_str(rest),
            None => lines.push(physical.to_owned()),
        }
    }
    lines
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

#[tokio::test]
async fn the_icalendar_feed_parses_back_with_short_lines_and_every_text_intact() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    let account = london_account(&app, &owner, &owner).await;
    let text =
        "Crème brûlée ☕ and pancakes 🥞, all weekend; ask for C:\\menu\nsee you soon! ".repeat(3);
    let text = text.trim();
    let csv = format!(
        "date,time,message,account\n2027-03-29,09:00,\"{}\",@sunnycafe\n2027-02-01,12:00,Short one,@sunnycafe\n",
        text.replace('"', "\"\"")
    );
    let done: Value = import(&app, &owner, &csv, false)
        .await
        .json()
        .await
        .expect("JSON");
    let long_id = done["imported"][0]["post"]["id"].as_i64().expect("id");

    let token: Value = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "calendar", "scopes": ["accounts:read"], "expires_in_days": 30 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let path = format!("/api/v1/accounts/{account}/schedule.ics");
    let response = crate::people::client()
        .get(app.url(&path))
        .bearer_auth(token["secret"].as_str().expect("secret"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a calendar app with a token"
    );
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"herald-sunnycafe-schedule.ics\""
    );
    let feed = response.text().await.expect("text");
    assert!(feed.ends_with("\r\n"));
    assert!(
        !feed.replace("\r\n", "").contains('\n'),
        "CRLF line ends only"
    );
    for physical in feed.split("\r\n") {
        assert!(
            physical.len() <= 75,
            "{} octets: {physical:?}",
            physical.len()
        );
    }
    let lines = unfold(&feed);
    assert_eq!(lines[0], "BEGIN:VCALENDAR");
    assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
    assert!(lines.contains(&"VERSION:2.0".to_owned()));
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("PRODID:-//Herald//"))
    );
    let events: Vec<&[String]> = lines.split(|line| line == "BEGIN:VEVENT").skip(1).collect();
    assert_eq!(events.len(), 2, "one event per scheduled post");
    let property = |event: &[String], name: &str| {
        event
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .map(str::to_owned)
    };
    // Events come oldest first: the short one (1 February), then the long one.
    let long = events[1];
    assert_eq!(
        property(long, "UID"),
        Some(format!("post-{long_id}@herald"))
    );
    assert_eq!(
        property(long, "DTSTART").as_deref(),
        Some("20270329T080000Z")
    );
    assert_eq!(
        property(events[0], "DTSTART").as_deref(),
        Some("20270201T120000Z")
    );
    assert_eq!(property(long, "STATUS").as_deref(), Some("CONFIRMED"));
    assert!(property(long, "DURATION").is_some());
    assert!(property(long, "DTSTAMP").is_some_and(|stamp| stamp.ends_with('Z')));
    let description = property(long, "DESCRIPTION").expect("description");
    assert_eq!(
        unescape(&description),
        text,
        "the text survives escaping and folding"
    );
    let summary = unescape(&property(long, "SUMMARY").expect("summary"));
    assert!(summary.starts_with("Crème brûlée ☕ and pancakes 🥞, all weekend;"));
    assert!(!summary.contains('\n'));

    let without_scope: Value = owner
        .post(
            &app,
            "/api/v1/tokens",
            json!({ "name": "posts", "scopes": ["posts:write"], "expires_in_days": 30 }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let refused = crate::people::client()
        .get(app.url(&path))
        .bearer_auth(without_scope["secret"].as_str().expect("secret"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "a token needs accounts:read"
    );
}

/// A `multipart/form-data` body as a browser sends it for the import form.
fn multipart(csrf: &str, intent: &str, file: &str) -> (String, Vec<u8>) {
    let boundary = "----heraldtestboundary7MA4YWxkTrZu0gW";
    let mut body = String::new();
    for (name, value) in [("csrf", csrf), ("intent", intent), ("csv", "")] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plan.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    ));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[tokio::test]
async fn the_import_page_previews_an_uploaded_file_then_imports_only_the_valid_rows() {
    let (app, clock) = app().await;
    let owner = set_up(&app, &clock).await;
    london_account(&app, &owner, &owner).await;
    let page = owner.get(&app, "/import").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("enctype=\"multipart/form-data\""));
    assert!(
        html.contains("<a href=\"/posts\" aria-current=\"page\">Posts</a>"),
        "the import page is marked as part of Posts in the menu"
    );

    let file = "date,time,message,account\n2027-02-01,09:00,Soup & bread <b>today</b>,@sunnycafe\n2027-02-01,25:00,Bad hour,@sunnycafe\n";
    let (content_type, body) = multipart(&owner.csrf, "preview", file);
    let previewed = owner
        .client
        .post(app.url("/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(previewed.status(), StatusCode::OK);
    let html = previewed.text().await.expect("html");
    assert!(
        html.contains("id=\"row-3\" class=\"row-invalid\""),
        "{html}"
    );
    assert!(
        html.contains("<strong>time:</strong> &#34;25:00&#34; is not a time of day"),
        "the problem beside its row: {html}"
    );
    assert!(
        html.contains("Soup &#38; bread &#60;b&#62;today&#60;/b&#62;"),
        "escaped: {html}"
    );
    assert!(html.contains("Import the 1 valid row<") && !html.contains("id=\"import-all\""));
    assert!(
        posts_of(&app, &owner).await.is_empty(),
        "a preview saves nothing"
    );

    let (content_type, body) = multipart("not-the-token", "valid", file);
    let forged = owner
        .client
        .post(app.url("/import"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "the CSRF token is checked"
    );

    let imported = owner
        .client
        .post(app.url("/import"))
        .form(&[
            ("csrf", owner.csrf.as_str()),
            ("intent", "valid"),
            ("csv", file),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(imported.status(), StatusCode::OK);
    let html = imported.text().await.expect("html");
    assert!(html.contains("1 post imported"), "{html}");
    assert!(html.contains("Skipped for their problems: row 3."));
    let posts = posts_of(&app, &owner).await;
    assert_eq!(posts.len(), 1);
    assert!(html.contains(&format!("href=\"/posts/{}\"", posts[0].id)));
}
