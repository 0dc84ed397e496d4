#!/usr/bin/env python3
"""A real SMTP server for tests/notify_channels.rs, built on aiosmtpd.

Listens on 127.0.0.1 on a free port and prints {"port": N} as its first line; then one JSON line
per mail received: envelope, parsed headers, the plain-text body, whether TLS was in use and who
logged in. Recipients `busy@…` get a transient refusal (451), `nobody@…` a permanent one (550).

--tls none (plain), starttls (offered and required before MAIL), implicit (TLS from the first
byte); --cert/--key for the TLS modes; --user/--password to offer and check AUTH.
Exits 3 with a message on stderr when aiosmtpd is missing.
"""

import argparse
import asyncio
import json
import ssl
import sys
from email import message_from_bytes
from email.policy import default as default_policy

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError as e:  # pragma: no cover
    print(f"aiosmtpd is not installed ({e}); pip install -r tests/oracle/requirements.txt",
          file=sys.stderr)
    sys.exit(3)


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "busy":
            return "451 4.3.0 mailbox busy, try again later"
        if local == "nobody":
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=default_policy)
        body = msg.get_body(preferencelist=("plain",))
        tls = session.ssl is not None or (
            server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None)
        login = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode()
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": msg["subject"],
            "from": msg["from"],
            "to": msg["to"],
            "cc": msg["cc"],
            "content_type": msg.get_content_type(),
            "body": body.get_content() if body is not None else None,
            "tls": tls,
            "login": login,
        }), flush=True)
        return "250 2.0.0 queued as TEST"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    context = None
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == (args.user or "").encode()
              and auth_data.password == (args.password or "").encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def factory():
        options = dict(hostname="localhost", ident="runwisp test sink")
        if args.user:
            options["authenticator"] = authenticator
            # Implicit TLS is invisible to aiosmtpd's own check.
            options["auth_require_tls"] = args.tls == "starttls"
        if args.tls == "starttls":
            options["tls_context"] = context
            options["require_starttls"] = True
        return SMTP(Handler(), **options)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, host="127.0.0.1", port=0,
        ssl=context if args.tls == "implicit" else None)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
