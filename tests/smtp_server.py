#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) on a loopback port, for cqrs-admin's tests.

    smtp_server.py serve LOG [--refuse-after N] [--drop-after N] [--hang-after N]
        Prints "PORT <n>" once listening, then serves until standard input
        closes. Every message accepted is parsed as RFC 5322 with Python's
        email package and appended to LOG as one JSON line. After N accepted
        messages the server refuses every further one with 451
        (--refuse-after), drops the connection at DATA (--drop-after), or
        never answers DATA and prints "HANGING" (--hang-after).
    smtp_server.py parse FILE...
        Parses each .eml file the same way and prints one JSON line each.
"""

import asyncio
import email
import email.policy
import json
import socket
import sys
import threading


def parse(raw, envelope=None):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [type(d).__name__ for d in msg.defects]
    headers = {}
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        values = msg.get_all(name) or []
        headers[name] = [str(v) for v in values]
        for v in values:
            defects.extend(type(d).__name__ for d in getattr(v, "defects", ()))
    to_addresses = []
    for v in msg.get_all("To") or []:
        to_addresses.extend(a.addr_spec for a in v.addresses)
    body = msg.get_body(preferencelist=("plain",))
    attachments = []
    for part in msg.iter_attachments():
        attachments.append(
            {"filename": part.get_filename(), "content": part.get_content()}
        )
    out = {
        "headers": headers,
        "to": to_addresses,
        "body": body.get_content() if body is not None else None,
        "attachments": attachments,
        "defects": defects,
    }
    if envelope is not None:
        out["mail_from"] = envelope.mail_from
        out["rcpt_tos"] = envelope.rcpt_tos
    return out


class Handler:
    def __init__(self, log, refuse_after, drop_after, hang_after):
        self.log = log
        self.accepted = 0
        self.refuse_after = refuse_after
        self.drop_after = drop_after
        self.hang_after = hang_after

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_after is not None and self.accepted >= self.refuse_after:
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        if self.drop_after is not None and self.accepted >= self.drop_after:
            server.transport.abort()
            return "421 4.3.0 closing"
        if self.hang_after is not None and self.accepted >= self.hang_after:
            print("HANGING", flush=True)
            await asyncio.Event().wait()
        record = parse(envelope.original_content or envelope.content, envelope)
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        self.accepted += 1
        return "250 2.0.0 Message accepted for delivery"


def option(args, name):
    if name in args:
        return int(args[args.index(name) + 1])
    return None


def serve(args):
    from aiosmtpd.controller import Controller

    log = args[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Handler(
        log,
        option(args, "--refuse-after"),
        option(args, "--drop-after"),
        option(args, "--hang-after"),
    )
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print(f"PORT {port}", flush=True)
    # Serve until the test closes our standard input (or kills us).
    sys.stdin.read()
    threading.Thread(target=controller.stop, daemon=True).start()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "serve":
        serve(sys.argv[2:])
    elif sys.argv[1] == "parse":
        for path in sys.argv[2:]:
            with open(path, "rb") as f:
                record = parse(f.read())
            record["file"] = path
            print(json.dumps(record))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
