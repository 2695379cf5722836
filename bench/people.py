#!/usr/bin/env python3
"""People figures: sign-in requests per second and latency (Argon2id dominates), and
authenticated GET /api/v1/me requests per second.

Starts a release `herald serve` on loopback in a fresh data directory, sets it up, invites and
enrols MEMBERS members, then signs them all in concurrently (each with its own fresh TOTP code,
so every sign-in is a real, successful one) and reports throughput and percentiles. Finally it
runs wrk against GET /api/v1/me with the owner's session cookie.

Usage: bench/people.py [path/to/herald]   (needs wrk: apt-get install wrk)
Only the Python standard library is used; traffic goes to 127.0.0.1 only.
"""
import os, shutil, statistics, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import Client, herald_with_owner, totp  # noqa: E402

MEMBERS = 200
CONCURRENCY = 8
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"


def main():
    with herald_with_owner(HERALD) as (base, owner, _, _):
        def enrol(n):
            email = f"member{n}@bench.example"
            invited = owner.call("POST", "/api/v1/invitations", {"email": email, "role": "member"})
            token = invited["link"].rsplit("/", 1)[1]
            joiner = Client(base)
            opened = joiner.call("GET", f"/api/v1/invitations/{token}")
            secret = opened["enrolment"]["secret"]
            joiner.call("POST", f"/api/v1/invitations/{token}/accept", {
                "name": f"Member {n}", "password": f"bench violet lanterns {n} quay",
                "enrolment_token": opened["enrolment"]["enrolment_token"], "code": totp(secret)})
            return email, f"bench violet lanterns {n} quay", secret

        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            members = list(pool.map(enrol, range(MEMBERS)))
        print(f"enrolled {MEMBERS} members through invitations in {time.perf_counter() - started:.1f} s")

        # The enrolment codes were spent in this 30-second step; sign in during the next one.
        time.sleep(30 - time.time() % 30 + 0.5)

        def sign_in(member):
            email, password, secret = member
            began = time.perf_counter()
            Client(base).call("POST", "/api/v1/auth/login", {"email": email, "password": password, "code": totp(secret)})
            return time.perf_counter() - began

        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            latencies = sorted(pool.map(sign_in, members))
        elapsed = time.perf_counter() - started
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(f"sign-in (Argon2id m=19456 KiB, t=2, p=1; {CONCURRENCY} concurrent clients): "
              f"{MEMBERS / elapsed:.1f} per second, p50 {p50:.0f} ms, p99 {p99:.0f} ms")

        if shutil.which("wrk"):
            cookie = owner.cookie()
            out = subprocess.run(["wrk", "-t2", "-c32", "-d10s", "-H", f"Cookie: herald_session={cookie}",
                                  base + "/api/v1/me"], capture_output=True, text=True).stdout
            rps = next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
            status_errors = [line for line in out.splitlines() if "Non-2xx" in line]
            print(f"GET /api/v1/me signed in (wrk -t2 -c32 -d10s): {rps} per second"
                  + (f" ({status_errors[0].strip()})" if status_errors else ""))
        else:
            print("GET /api/v1/me: wrk is not installed (apt-get install wrk)")


if __name__ == "__main__":
    main()
