"""Shared pieces of the load scripts: TOTP codes, a cookie-keeping JSON client, and a release
`herald serve` on loopback in a fresh data directory with its first owner set up.
Only the Python standard library is used; traffic goes to 127.0.0.1 only.
"""
import base64, hashlib, hmac, http.cookiejar, json, os, re, shutil, socket, struct, subprocess
import tempfile, time, urllib.request
from contextlib import contextmanager


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



def start_herald(herald, work, port, extra_env=None):
    """`herald serve` on 127.0.0.1:port with data in `work`, once /healthz answers."""
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    env["HERALD_LOG_LEVEL"] = "warn"
    env.update(extra_env or {})
    server = subprocess.Popen([herald, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", work],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(400):
        try:
            urllib.request.urlopen(base + "/healthz"); break
        except OSError:
            time.sleep(0.025)
    return server


def setup_code(herald, work):
    """The one-time setup code, as `herald setup-code` prints it (None from a Herald older than
    the setup code, which has no such command)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    done = subprocess.run([herald, "setup-code", "--data-dir", work], capture_output=True,
                          text=True, env=env, check=False)
    found = re.search(r"setup code (\S+)", done.stdout)
    return found.group(1) if found else None


@contextmanager
def herald_with_owner(herald, extra_env=None):
    """A running Herald and its signed-in owner (a Client with the CSRF token set), with its
    data directory and process (stop it early with server.terminate(); server.wait())."""
    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_herald(herald, work, port, extra_env)
    try:
        owner = Client(base)
        enrolment = owner.call("GET", "/api/v1/setup?email=owner@bench.example")
        setup = {
            "organisation": "Bench", "name": "Owner", "email": "owner@bench.example",
            "password": "bench marmalade kettle harbour", "enrolment_token": enrolment["enrolment_token"],
            "code": totp(enrolment["secret"])}
        code = setup_code(herald, work)
        if code:
            setup["setup_code"] = code
        session = owner.call("POST", "/api/v1/setup", setup)
        owner.csrf = session["csrf_token"]
        yield base, owner, work, server
    finally:
        server.terminate(); server.wait()
        shutil.rmtree(work, ignore_errors=True)
