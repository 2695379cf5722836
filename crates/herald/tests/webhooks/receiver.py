"""A webhook receiver for Herald's tests, on 127.0.0.1, that checks every delivery's
signature with the `standardwebhooks` package (PyPI), an implementation independent of
Herald's.

    python receiver.py

Paths: /<name>/ok answers 204; /<name>/flaky answers 500 the first time, then 204;
/<name>/fail always 500; /<name>/hang answers after 30 s; /<name>/redirect answers 302 to a
cloud metadata address. POST /_secret/<name> with a `whsec_…` body sets the secret <name>'s
deliveries are verified with. GET /_log answers every delivery so far as JSON: path,
verified (true, or why not: the signature is
recomputed with the package's own `sign`; the timestamp's age is not judged), headers and body. Prints "READY <port>".
"""

import hmac
import json
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

secrets = {}
log = []
seen = {}
lock = threading.Lock()


def check(secret, headers, body):
    """True when one of the `v1,` signatures is the package's own for this id, timestamp and
    body; otherwise why not. The timestamp's age is not judged: the tests run Herald on a
    hand-moved clock."""
    if secret is None:
        return "no secret set for this receiver"
    try:
        msg_id = headers["webhook-id"]
        timestamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=timezone.utc)
        expected = Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp, data=body)
    except Exception as error:  # The verifier's own words go into the log.
        return f"{type(error).__name__}: {error}"
    given = headers.get("webhook-signature", "").split(" ")
    if any(hmac.compare_digest(signature, expected) for signature in given):
        return True
    return f"no matching signature: expected {expected}, got {given}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_log":
            with lock:
                body = json.dumps(log).encode()
            return self.answer(200, body, [("Content-Type", "application/json")])
        self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        if parts[0] == "_secret":
            with lock:
                secrets[parts[1]] = body.decode()
            return self.answer(204)
        name, behaviour = (parts + ["ok"])[:2]
        headers = {key.lower(): value for key, value in self.headers.items()}
        verified = check(secrets.get(name), headers, body)
        with lock:
            log.append({
                "path": self.path,
                "verified": verified,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
            })
            seen[self.path] = seen.get(self.path, 0) + 1
            count = seen[self.path]
        if behaviour == "hang":
            time.sleep(30)
            return self.answer(204)
        if behaviour == "fail" or (behaviour == "flaky" and count == 1):
            return self.answer(500, b"not now")
        if behaviour == "redirect":
            return self.answer(302, headers=[("Location", "http://169.254.169.254/latest/meta-data/")])
        self.answer(204)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
