#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A root policy posted as an administrator would, without the CLI's checks.

  signed-post.py PORT KEYFILE ORG NOTEFILE

Sends POST /v1/orgs/ORG/policies with {"policy": <NOTEFILE's text>} over
TLS, signed with KEYFILE (PRIVATE+KEY+name+id+base64(0x01 || seed)) as
lib/reqsig.c signs requests, and prints the status and the answer's body on
one line (JSON with its keys sorted). The CLI refuses to send what the attack tests send (a version
that is not N+1, lines it cannot verify), so they speak to the server
directly, as a stolen key or a modified client would.
"""
import base64
import hashlib
import http.client
import json
import ssl
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def main(port, keyfile, org, notefile):
    text = open(keyfile).read().strip()
    assert text.startswith("PRIVATE+KEY+")
    name, _, b64 = text[len("PRIVATE+KEY+"):].split("+", 2)
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(b64)[1:33])
    body = json.dumps({"policy": open(notefile).read()}).encode()
    path = f"/v1/orgs/{org}/policies"
    ts = str(int(time.time()))
    msg = f"rampart-request/v1\nPOST\n{path}\n{ts}\n{hashlib.sha256(body).hexdigest()}\n"
    sig = base64.b64encode(key.sign(msg.encode())).decode()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request("POST", path, body, {"Content-Type": "application/json", "X-Rampart-Key": name,
                                   "X-Rampart-Time": ts, "X-Rampart-Signature": sig})
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    try:  # one order of keys, so that tests can match the answer as text
        body = json.dumps(json.loads(body), sort_keys=True)
    except ValueError:
        body = body.replace("\n", " ")
    print(r.status, body)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
