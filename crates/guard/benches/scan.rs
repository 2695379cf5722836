//! Throughput of the default rule set (plus the corpus policy's company details and
//! confidential terms) over the labelled corpus repeated to about 1 MB, and the latency of one
//! 3,000-character post, LinkedIn's limit and the longest a network allows.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use guard::{Policy, Scanner};

const POSTS: &str = include_str!("../corpus/posts.jsonl");
const POLICY: &str = include_str!("../corpus/policy.toml");

/// The corpus texts, taken from the JSON lines without a JSON parser (the bench has none).
fn corpus_texts() -> Vec<String> {
    POSTS
        .lines()
        .filter_map(|line| {
            let start = line.find("\"text\": \"")? + 9;
            let end = line.find("\", \"expected\"")?;
            Some(
                line.get(start..end)?
                    .replace("\\n", "\n")
                    .replace("\\\"", "\""),
            )
        })
        .collect()
}

fn scan(c: &mut Criterion) {
    let policy = Policy::from_toml(POLICY).expect("the corpus policy is valid");
    let scanner = Scanner::new(&policy).expect("the corpus policy compiles");
    let texts = corpus_texts();
    let joined = texts.join("\n\n");
    let corpus = vec![joined.as_str(); (1 << 20) / joined.len() + 1].join("\n\n");
    let clean: Vec<String> = POSTS
        .lines()
        .zip(&texts)
        .filter(|(line, _)| line.contains("\"expected\": []"))
        .map(|(_, text)| text.clone())
        .collect();
    let clean_joined = clean.join("\n\n");
    let clean_corpus = vec![clean_joined.as_str(); (1 << 20) / clean_joined.len() + 1].join("\n\n");
    let mut post = String::new();
    for text in texts.iter().cycle() {
        if post.len() + text.len() > 3000 {
            break;
        }
        post.push_str(text);
        post.push(' ');
    }

    let mut group = c.benchmark_group("guard");
    group.throughput(Throughput::Bytes(corpus.len() as u64));
    group.bench_function("scan corpus ~1 MB", |b| {
        b.iter(|| scanner.scan(black_box(&corpus)))
    });
    group.throughput(Throughput::Bytes(clean_corpus.len() as u64));
    group.bench_function("scan clean posts ~1 MB", |b| {
        b.iter(|| scanner.scan(black_box(&clean_corpus)))
    });
    group.throughput(Throughput::Bytes(post.len() as u64));
    group.bench_function("scan one 3,000-character post", |b| {
        b.iter(|| scanner.scan(black_box(&post)))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("build the scanner", |b| {
        b.iter(|| Scanner::new(black_box(&policy)))
    });
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
