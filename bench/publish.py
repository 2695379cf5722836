#!/usr/bin/env python3
"""Publishing figures (issue 5), against a local fake Mastodon (bin herald-fake-network):

1. dispatch: DUE posts due at once (written straight into SQLite while Herald is stopped),
   then Herald started: posts published per second until the fake holds every one;
2. lateness: posts scheduled at RATE per minute for MINUTES minutes while Herald runs:
   p50/p99/max of published_at - scheduled_at;
3. memory: RSS of the idle server, then with HELD posts scheduled next year (the queue lives in
   the database: it should stay flat).

Usage: bench/publish.py [path/to/herald] [path/to/herald-fake-network]
Build first: cargo build --release -p herald --bin herald &&
             cargo build --release -p herald-networks --features fake --bin herald-fake-network
Environment: DUE (100000), RATE (100), MINUTES (2), HELD (1000000), CONCURRENCY (Herald's default
when unset).
"""
import json, os, sqlite3, statistics, subprocess, sys, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import free_port, herald_with_owner, start_herald  # noqa: E402

HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"
FAKE = sys.argv[2] if len(sys.argv) > 2 else "target/release/herald-fake-network"
DUE = int(os.environ.get("DUE", 100_000))
RATE = int(os.environ.get("RATE", 100))
MINUTES = float(os.environ.get("MINUTES", 2))
HELD = int(os.environ.get("HELD", 1_000_000))
TOKEN = "bench-mastodon-token"


def stats(fake):
    with urllib.request.urlopen(fake + "/_fake/stats") as response:
        return json.loads(response.read())


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def insert(db, account, author, count, first_ms, step_ms, label):
    """Approved, scheduled posts and their publish jobs, as Herald writes them."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        now = int(time.time() * 1000)
        cursor = conn.cursor()
        for n in range(count):
            at = first_ms + n * step_ms
            cursor.execute(
                "INSERT INTO posts (account_id, author_id, text, state, created_at, updated_at, scheduled_at)"
                " VALUES (?, ?, ?, 'scheduled', ?, ?, ?)",
                (account, author, f"{label} post {n}: fresh bread at the corner shop", now, now, at))
            post = cursor.lastrowid
            cursor.execute(
                "INSERT INTO jobs (kind, payload, dedupe_key, state, run_at, max_attempts, created_at, updated_at)"
                " VALUES ('publish_post', ?, ?, 'queued', ?, 8, ?, ?)",
                (json.dumps({"post": post, "at": at}), f"publish:{post}:{at}", at, now, now))
        conn.commit()


def published_count(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM posts WHERE state = 'published'").fetchone()[0]


def main():
    fake_proc = subprocess.Popen([FAKE, "mastodon", TOKEN], stdout=subprocess.PIPE, text=True)
    servers = []
    fake = fake_proc.stdout.readline().strip()
    # The fake listens on this machine, which Herald refuses unless told otherwise.
    env = {"HERALD_NETWORKS_MASTODON_INSTANCE_URL": fake,
           "HERALD_NETWORKS_ALLOW_PRIVATE_ADDRESSES": "true"}
    if "CONCURRENCY" in os.environ:
        env["HERALD_JOBS_CONCURRENCY"] = os.environ["CONCURRENCY"]
    try:
        with herald_with_owner(HERALD, env) as (base, owner, work, server):
            me = owner.call("GET", "/api/v1/me")["user"]["id"]
            account = owner.call("POST", "/api/v1/accounts", {
                "network": "mastodon", "handle": "@herald@127.0.0.1", "display_name": "Bench",
                "avatar_colour": "#1f5f5b", "gatekeeper_id": me})["id"]
            owner.call("PUT", f"/api/v1/accounts/{account}/connection",
                       {"method": "access_token", "token": TOKEN, "server": fake})
            server.terminate(); server.wait()
            db = os.path.join(work, "herald.db")
            port = int(base.rsplit(":", 1)[1])

            # 1. Dispatch rate.
            insert(db, account, me, DUE, int(time.time() * 1000) - 1000, 0, "due")
            before = stats(fake)["posts"]
            started = time.perf_counter()
            server = start_herald(HERALD, work, port, env)
            servers.append(server)
            while stats(fake)["posts"] - before < DUE:
                time.sleep(0.05)
                if time.perf_counter() - started > 600:
                    raise SystemExit("dispatch did not finish in 10 minutes")
            elapsed = time.perf_counter() - started
            while published_count(db) < DUE:
                time.sleep(0.05)
            settled = time.perf_counter() - started
            print(f"dispatch: {DUE} posts due at once -> all on the network in {elapsed:.1f} s "
                  f"({DUE / elapsed:,.0f} posts/s); all recorded published in {settled:.1f} s "
                  f"({DUE / settled:,.0f} posts/s); fake saw {stats(fake)['requests']} writes for "
                  f"{stats(fake)['posts'] - before} posts")

            # 2. Lateness at RATE posts per minute.
            count = int(RATE * MINUTES)
            if count == 0:
                return
            step = int(60_000 / RATE)
            first = int(time.time() * 1000) + 3000
            insert(db, account, me, count, first, step, "steady")
            deadline = time.time() + MINUTES * 60 + 30
            while published_count(db) < DUE + count and time.time() < deadline:
                time.sleep(0.5)
            with sqlite3.connect(db) as conn:
                late = sorted(row[0] for row in conn.execute(
                    "SELECT published_at - scheduled_at FROM posts WHERE text LIKE 'steady %' AND state = 'published'"))
            p = lambda q: late[min(len(late) - 1, int(q * len(late)))]
            print(f"lateness: {len(late)}/{count} posts at {RATE}/min: p50 {p(0.5)} ms, p99 {p(0.99)} ms, "
                  f"max {late[-1]} ms")

            # 3. Memory with HELD posts scheduled next year.
            time.sleep(2)
            idle = rss_mib(server.pid)
            server.terminate(); server.wait()
            insert(db, account, me, HELD, int(time.time() * 1000) + 365 * 86_400_000, 1, "held")
            server = start_herald(HERALD, work, port, env)
            servers.append(server)
            time.sleep(15)
            held = rss_mib(server.pid)
            print(f"memory: RSS {idle:.1f} MiB idle after the runs above; {held:.1f} MiB with "
                  f"{HELD:,} posts scheduled (15 s after start, runner polling)")
            server.terminate(); server.wait()
    finally:
        for server in servers:
            server.terminate(); server.wait()
        fake_proc.terminate(); fake_proc.wait()


if __name__ == "__main__":
    main()
