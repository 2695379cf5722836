//! Scans the labelled corpus and prints one JSON object: the rule ids found per post and the
//! scanner's throughput over the corpus repeated to about 8 MB. Used by
//! bench/guard/presidio_compare.py; run with `--release` for meaningful figures.
//!
//! `cargo run --release -p herald-guard --example scan_corpus -- [posts.jsonl] [policy.toml]`

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use guard::{Policy, Scanner};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let corpus_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus");
    let posts_path = args
        .next()
        .unwrap_or_else(|| format!("{corpus_dir}/posts.jsonl"));
    let policy_path = args
        .next()
        .unwrap_or_else(|| format!("{corpus_dir}/policy.toml"));
    let policy = Policy::from_toml(&std::fs::read_to_string(policy_path)?)?;
    let scanner = Scanner::new(&policy)?;

    let mut texts = Vec::new();
    let mut results = Vec::new();
    for line in std::fs::read_to_string(posts_path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let post: serde_json::Value = serde_json::from_str(line)?;
        let text = post["text"].as_str().unwrap_or_default().to_owned();
        let findings = scanner.scan(&text);
        results.push(serde_json::json!({
            "id": post["id"],
            "rules": findings.iter().map(|f| f.rule.to_string()).collect::<Vec<_>>(),
            "findings": findings,
        }));
        texts.push(text);
    }

    // Throughput: the posts joined by blank lines, repeated to about 8 MB, scanned whole. The
    // best round is the steadier figure on a machine shared with other work.
    let joined = texts.join("\n\n");
    let repeats = (8 * 1024 * 1024 / joined.len().max(1)).max(1);
    let big = vec![joined.as_str(); repeats].join("\n\n");
    let started = Instant::now();
    let mut rounds = 0u32;
    let mut found = 0usize;
    let mut best_round = f64::MAX;
    while rounds < 3 || started.elapsed().as_secs_f64() < 2.0 {
        let round = Instant::now();
        found += scanner.scan(&big).len();
        best_round = best_round.min(round.elapsed().as_secs_f64());
        rounds += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let megabytes = big.len() as f64 * f64::from(rounds) / 1e6;
    let best_mb_s = big.len() as f64 / 1e6 / best_round;
    eprintln!(
        "scanned {megabytes:.1} MB in {seconds:.2} s ({found} findings); best round {best_mb_s:.1} MB/s"
    );
    let report = serde_json::json!({
        "tool": "herald-guard",
        "throughput_mb_s": megabytes / seconds,
        "best_round_mb_s": best_mb_s,
        "bytes": big.len(),
        "posts": results,
    });
    println!("{report}");
    Ok(())
}
