#!/usr/bin/env python3
"""Compares herald-guard with Microsoft Presidio's analyzer on the labelled corpus.

Both tools run on crates/guard/corpus/posts.jsonl. Only entity types both can report are
compared (EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE, US_SSN, UK_NINO, and Presidio's
IP_ADDRESS against our link.ip_address, which is narrower: we flag links to raw IPs, Presidio
any IP). Counting is per (post, entity type), like crates/guard/tests/it/corpus.rs.

Presidio runs offline with regex recognizers only: the `no_op` NLP engine (the default spaCy
engine would download a model) and tldextract without its suffix-list download.

    python3 -m venv /tmp/presidio-venv && /tmp/presidio-venv/bin/pip install presidio-analyzer
    /tmp/presidio-venv/bin/python bench/guard/presidio_compare.py

Our side comes from `cargo run --release -p herald-guard --example scan_corpus`, which uses the
corpus policy (the businesses' own contact details are allowed, which Presidio cannot know).
"""

import argparse
import json
import pathlib
import subprocess
import time
import warnings

import tldextract

# Presidio's email recognizer calls tldextract.extract, whose default extractor fetches the
# public suffix list over the network; this one uses the snapshot shipped with tldextract.
tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())

from presidio_analyzer import AnalyzerEngine  # noqa: E402  (after the patch on purpose)
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "crates/guard/corpus/posts.jsonl"

PRESIDIO_TO_OURS = {
    "EMAIL_ADDRESS": "pii.email",
    "PHONE_NUMBER": "pii.phone",
    "CREDIT_CARD": "pii.card",
    "IBAN_CODE": "pii.iban",
    "US_SSN": "pii.us_ssn",
    "UK_NINO": "pii.uk_nino",
    "IP_ADDRESS": "link.ip_address",
}
COMPARABLE = set(PRESIDIO_TO_OURS.values())


def load_posts():
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def presidio_engine():
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "no_op",
            "models": [{"lang_code": "en", "model_name": "no_op"}],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    # Presidio ships a UK NINO recognizer but leaves it disabled by default; enable it so the
    # comparison is fair.
    from presidio_analyzer.predefined_recognizers import UkNinoRecognizer

    engine.registry.add_recognizer(UkNinoRecognizer())
    return engine


def run_presidio(posts, threshold, min_seconds):
    engine = presidio_engine()
    entities = list(PRESIDIO_TO_OURS)
    found = {}
    for post in posts:
        results = engine.analyze(
            text=post["text"], language="en", entities=entities, score_threshold=threshold
        )
        found[post["id"]] = {PRESIDIO_TO_OURS[r.entity_type] for r in results}
    total_bytes = sum(len(p["text"].encode("utf-8")) for p in posts)
    rounds, started = 0, time.perf_counter()
    while rounds < 1 or time.perf_counter() - started < min_seconds:
        for post in posts:
            engine.analyze(text=post["text"], language="en", entities=entities, score_threshold=threshold)
        rounds += 1
    seconds = time.perf_counter() - started
    return found, total_bytes * rounds / seconds / 1e6


def run_ours(ours_json):
    if ours_json:
        report = json.loads(pathlib.Path(ours_json).read_text())
    else:
        output = subprocess.run(
            ["cargo", "run", "--release", "-q", "-p", "herald-guard", "--example", "scan_corpus"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )
        report = json.loads(output.stdout)
    found = {p["id"]: set(p["rules"]) for p in report["posts"]}
    return found, report["throughput_mb_s"]


def score(posts, found):
    tp = fp = fn = 0
    per_rule = {}
    for post in posts:
        expected = set(post["expected"]) & COMPARABLE
        got = found.get(post["id"], set()) & COMPARABLE
        for rule in COMPARABLE:
            row = per_rule.setdefault(rule, [0, 0, 0])
            row[0] += rule in expected and rule in got
            row[1] += rule in got and rule not in expected
            row[2] += rule in expected and rule not in got
        tp += len(expected & got)
        fp += len(got - expected)
        fn += len(expected - got)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (tp, fp, fn), per_rule


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours-json", help="output of the scan_corpus example, instead of running cargo")
    parser.add_argument("--seconds", type=float, default=5.0, help="minimum time for Presidio's throughput run")
    args = parser.parse_args()

    posts = load_posts()
    ours, ours_mb_s = run_ours(args.ours_json)
    rows = [("herald-guard", ours, ours_mb_s)]
    for threshold in (0.0, 0.5):
        found, mb_s = run_presidio(posts, threshold, args.seconds)
        rows.append((f"presidio (score >= {threshold})", found, mb_s))

    print(f"{len(posts)} posts; comparable rules: {', '.join(sorted(COMPARABLE))}\n")
    print(f"{'tool':<26} {'precision':>9} {'recall':>7} {'tp/fp/fn':>10} {'MB/s':>9}")
    for name, found, mb_s in rows:
        precision, recall, (tp, fp, fn), _ = score(posts, found)
        print(f"{name:<26} {precision:>9.3f} {recall:>7.3f} {f'{tp}/{fp}/{fn}':>10} {mb_s:>9.2f}")
    print("\nper rule (tp/fp/fn):")
    for rule in sorted(COMPARABLE):
        cells = []
        for name, found, _ in rows:
            _, _, _, per_rule = score(posts, found)
            tp, fp, fn = per_rule[rule]
            cells.append(f"{name.split(' ')[0]} {tp}/{fp}/{fn}")
        print(f"  {rule:<18} " + "   ".join(cells))


if __name__ == "__main__":
    main()
