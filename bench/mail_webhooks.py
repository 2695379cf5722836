#!/usr/bin/env python3
"""E-mail and webhook figures.

1. Notification-to-inbox latency: a `herald serve` on loopback sends through a local aiosmtpd
   (crates/herald/tests/mail/smtp_server.py, plain SMTP on 127.0.0.1); SAMPLES invitations are
   made one after another through the API, and each is timed from the API's answer to the
   message being saved by the SMTP server (the outbox, the job runner's poll, the SMTP
   conversation). Prints p50 and p99.
2. Webhook deliveries per second: an endpoint on a local receiver
   (crates/herald/tests/webhooks/receiver.py, which checks each signature with the
   `standardwebhooks` package); DELIVERIES deliveries are written straight into Herald's SQLite
   database with their jobs (as raising an event does), and the time until all are delivered
   gives deliveries per second (signing, the hardened client, recording each try).

Usage: bench/mail_webhooks.py [path/to/herald] [python with aiosmtpd and standardwebhooks]
Traffic goes to 127.0.0.1 only.
"""
import json, os, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import herald_with_owner  # noqa: E402

HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"
PYTHON = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("HERALD_TEST_PYTHON", "python3")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "herald", "tests")
SAMPLES = 30
DELIVERIES = 500


def started(args):
    process = subprocess.Popen([PYTHON, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(process.stdout.readline().split()[1])
    return process, port


def main():
    inbox = tempfile.mkdtemp()
    smtp, smtp_port = started([os.path.join(ROOT, "mail", "smtp_server.py"), "--dir", inbox, "--no-starttls"])
    receiver, receiver_port = started([os.path.join(ROOT, "webhooks", "receiver.py")])
    env = {
        "HERALD_MAIL_HOST": "127.0.0.1", "HERALD_MAIL_PORT": str(smtp_port),
        "HERALD_MAIL_SECURITY": "none", "HERALD_MAIL_FROM": "Herald <herald@bench.example>",
        "HERALD_NETWORKS_ALLOW_PRIVATE_ADDRESSES": "true", "HERALD_JOBS_POLL_INTERVAL_MS": "100",
    }
    try:
        with herald_with_owner(HERALD, env) as (base, owner, work, _):
            latencies = []
            for n in range(SAMPLES):
                before = len([f for f in os.listdir(inbox) if f.endswith(".json")])
                owner.call("POST", "/api/v1/invitations", {"email": f"person{n}@bench.example", "role": "member"})
                answered = time.perf_counter()
                while len([f for f in os.listdir(inbox) if f.endswith(".json")]) <= before:
                    time.sleep(0.001)
                latencies.append((time.perf_counter() - answered) * 1000)
            latencies.sort()
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            print(f"notification-to-inbox latency (invitation e-mail, {SAMPLES} samples, job poll 100 ms): "
                  f"p50 {statistics.median(latencies):.0f} ms, p99 {p99:.0f} ms")

            created = owner.call("POST", "/api/v1/webhooks", {
                "url": f"http://127.0.0.1:{receiver_port}/bench/ok", "format": "standard",
                "events": ["member.joined"]})
            secret = created["secret"]
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{receiver_port}/_secret/bench", data=secret.encode(), method="POST"))
            endpoint = created["endpoint"]["id"]
            db = sqlite3.connect(os.path.join(work, "herald.db"), timeout=30)
            now = int(time.time() * 1000)
            payload = json.dumps({"title": "Bench", "text": "A member joined", "link": "/members", "data": {}})
            with db:
                for n in range(DELIVERIES):
                    cursor = db.execute(
                        "INSERT INTO webhook_deliveries (endpoint_id, message_id, event, payload, created_at, state)"
                        " VALUES (?, ?, 'member.joined', ?, ?, 'pending')", (endpoint, f"msg_bench{n}", payload, now))
                    db.execute(
                        "INSERT INTO jobs (kind, payload, dedupe_key, state, run_at, max_attempts, created_at, updated_at)"
                        " VALUES ('webhook_deliver', ?, ?, 'queued', ?, 40, ?, ?)",
                        (json.dumps({"delivery": cursor.lastrowid}), f"webhook_deliver:{cursor.lastrowid}", now, now, now))
            start = time.perf_counter()
            while True:
                (left,) = db.execute("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'").fetchone()
                if left == 0:
                    break
                time.sleep(0.05)
            took = time.perf_counter() - start
            log = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{receiver_port}/_log").read())
            verified = sum(1 for entry in log if entry["verified"] is True)
            print(f"webhook deliveries per second to a local receiver: {DELIVERIES / took:.0f} "
                  f"({DELIVERIES} in {took:.1f} s; {verified} signatures verified by standardwebhooks)")
    finally:
        smtp.terminate(); receiver.terminate()


if __name__ == "__main__":
    main()
