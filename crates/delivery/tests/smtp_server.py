"""A real SMTP server for the delivery tests (aiosmtpd), on 127.0.0.1.

Usage: smtp_server.py DIR [--auth USER:PASSWORD]

Prints "PORT <n>" on stdout once it accepts connections, then serves until stdin closes
or it is killed. Every accepted message is written to DIR/<n>.json with its envelope and
its parsed parts (subject, text, html). While a file DIR/FAIL exists, every message is
answered with the SMTP reply written in that file (for example "451 4.3.0 Try later"),
which makes it the failing server; removing the file brings the server back.
"""

import argparse
import json
import logging
import os
import socket
import sys
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Keeper:
    """Writes each message to the directory, or refuses it while DIR/FAIL exists."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        fail = os.path.join(self.directory, "FAIL")
        if os.path.exists(fail):
            with open(fail, encoding="utf-8") as reply:
                return reply.read().strip() or "451 4.3.0 Try again later"

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        parts = {"text": None, "html": None}
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and parts["text"] is None:
                parts["text"] = part.get_content()
            elif kind == "text/html" and parts["html"] is None:
                parts["html"] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "text": parts["text"],
            "html": parts["html"],
            "login": getattr(session, "auth_data", None) and session.auth_data.decode(),
        }
        self.count += 1
        path = os.path.join(self.directory, f"{self.count:04}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 Message accepted"


class Password:
    """Accepts exactly one login and password."""

    def __init__(self, login, password):
        self.login = login.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.login
            and auth_data.password == self.password
        )
        if ok:
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--auth", help="USER:PASSWORD that must log in")
    args = parser.parse_args()

    options = {}
    if args.auth:
        login, password = args.auth.split(":", 1)
        options = {
            "authenticator": Password(login, password),
            "auth_required": True,
            "auth_require_tls": False,
        }
    port = free_port()
    controller = Controller(
        Keeper(args.directory), hostname="127.0.0.1", port=port, **options
    )
    controller.start()
    print(f"PORT {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
