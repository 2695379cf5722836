#!/usr/bin/env python3
"""`herald scan` end to end on large files: the labelled corpus repeated into one file of about
0.3, 1.2, 2.5 and 6.2 MB, scanned with the corpus policy, timed as a user runs it (process start,
reading the file, scanning, locating every finding, printing the report to a pipe).

The figure to compare is the library's throughput over the same corpus:
`cargo bench -p herald-guard --bench scan -- throughput` (goal: the command within 2x of it).

Usage: bench/scan_command.py [path/to/herald]   (build first: cargo build --release -p herald)
"""
import json, os, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "crates", "guard", "corpus")
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"
SIZES_MB = [0.3, 1.2, 2.5, 6.2]
RUNS = 3


def corpus_text():
    with open(os.path.join(CORPUS, "posts.jsonl"), encoding="utf-8") as lines:
        return "\n\n".join(json.loads(line)["text"] for line in lines if line.strip())


def main():
    unit = corpus_text() + "\n\n"
    policy = os.path.join(CORPUS, "policy.toml")
    print(f"{'size':>8} {'findings':>9} {'best time':>10} {'MB/s':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES_MB:
            target = int(size * 1_000_000)
            text = unit * (target // len(unit.encode()) + 1)
            data = text.encode()[:target].decode("utf-8", "ignore")
            path = os.path.join(folder, f"posts-{size}.txt")
            with open(path, "w", encoding="utf-8") as out:
                out.write(data)
            best, findings = None, 0
            for _ in range(RUNS):
                started = time.perf_counter()
                done = subprocess.run([HERALD, "scan", "--policy", policy, path],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
                elapsed = time.perf_counter() - started
                if done.returncode not in (0, 1):
                    sys.exit(f"herald scan failed: {done.stderr.decode()}")
                findings = done.stdout.count(b"\n")
                best = elapsed if best is None else min(best, elapsed)
            megabytes = len(data.encode()) / 1_000_000
            print(f"{megabytes:>6.1f}MB {findings:>9} {best:>9.2f}s {megabytes / best:>8.1f}")


if __name__ == "__main__":
    main()
