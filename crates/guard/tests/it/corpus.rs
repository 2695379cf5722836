//! The labelled corpus (corpus/posts.jsonl): precision and recall of the default detectors
//! under corpus/policy.toml, counted per (post, rule id) pair.

use std::collections::BTreeSet;

use guard::{Policy, Scanner};

const POSTS: &str = include_str!("../../corpus/posts.jsonl");
const POLICY: &str = include_str!("../../corpus/policy.toml");

/// Thresholds set from the measured figures with a little room, not to the measurement's last
/// digit, so that a real regression fails and a harmless change does not.
const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.95;

struct Post {
    id: u64,
    text: String,
    expected: BTreeSet<String>,
}

fn posts() -> Vec<Post> {
    POSTS
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            Post {
                id: value["id"].as_u64().unwrap_or_default(),
                text: value["text"].as_str().unwrap_or_default().to_owned(),
                expected: value["expected"]
                    .as_array()
                    .map(|rules| {
                        rules
                            .iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

#[test]
fn the_corpus_has_over_two_hundred_posts_mostly_clean() {
    let posts = posts();
    let clean = posts.iter().filter(|p| p.expected.is_empty()).count();
    assert!(posts.len() >= 200, "{}", posts.len());
    assert!(clean * 2 > posts.len(), "{clean} clean of {}", posts.len());
}

#[test]
fn precision_and_recall_on_the_labelled_corpus_meet_the_thresholds() {
    let policy = Policy::from_toml(POLICY).unwrap_or_else(|e| panic!("{e}"));
    let scanner = Scanner::new(&policy).unwrap_or_else(|e| panic!("{e}"));
    let (mut true_positives, mut false_positives, mut false_negatives) = (0usize, 0usize, 0usize);
    let mut mistakes = Vec::new();
    for post in posts() {
        let found: BTreeSet<String> = scanner
            .scan(&post.text)
            .iter()
            .map(|f| f.rule.to_string())
            .collect();
        true_positives += found.intersection(&post.expected).count();
        for extra in found.difference(&post.expected) {
            false_positives += 1;
            mistakes.push(format!(
                "post {}: unexpected {extra}: {}",
                post.id, post.text
            ));
        }
        for missed in post.expected.difference(&found) {
            false_negatives += 1;
            mistakes.push(format!("post {}: missed {missed}: {}", post.id, post.text));
        }
    }
    let precision = true_positives as f64 / (true_positives + false_positives).max(1) as f64;
    let recall = true_positives as f64 / (true_positives + false_negatives).max(1) as f64;
    let report = format!(
        "precision {precision:.3}, recall {recall:.3}\n{}",
        mistakes.join("\n")
    );
    assert!(true_positives >= 70, "{report}");
    assert!(precision >= MIN_PRECISION, "{report}");
    assert!(recall >= MIN_RECALL, "{report}");
}
