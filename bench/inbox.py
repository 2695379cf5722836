#!/usr/bin/env python3
"""Inbox figures: screening throughput, and the inbox with 100,000 items.

1. Runs the `inbox_screening` example (release): items per second through the inbox's screen
   (threat feed of 100,000 addresses, look-alikes, impersonation, the guard's detectors) on
   one core, offline as the read job screens.
2. Starts a release `herald serve` on loopback in a fresh data directory, sets it up, adds
   ACCOUNTS accounts, writes ITEMS inbox items straight into its SQLite database (a realistic
   mix of kinds, verdicts, states and assignees, as the read job would have saved them), then
   times SAMPLES sequential requests of the inbox page (first page, filtered, a deep page),
   one item's page, GET /api/v1/inbox and the summary the menu polls. Prints p50 and p99.

Usage: bench/inbox.py [path/to/herald] [path/to/inbox_screening]
Only the Python standard library is used; traffic goes to 127.0.0.1 only.
"""
import json, os, sqlite3, statistics, subprocess, sys, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import herald_with_owner  # noqa: E402

ACCOUNTS = 5
ITEMS = 100_000
SAMPLES = 200
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"
SCREENING = sys.argv[2] if len(sys.argv) > 2 else "target/release/examples/inbox_screening"
KINDS = ["mention", "reply", "mention", "message", "follower", "comment"]


def screening():
    done = subprocess.run([SCREENING, "100000"], capture_output=True, text=True, check=True)
    print(done.stdout.strip())


def items(accounts, owner_id, started_ms):
    for n in range(ITEMS):
        verdict = "dangerous" if n % 25 == 0 else "suspicious" if n % 10 == 0 else "safe"
        links = []
        if verdict != "safe":
            links = [{"url": f"https://bad{n}.example/login", "verdict": verdict,
                      "destination": None, "reasons": ["The link is known phishing."]}]
        yield (accounts[n % len(accounts)], f"bench-{n}", KINDS[n % len(KINDS)], str(n),
               f"@fan{n}@example.social", f"Fan {n}",
               f"Hello number {n}, are you open on Sunday? " + ("see https://bad%d.example/login" % n if links else ""),
               0, None, json.dumps({"status": str(n)}), json.dumps(links), verdict,
               json.dumps(["The link is known phishing."] if links else []),
               1 if n % 50 == 0 else 0, "done" if n % 3 == 0 else "open",
               owner_id if n % 40 == 0 else None, started_ms + n * 1000, started_ms + n * 1000,
               started_ms + n * 1000)


def main():
    screening()
    with herald_with_owner(HERALD) as (base, owner, work, _):
        me = owner.call("GET", "/api/v1/me")["user"]["id"]
        accounts = []
        for n in range(ACCOUNTS):
            account = owner.call("POST", "/api/v1/accounts", {
                "network": "mastodon", "handle": f"@shop{n}@social.example",
                "display_name": f"Shop {n}", "avatar_colour": "#1f5f5b", "gatekeeper_id": me})
            accounts.append(account["id"])
        began = time.perf_counter()
        db = sqlite3.connect(os.path.join(work, "herald.db"), timeout=30)
        with db:
            db.executemany(
                "INSERT INTO inbox_items (account_id, network_key, kind, author_id, author_handle,"
                " author_name, text, text_cut, url, reply_to, links, verdict, reasons, impostor,"
                " state, assignee_id, received_at, fetched_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                items(accounts, me, 1_790_000_000_000))
        middle = db.execute("SELECT id FROM inbox_items WHERE network_key = ?", (f"bench-{ITEMS // 2}",)).fetchone()[0]
        db.close()
        print(f"{ITEMS} inbox items on {ACCOUNTS} accounts written in {time.perf_counter() - began:.1f} s")

        cookie = owner.cookie()
        routes = [
            ("Inbox page, first 25", "/inbox"),
            ("Inbox page, dangerous only", "/inbox?verdict=dangerous"),
            ("Inbox page, one account's open replies", f"/inbox?account={accounts[1]}&kind=reply&state=open"),
            ("Inbox page, assigned to me", "/inbox?mine=1"),
            ("Inbox page, 50,000 items deep", f"/inbox?after={middle}"),
            ("An item's page", f"/inbox/{middle}"),
            ("GET /api/v1/inbox (50 a page)", "/api/v1/inbox"),
            ("GET /api/v1/inbox/summary (the menu's poll)", "/api/v1/inbox/summary"),
        ]
        for name, path in routes:
            times, size = [], 0
            for _ in range(SAMPLES):
                request = urllib.request.Request(base + path, headers={"Cookie": f"herald_session={cookie}"})
                began = time.perf_counter()
                with urllib.request.urlopen(request) as response:
                    size = len(response.read())
                times.append(time.perf_counter() - began)
            times.sort()
            p50 = statistics.median(times) * 1000
            p99 = times[int(len(times) * 0.99) - 1] * 1000
            print(f"{name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {size / 1024:.1f} KB")


if __name__ == "__main__":
    main()
