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
import base64, hashlib, hmac, http.cookiejar, json, os, shutil, socket, statistics, struct
import subprocess, sys, tempfile, threading, time, urllib.request
from concurrent.futures import ThreadPoolExecutor

MEMBERS = 200
CONCURRENCY = 8
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"


def totp(secret_b32):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = struct.pack(">Q", int(time.time()) // 30)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


class Client:
    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        with self.opener.open(request) as response:
            text = response.read()
            return json.loads(text) if text else None

    def cookie(self):
        return next(c.value for c in self.jar if c.name == "herald_session")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def main():
    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_LOG_LEVEL"] = "warn"
    server = subprocess.Popen([HERALD, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", work],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/healthz"); break
            except OSError:
                time.sleep(0.05)
        owner = Client(base)
        enrolment = owner.call("GET", "/api/v1/setup?email=owner@bench.example")
        owner_secret = enrolment["secret"]
        session = owner.call("POST", "/api/v1/setup", {
            "organisation": "Bench", "name": "Owner", "email": "owner@bench.example",
            "password": "bench marmalade kettle harbour", "enrolment_token": enrolment["enrolment_token"],
            "code": totp(owner_secret)})
        owner.csrf = session["csrf_token"]

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
    finally:
        server.terminate(); server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
