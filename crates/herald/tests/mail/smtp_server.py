"""A real SMTP server for Herald's e-mail tests (aiosmtpd), on 127.0.0.1.

    python smtp_server.py --dir DIR [--cert CERT --key KEY] [--tls] [--no-starttls]
                          [--user USER --password-file FILE]

STARTTLS is offered with CERT/KEY (or TLS from the first byte with --tls); --no-starttls
offers none. With --user, AUTH PLAIN and LOGIN are required, and the password is read from
FILE at every sign-in, so a test can put the right one in place later. Each message is saved
as DIR/<n>.eml, with DIR/<n>.json holding the envelope. SMTPUTF8 is supported. Prints
"READY <port>" once listening, and runs until killed.
"""

import argparse
import email
import email.policy
import json
import os
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refused@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            number = self.count
        path = os.path.join(self.directory, f"{number}")
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        with open(path + ".eml", "wb") as out:
            out.write(raw)
        summary = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "at": time.time(),
            "subject": str(message["subject"]),
            "message_id": str(message["message-id"]),
            "list_unsubscribe": message["list-unsubscribe"] and str(message["list-unsubscribe"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
        }
        # Written last and renamed into place: a test that sees the .json sees it whole.
        with open(path + ".json.part", "w") as out:
            json.dump(summary, out)
        os.rename(path + ".json.part", path + ".json")
        return "250 Message accepted for delivery"


class Authenticator:
    def __init__(self, user, password_file):
        self.user = user
        self.password_file = password_file

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with open(self.password_file) as f:
            password = f.read().strip()
        ok = auth_data.login.decode() == self.user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--no-starttls", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password-file")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    context = None
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    options = dict(enable_SMTPUTF8=True)
    if args.user:
        options["authenticator"] = Authenticator(args.user, args.password_file)
        options["auth_required"] = True
        options["auth_require_tls"] = not args.no_starttls
    if context and not args.tls and not args.no_starttls:
        options["tls_context"] = context
        options["require_starttls"] = True
    ssl_context = context if args.tls else None

    port = args.port
    if port == 0:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    controller = Controller(
        Saver(args.dir),
        hostname="127.0.0.1",
        port=port,
        ssl_context=ssl_context,
        server_hostname="localhost",
        ready_timeout=10,
        **options,
    )
    controller.start()
    print(f"READY {port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
