#!/usr/bin/env python3
"""Web app figures: how long the pages a shop owner opens most take, and how big they are.

Starts a release `herald serve` on loopback in a fresh data directory, sets it up, adds ACCOUNTS
accounts and POSTS posts (a tenth submitted for approval, a tenth with a time), then times
SAMPLES sequential requests of each: Home (checklist, approvals, drafts, next out, attention),
All posts (a page of 25, then a filtered page), a post's page (findings, history with names),
the audit log page, and GET /api/v1/posts. Prints p50 and p99 per route, and each page's size.

Usage: bench/pages.py [path/to/herald]
Only the Python standard library is used; traffic goes to 127.0.0.1 only.
"""
import os, statistics, sys, time, urllib.request
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import herald_with_owner  # noqa: E402

ACCOUNTS = 5
POSTS = 2000
SAMPLES = 200
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"


def main():
    with herald_with_owner(HERALD) as (base, owner, _, _):
        accounts = []
        for n in range(ACCOUNTS):
            account = owner.call("POST", "/api/v1/accounts", {
                "network": "mastodon", "handle": f"@shop{n}@social.example",
                "display_name": f"Shop {n}", "avatar_colour": "#1f5f5b",
                "gatekeeper_id": owner.call("GET", "/api/v1/me")["user"]["id"]})
            accounts.append(account["id"])
        started = time.perf_counter()
        soon = datetime.now(timezone.utc) + timedelta(days=2)
        first = None
        for n in range(POSTS):
            post = owner.call("POST", "/api/v1/posts", {
                "account_id": accounts[n % ACCOUNTS],
                "text": f"Post {n}: fresh bread at 8, ask hello@shop.example for orders"})
            first = first or post["id"]
            if n % 10 == 1:
                at = (soon + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
                owner.call("POST", f"/api/v1/posts/{post['id']}/schedule", {"at": at})
        print(f"{POSTS} posts on {ACCOUNTS} accounts written in {time.perf_counter() - started:.1f} s")

        cookie = owner.cookie()
        routes = [
            ("Home", "/"),
            ("All posts, first page", "/posts"),
            ("All posts, one account's drafts, page 10", f"/posts?account={accounts[0]}&state=draft&page=10"),
            ("A post's page", f"/posts/{first}"),
            ("Audit log", "/audit"),
            ("GET /api/v1/posts (50 a page)", "/api/v1/posts"),
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
