#!/usr/bin/env python3
"""Backup figure: how long `herald backup` and `herald restore` take for a SQLite installation
with 100,000 posts and 1,000,000 audit entries.

Starts a release `herald serve`, sets it up and adds one account through the API, stops it,
then writes the posts and the audit entries straight into the database with SQL (the API
would take hours). The audit entries are chained exactly as src/domain/audit.rs chains them
(SHA-256 over the previous hash and the entry's canonical text), so `herald restore`'s
`audit verify` walks a real, valid chain of a million entries. Then Herald serves again and
`herald backup` is timed while it does (plain, and with the key sealed with a passphrase), and
`herald restore` of each into a new directory.

Usage: bench/backup.py [path/to/herald]   (about a minute to fill the database)
"""
import hashlib, json, os, shutil, sqlite3, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import free_port, herald_with_owner, start_herald  # noqa: E402

POSTS = 100_000
AUDIT_ENTRIES = 1_000_000
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"
PASSPHRASE = "bench passphrase, long enough"


def canonical(seq, at, actor, action, target, ip, details):
    """src/domain/audit.rs `canonical`: every text JSON-quoted (serde_json's quoting, which for
    ASCII text is Python's), the details as stored."""
    quote = lambda text: json.dumps(text)  # noqa: E731 (None becomes null, as Option does)
    return (f"herald-audit-v1\n{seq}\n{at}\n{quote(actor)}\n{quote(action)}\n"
            f"{quote(target)}\n{quote(ip)}\n{details}")


def fill(database, account, owner):
    db = sqlite3.connect(database)
    now = int(time.time() * 1000)
    db.executemany(
        "INSERT INTO posts (account_id, author_id, text, state, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ((account, owner, f"Bench post number {n}: soup of the day, bread and a view of the sea.",
          "published" if n % 4 else "draft", now - n * 60_000, now - n * 60_000)
         for n in range(POSTS)))
    seq, head = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    prev = bytes.fromhex(head)

    def entries():
        nonlocal seq, prev
        while seq < AUDIT_ENTRIES:
            seq += 1
            at = now + seq
            actor, action, target = f"user:{owner}", "post.published", f"post:{seq % POSTS + 1}"
            details = json.dumps({"account": account, "attempt": 1}, separators=(",", ":"))
            text = canonical(seq, at, actor, action, target, "127.0.0.1", details)
            digest = hashlib.sha256(prev + text.encode()).digest()
            yield (seq, at, actor, action, target, "127.0.0.1", details, prev.hex(), digest.hex())
            prev = digest

    db.executemany("INSERT INTO audit_log (seq, at, actor, action, target, ip, details, prev_hash, hash) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", entries())
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev.hex()))
    db.commit()
    db.close()


def timed(arguments, env=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    clean.update(env or {})
    started = time.perf_counter()
    done = subprocess.run([HERALD, *arguments], capture_output=True, text=True, env=clean)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    return elapsed, done.stdout.strip()


def main():
    out = tempfile.mkdtemp()
    try:
        with herald_with_owner(HERALD) as (base, owner, work, server):
            me = owner.call("GET", "/api/v1/me")["user"]["id"]
            account = owner.call("POST", "/api/v1/accounts", {
                "network": "mastodon", "handle": "@bench@social.example", "display_name": "Bench",
                "avatar_colour": "#1f5f5b", "gatekeeper_id": me})["id"]
            server.terminate(); server.wait()
            started = time.perf_counter()
            fill(os.path.join(work, "herald.db"), account, me)
            size = os.path.getsize(os.path.join(work, "herald.db"))
            print(f"wrote {POSTS:,} posts and {AUDIT_ENTRIES:,} chained audit entries with SQL in "
                  f"{time.perf_counter() - started:.0f} s; database {size / 1e6:.0f} MB")
            # Herald serves while the backups are taken, as the issue asks.
            server = start_herald(HERALD, work, free_port())
            try:
                plain, said = timed(["backup", os.path.join(out, "plain"), "--include-key",
                                     "--data-dir", work])
                print(f"herald backup (--include-key) while serving: {plain:.2f} s\n  {said}")
                sealed, said = timed(["backup", os.path.join(out, "sealed"), "--seal-key",
                                      "--data-dir", work], {"HERALD_BACKUP_PASSPHRASE": PASSPHRASE})
                print(f"herald backup --seal-key while serving: {sealed:.2f} s")
            finally:
                server.terminate(); server.wait()
        restore, said = timed(["restore", os.path.join(out, "plain"), "--data-dir",
                               os.path.join(out, "restored-plain")])
        print(f"herald restore (checksums, canary, audit chain of {AUDIT_ENTRIES:,}): {restore:.2f} s\n  {said}")
        restore_sealed, _ = timed(["restore", os.path.join(out, "sealed"), "--data-dir",
                                   os.path.join(out, "restored-sealed")],
                                  {"HERALD_BACKUP_PASSPHRASE": PASSPHRASE})
        print(f"herald restore of the sealed-key backup: {restore_sealed:.2f} s")
        verify, said = timed(["audit", "verify", "--data-dir", os.path.join(out, "restored-plain")])
        print(f"herald audit verify alone on the restored copy: {verify:.2f} s\n  {said}")
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
