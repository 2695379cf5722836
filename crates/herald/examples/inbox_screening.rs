//! Screening throughput, for `bench/inbox.py`: items per second through the inbox's screen
//! (link safety's feeds and look-alikes, the impersonation checks, the guard's detectors) on
//! one core, with a threat feed of 100,000 addresses and a realistic mix of items.
//!
//! Usage: `cargo run --release -p herald --example inbox_screening [items]`

use std::sync::Arc;
use std::time::Instant;

use herald::services::inbox::screen::Screen;
use herald::services::links::Reach;
use jiff::Timestamp;
use networks::{Incoming, IncomingKind, Sender};

#[allow(
    clippy::print_stdout,
    reason = "the figure is the example's output, read by bench/inbox.py"
)]
fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000);
    let feed: String = (0..100_000)
        .map(|n| format!("https://bad{n}.example/login\n"))
        .collect();
    let (_, list) = links::import(feed.as_bytes(), None).expect("feed");
    let domains = vec!["sunnycafe.example".to_owned()];
    let handles = vec![
        "@sunnycafe@social.example".to_owned(),
        "sunnycafe.bsky.social".to_owned(),
    ];
    let checker = links::Checker {
        lists: links::FeedLists::from_lists(vec![("bench".to_owned(), list)]),
        names: links::OwnNames::new(&domains, &handles),
    };
    let scanner = Arc::new(guard::Scanner::new(&guard::Policy::default()).expect("scanner"));
    let names = vec!["Sunny Café".to_owned(), "Sunny Cafe Bakery".to_owned()];
    let screen = Screen::new(checker, &domains, &handles, &names, scanner, None);
    let items: Vec<Incoming> = (0..count).map(item).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let now = Timestamp::from_second(1_800_000_000).expect("time");
    runtime.block_on(async {
        // Warm up (first-use tables, allocator).
        for incoming in items.iter().take(1000) {
            screen.item(incoming, now, Reach::Offline).await;
        }
        let started = Instant::now();
        let mut flagged = [0usize; 3];
        for incoming in &items {
            let screened = screen.item(incoming, now, Reach::Offline).await;
            flagged[screened.verdict as usize] += 1;
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "screened {count} items in {seconds:.3} s on one core: {:.0} items/s (safe {}, suspicious {}, dangerous {})",
            count as f64 / seconds,
            flagged[0],
            flagged[1],
            flagged[2]
        );
    });
}

/// The mix: most items are ordinary; some carry links (listed, look-alike, short, clean),
/// impostor handles or names, card numbers; lengths vary up to a few thousand characters.
fn item(n: usize) -> Incoming {
    let (handle, name) = match n % 20 {
        0 => (
            "@sunnycafe_help@evil.example".to_owned(),
            "Help desk".to_owned(),
        ),
        1 => (
            format!("@fan{n}@example.social"),
            "Sunny Café Support".to_owned(),
        ),
        2 => (format!("@fan{n}@example.social"), "Ѕunny Сafé".to_owned()),
        _ => (format!("@fan{n}@example.social"), format!("Fan number {n}")),
    };
    let text = match n % 10 {
        0 => format!(
            "Your order {n} failed, fix it at https://bad{}.example/login now",
            n % 100_000
        ),
        1 => format!("Log in at https://sunnycafe-login.example/account/{n} to claim"),
        2 => format!("Look at this https://bit.ly/x{n} and https://example.org/photos/{n}"),
        3 => "My card is 4111 1111 1111 1111, can you refund the scones?".to_owned(),
        4 => "Loved the cinnamon buns this morning! ".repeat(1 + n % 50),
        _ => format!("@sunnycafe are you open on Sunday {n}? Thanks, see you soon."),
    };
    Incoming {
        key: n.to_string(),
        kind: if n.is_multiple_of(7) {
            IncomingKind::Reply
        } else {
            IncomingKind::Mention
        },
        sender: Sender {
            id: n.to_string(),
            handle,
            display_name: name,
        },
        text,
        url: None,
        reply_to: None,
        at: Timestamp::from_second(1_800_000_000).expect("time"),
    }
}
