#!/usr/bin/env python3
"""Link safety figures: a threat feed of 5,000,000 URLs (OpenPhish format, one URL a line)
imported the way `herald feeds import` does it, its peak and loaded resident memory, and the
offline verdict latency of a draft with ten links (found in the text, canonicalised, looked up
in the feed, compared with the organisation's names; no network expansion).

Usage: bench/links.py [URLS]   (default 5000000; builds the example in release mode)
The feed is generated in a temporary directory; nothing leaves this machine.
"""
import os, random, subprocess, sys, tempfile, time

URLS = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write_feed(path, count):
    random.seed(18)
    words = ["login", "secure", "account", "verify", "update", "invoice", "wallet", "bank",
             "paypal", "office", "docs", "drive", "share", "auth", "signin", "billing"]
    tlds = ["com", "net", "org", "info", "xyz", "top", "ru", "cn", "io", "co.uk"]
    with open(path, "w") as out:
        for n in range(count):
            host = f"{random.choice(words)}-{n:x}.{random.choice(words)}.{random.choice(tlds)}"
            path_part = f"/path/{n}/{random.choice(words)}.php"
            query = f"?id={n}" if n % 3 == 0 else ""
            out.write(f"https://{host}{path_part}{query}\n")
        # The two entries the benchmark's draft links to, spelled differently there.
        out.write("http://host4711.example/path/4711/login.php\n")
        out.write("http://host9999.example/path/9999/login.php?id=1\n")


def main():
    subprocess.run(["cargo", "build", "-j", "1", "--release", "-p", "herald-links",
                    "--example", "bench"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "examples", "bench")
    with tempfile.TemporaryDirectory() as work:
        feed = os.path.join(work, "openphish.txt")
        started = time.perf_counter()
        write_feed(feed, URLS)
        print(f"generated {URLS + 2} URLs ({os.path.getsize(feed) / 1e6:.0f} MB) "
              f"in {time.perf_counter() - started:.1f} s")
        load = os.getloadavg()
        result = subprocess.run([binary, feed], capture_output=True, text=True, check=True)
        print(result.stdout, end="")
        print(f"load_average_before: {load[0]:.2f} (cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
