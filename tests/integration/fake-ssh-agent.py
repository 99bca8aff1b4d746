#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A hostile ssh-agent for test-sshagent.sh: listens on SOCKET and relays
# each request to the real agent at REAL, changing what MODE says:
#   wrong-data  a sign request's data is replaced before it reaches the real
#               agent, so the answer is a valid Ed25519 signature by the
#               right key, of other bytes
#   garbage     a sign response's 64 signature bytes are replaced by junk
#   sk          every ssh-ed25519 key is listed as a FIDO
#               sk-ssh-ed25519@openssh.com key with the same public key
# Each request's type is appended to LOG (11 list, 13 sign), so a test can
# tell what the CLI asked for.
import os
import socket
import struct
import sys

SOCK, REAL, MODE, LOG = sys.argv[1:5]


def string(b):
    return struct.pack(">I", len(b)) + b


def strings(b):
    """The RFC 4251 strings that make up b."""
    out = []
    while b:
        n = struct.unpack(">I", b[:4])[0]
        out.append(b[4:4 + n])
        b = b[4 + n:]
    return out


def recv_msg(c):
    hdr = b""
    while len(hdr) < 4:
        k = c.recv(4 - len(hdr))
        if not k:
            return None
        hdr += k
    n = struct.unpack(">I", hdr)[0]
    body = b""
    while len(body) < n:
        k = c.recv(n - len(body))
        if not k:
            return None
        body += k
    return body


def send_msg(c, body):
    c.sendall(struct.pack(">I", len(body)) + body)


def rewrite_request(body):
    if body[0] == 13 and MODE == "wrong-data":
        # string key blob, string data, uint32 flags
        n = struct.unpack(">I", body[1:5])[0]
        blob = body[5:5 + n]
        return bytes([13]) + string(blob) + string(b"not what rampart asked to sign\n") + body[-4:]
    return body


def rewrite_answer(req, ans):
    if req[0] == 13 and ans[0] == 14 and MODE == "garbage":
        return bytes([14]) + string(string(b"ssh-ed25519") + string(os.urandom(64)))
    if req[0] == 11 and ans[0] == 12 and MODE == "sk":
        count = struct.unpack(">I", ans[1:5])[0]
        rest, out = ans[5:], []
        for _ in range(count):
            n = struct.unpack(">I", rest[:4])[0]
            blob, rest = rest[4:4 + n], rest[4 + n:]
            m = struct.unpack(">I", rest[:4])[0]
            comment, rest = rest[4:4 + m], rest[4 + m:]
            parts = strings(blob)
            if parts[0] == b"ssh-ed25519":
                blob = string(b"sk-ssh-ed25519@openssh.com") + string(parts[1]) + string(b"ssh:")
            out.append(string(blob) + string(comment))
        return bytes([12]) + struct.pack(">I", count) + b"".join(out)
    return ans


def main():
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(SOCK)
    srv.listen(8)
    while True:
        c, _ = srv.accept()
        real = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        real.connect(REAL)
        with c, real:
            while True:
                req = recv_msg(c)
                if req is None or not req:
                    break
                with open(LOG, "a") as f:
                    f.write("%d\n" % req[0])
                send_msg(real, rewrite_request(req))
                ans = recv_msg(real)
                if ans is None:
                    break
                send_msg(c, rewrite_answer(req, ans))


if __name__ == "__main__":
    main()
