#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A breached rampartd for test-cli-trust.sh: any code can answer, so it
# sends what the real server's JSON encoder never would (C1 controls as
# \u escapes, BEL, terminal sequences) in the places the CLI prints:
#   hostile-server.py PORT CERT KEY   (127.0.0.1 only, TLS 1.3)
# GET .../devices answers a device list, .../checkpoint a text the audit
# quotes as evidence; everything else a JSON error
# whose message is the attack.
import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

EVIL = ("\x1b[2J\x1b[H\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]8;;https://evil.example\x1b\\"
        "click\x1b]8;;\x1b\\\r\u009b2Jok\u202egnp.exe\u200b\u2066\u0085\x7f")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if self.command == "GET" and self.path.endswith("/devices"):
            self.answer(200, {"devices": [{
                "id": "0123456789abcdef0123456789abcdef" + EVIL, "hostname": "web1" + EVIL,
                "os": EVIL, "agent_version": EVIL, "enrolled": 1, "last_seen": 1,
                "alarm": EVIL, "pubkey": None, "facts": None}]})
        elif self.command == "GET" and self.path.endswith("/checkpoint"):
            # a "checkpoint" for rampart audit, which prints it as evidence
            data = ("127.0.0.1/rampart/acme\n1\n" + EVIL + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif self.command == "GET" and self.path.endswith("/alerts"):
            self.answer(200, {"alerts": [{"device": EVIL, "command": EVIL, "code": EVIL,
                                          "reason": EVIL, "at": 1}]})
        else:
            self.answer(400, {"error": {"code": "bad_request", "message": EVIL}})

    do_GET = do_any
    do_POST = do_any
    do_DELETE = do_any

    def log_message(self, fmt, *args):
        pass


def main():
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    httpd = HTTPServer(("127.0.0.1", port), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
