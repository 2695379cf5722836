#!/usr/bin/env python3
"""Vault figure: how long `herald vault rekey` takes for 100,000 sealed secrets, end to end
(read, re-wrap every data key under the new master key, write back, re-sign the audit log's
checkpoints, swap the key files).

Starts a release `herald serve`, sets it up, adds ACCOUNTS accounts and stores all five
typed-in credential fields of each through the API (ACCOUNTS x 5 sealed secrets), stops the
server and times the rekey command.

Usage: bench/rekey.py [path/to/herald]   (takes a few minutes to fill the vault)
"""
import os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import herald_with_owner  # noqa: E402

ACCOUNTS = 20_000
FIELDS = ["login_username", "login_password", "totp_seed", "recovery_codes", "notes"]
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"


def main():
    with herald_with_owner(HERALD) as (base, owner, work, server):
        me = owner.call("GET", "/api/v1/me")["user"]["id"]

        def fill(n):
            account = owner.call("POST", "/api/v1/accounts", {
                "network": "x", "handle": f"@bench{n}", "display_name": f"Bench {n}",
                "avatar_colour": "#1f5f5b", "gatekeeper_id": me})["id"]
            for field in FIELDS:
                value = "JBSWY3DPEHPK3PXP" if field == "totp_seed" else f"bench {field} {n} value"
                owner.call("PUT", f"/api/v1/accounts/{account}/credentials/{field}", {"value": value})

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(fill, range(ACCOUNTS)))
        print(f"stored {ACCOUNTS * len(FIELDS)} secrets through the API in {time.perf_counter() - started:.0f} s")
        server.terminate(); server.wait()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        started = time.perf_counter()
        done = subprocess.run([HERALD, "vault", "rekey", "--data-dir", work],
                              capture_output=True, text=True, env=env)
        elapsed = time.perf_counter() - started
        assert done.returncode == 0, done.stderr
        print(f"herald vault rekey, {ACCOUNTS * len(FIELDS)} account secrets (+ the owner's TOTP secret), "
              f"SQLite: {elapsed:.2f} s\n  {done.stdout.strip()}")


if __name__ == "__main__":
    main()
