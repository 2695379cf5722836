#!/usr/bin/env python3
"""Policy guard figure: latency of POST /api/v1/scan for a 3,000-character post (goal: p99
under 2 ms), measured from a client on loopback over one kept-alive connection.

Starts a release `herald serve` in a fresh data directory, sets it up, makes an API token with
the policy:read scope, then sends REQUESTS scans of a realistic 3,000-character post (with an
email address, a phone number and a link in it) one after another and prints the percentiles.

Usage: bench/scan.py [path/to/herald]
"""
import http.client, json, os, statistics, sys, time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from herald_bench import herald_with_owner  # noqa: E402

REQUESTS = 5000
HERALD = sys.argv[1] if len(sys.argv) > 1 else "target/release/herald"
PARAGRAPH = ("Our autumn menu is here! Pumpkin soup, slow-roasted lamb and the return of our "
             "sticky toffee pudding. Book a table at https://sunnycafe.example/book or call us "
             "on 020 7946 0000. Questions? Write to hello@sunnycafe.example. ")


def post_text():
    text = ""
    while len(text) < 3000:
        text += PARAGRAPH
    return text[:3000]


def main():
    with herald_with_owner(HERALD) as (base, owner, _, _):
        token = owner.call("POST", "/api/v1/tokens", {
            "name": "bench", "scopes": ["policy:read"], "expires_in_days": 1})["secret"]
        url = urlparse(base)
        connection = http.client.HTTPConnection(url.hostname, url.port)
        body = json.dumps({"text": post_text()})
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        latencies = []
        for _ in range(REQUESTS):
            began = time.perf_counter()
            connection.request("POST", "/api/v1/scan", body, headers)
            response = connection.getresponse()
            answer = response.read()
            latencies.append(time.perf_counter() - began)
            assert response.status == 200, answer
        latencies.sort()
        findings = len(json.loads(answer)["findings"])
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(f"POST /api/v1/scan, 3,000-character post ({findings} findings), {REQUESTS} requests "
              f"in sequence: p50 {p50:.2f} ms, p99 {p99:.2f} ms, {REQUESTS / sum(latencies):.0f} per second")


if __name__ == "__main__":
    main()
