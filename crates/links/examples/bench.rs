//! Link safety's figures for `bench/links.py`: imports a feed file as `herald feeds import`
//! does (read whole, hashed, sorted, written atomically), reads the list back as the server
//! does, and times the offline verdict of a draft with ten links (links found in the text,
//! canonicalised, looked up in the feeds, compared with the organisation's names).
//!
//! Usage: cargo run --release -p herald-links --example bench -- FEED [ROUNDS]
//! Prints one `name: value` line per figure.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use links::{Canonical, Checker, FeedLists, OwnNames};

/// A draft with ten links: two in the feed (written differently from the entry), one
/// look-alike, seven clean.
const DRAFT: &str = "Autumn menu at https://www.sunnycafe.example/menu and our shop \
    https://shop.sunnycafe.example/gift-cards?utm=x. Friends: https://bakery.example/bread, \
    http://Farm.Example:80/eggs/../milk, https://news.example/2026/12/05/article.html#top, \
    https://maps.example/?q=harbour+lane, https://tickets.example/e/123456. Careful: \
    HTTP://HOST4711.EXAMPLE/path/4711/./login.php and http://host9999.example/path/9999/login.php?id=1 \
    are on the list, and https://sunnycafe-orders.example/pay is not ours.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let feed = args.next().ok_or("give a feed file")?;
    let rounds: usize = args.next().map_or(Ok(20_000), |n| n.parse())?;
    let folder = tempfile::tempdir()?;

    let started = Instant::now();
    let (format, list) = links::import(std::fs::File::open(&feed)?, None)?;
    let path = links::lists::list_path(folder.path(), "bench");
    list.write_atomically(&path)?;
    let imported = started.elapsed();
    println!("format: {}", format.as_str());
    println!("entries: {}", list.len());
    println!("import_seconds: {:.2}", imported.as_secs_f64());
    println!("import_peak_rss_mb: {:.1}", status_mb("VmHWM"));
    println!(
        "list_file_mb: {:.1}",
        std::fs::metadata(&path)?.len() as f64 / 1e6
    );
    drop(list);

    let started = Instant::now();
    let checker = Checker {
        lists: FeedLists::load(folder.path())?,
        names: OwnNames::new(
            &["sunnycafe.example".to_owned()],
            &["@sunnycafe".to_owned()],
        ),
    };
    println!("load_seconds: {:.3}", started.elapsed().as_secs_f64());
    println!("loaded_rss_mb: {:.1}", status_mb("VmRSS"));

    let verdict = || {
        let mut flagged = 0;
        let found = guard::extract_links(DRAFT);
        for link in &found {
            if let Ok(url) = Canonical::parse(&link.url)
                && checker.check(&url).is_some()
            {
                flagged += 1;
            }
        }
        (found.len(), flagged)
    };
    let (count, flagged) = verdict();
    println!("draft_links: {count}");
    println!("draft_flagged: {flagged}");
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let began = Instant::now();
        std::hint::black_box(verdict());
        times.push(began.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    println!("verdict_p50_us: {:.1}", at(0.50).as_secs_f64() * 1e6);
    println!("verdict_p99_us: {:.1}", at(0.99).as_secs_f64() * 1e6);
    println!("verdict_max_us: {:.1}", at(1.0).as_secs_f64() * 1e6);
    Ok(())
}

/// A memory figure of this process from /proc/self/status, in MB (0 where there is none).
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let kb = line.strip_prefix(field)?.trim_start_matches(':').trim();
                kb.trim_end_matches(" kB").trim().parse::<f64>().ok()
            })
        })
        .map_or(0.0, |kb| kb * 1024.0 / 1e6)
}
