#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One API request signed with an administrator's key, body as given.

  signed-request.py [--sort-json] PORT KEYFILE METHOD PATH [BODY]

For requests the CLI never sends (a rotation whose reissue map leaves a
token out). KEYFILE is an unencrypted key of `rampart key generate`
(PRIVATE+KEY+name+id+base64). Prints "STATUS BODY" on one line; with
--sort-json a JSON body is printed with its keys sorted, so that tests
can match it as text. The signature is
lib/reqsig.c's:
  "rampart-request/v1\\n" METHOD "\\n" PATH "\\n" TIME "\\n" hex(SHA-256(body)) "\\n"
"""
import base64
import hashlib
import http.client
import json
import ssl
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def main(port, keyfile, method, path, body="", sort_json=False):
    text = open(keyfile).read().strip()
    assert text.startswith("PRIVATE+KEY+"), "an unencrypted signer key"
    name, _, b64 = text[len("PRIVATE+KEY+"):].split("+", 2)
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(b64)[1:33])
    data = body.encode()
    ts = str(int(time.time()))
    msg = f"rampart-request/v1\n{method}\n{path}\n{ts}\n{hashlib.sha256(data).hexdigest()}\n"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request(method, path, body=data, headers={
        "Content-Type": "application/json",
        "X-Rampart-Key": name,
        "X-Rampart-Time": ts,
        "X-Rampart-Signature": base64.b64encode(key.sign(msg.encode())).decode(),
    })
    r = c.getresponse()
    out = r.read().decode("utf-8", "replace")
    if sort_json:
        try:
            out = json.dumps(json.loads(out), sort_keys=True)
        except ValueError:
            out = out.replace("\n", " ")
    print(r.status, out)


if __name__ == "__main__":
    args = sys.argv[1:]
    sort = bool(args) and args[0] == "--sort-json"
    if sort:
        args = args[1:]
    main(int(args[0]), *args[1:], sort_json=sort)
