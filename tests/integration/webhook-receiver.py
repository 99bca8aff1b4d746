#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An alert webhook's receiver for test-webhook.sh, on loopback.

  webhook-receiver.py PORT OUT SECRET_FILE [FAIL_FIRST]

Appends one JSON line to OUT per POST it accepts: {"path", "signature_ok",
"body"}; answers 503 to the first FAIL_FIRST requests (a receiver that is
down for a while), counted in OUT.fails. The signature is checked as a
receiver would: HMAC-SHA256 of the raw body with the secret file's bytes
(trailing newline removed), hex, in X-Rampart-Signature: sha256=<hex>.
"""
import hashlib
import hmac
import http.server
import json
import sys

port, out, secret_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
secret = open(secret_file, "rb").read().rstrip(b"\r\n")
seen = 0


class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        seen += 1
        if seen <= fail_first:
            with open(out + ".fails", "a") as f:
                f.write("503\n")
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(want, self.headers.get("X-Rampart-Signature", ""))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "signature_ok": ok,
                                "body": json.loads(body)}) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
