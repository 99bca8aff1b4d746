#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One long poll signed with a device's key, as a replaying host would send it.

  signed-poll.py PORT KEYFILE WAIT OUT

Sends GET /v1/agent/poll?wait=WAIT&size=0 over TLS, signed with KEYFILE
(the agent's device.key: PRIVATE+KEY+name+id+base64), and writes to OUT
"status S" and the answer's body once it comes; then asks GET /v1/health
on the same connection and writes "then S", to show the connection carries
on. The signature is lib/reqsig.c's:
  "rampart-request/v1\\n" METHOD "\\n" PATH "\\n" TIME "\\n" hex(SHA-256(body)) "\\n"
"""
import base64
import hashlib
import socket
import ssl
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def read_answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.split(b" ", 2)[1].decode() + " " + body[:length].decode("utf-8", "replace")


def main(port, keyfile, wait, out):
    text = open(keyfile).read().strip()
    assert text.startswith("PRIVATE+KEY+")
    name, _, b64 = text[len("PRIVATE+KEY+"):].split("+", 2)
    raw = base64.b64decode(b64)
    key = Ed25519PrivateKey.from_private_bytes(raw[1:33])
    path = f"/v1/agent/poll?wait={wait}&size=0"
    ts = str(int(time.time()))
    msg = f"rampart-request/v1\nGET\n{path}\n{ts}\n{hashlib.sha256(b'').hexdigest()}\n"
    sig = base64.b64encode(key.sign(msg.encode())).decode()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=120))
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Rampart-Key: {name}\r\n"
               f"X-Rampart-Time: {ts}\r\nX-Rampart-Signature: {sig}\r\n\r\n").encode())
    with open(out, "w") as f:
        f.write("status " + read_answer(s) + "\n")
        f.flush()
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        f.write("then " + read_answer(s).split(" ", 1)[0] + "\n")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4])
