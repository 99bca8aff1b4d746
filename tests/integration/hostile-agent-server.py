#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A breached rampartd, for test-hostile.sh and bench/agent-memory: it holds
# the server's TLS key (so the agent's pin matches) and answers however the
# attacker likes. 127.0.0.1 only:
#   hostile-agent-server.py PORT CERT KEY MODE_FILE LOG
# MODE_FILE is read at every request, so a test switches the attack
# without restarting. Its first word is the mode:
#   trickle          every answer one byte every 0.5 s, forever
#   big              polls: Content-Length 2000000000, the body trickled
#                    in 64 KiB pieces; LOG gets "big: sent N" when the
#                    client hangs up
#   nested N         polls: N bytes of nested arrays (groups of depth 1000)
#   tiny N           polls: N bytes of tiny arrays, [[],[],...]
#   reason           checkpoint refresh: 503 with a body that would forge
#                    an alerts.log line; polls: malformed JSON with ESC and
#                    a bidi override; alert reports: 500 with the same text
#   quiet            every poll 204 after a second, every other request 404
#   files DIR        a breached server that answers what the test made
#                    (test-breach.sh, with tests/integration/breach.c):
#                    DIR/poll, a shell command, answers the next poll with
#                    its output (200, once: it is then moved to DIR/done/);
#                    DIR/poll.raw is sent as the whole answer to the next
#                    poll (malformed HTTP), once; a poll finding neither is
#                    held until one appears or its wait ends (204).
#                    DIR/checkpoint, a shell command, answers every
#                    checkpoint refresh (404 without it); DIR/entries every
#                    request of the agent's walk through the log, with FROM
#                    set to its ?from=. The commands run
#                    with HAVE set to the agent's ?size=. Every POST is
#                    logged as "post PATH BODY" and answered 200 {}.
# Every request is logged to LOG as "req METHOD PATH", and every attack
# answer as "served MODE" before it is sent.
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

FORGED = (b"x\n1999-01-01T00:00:00Z freeze - FORGED line\r\x1b[2J\x1b]0;pwned\x07"
          b"\xe2\x80\xae reversed")

lock = threading.Lock()


def log(path, text):
    with lock, open(path, "a") as f:
        f.write(text + "\n")


def read_head(tls):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(4096)
        if not chunk:
            return None, None
        data += chunk
        if len(data) > 65536:
            return None, None
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    length = 0
    for h in lines[1:]:
        name, _, value = h.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = tls.recv(65536)
        if not chunk:
            return None, None
        rest += chunk
    return lines[0].decode("latin-1"), rest


def answer(status, body, ctype=b"application/json"):
    return (b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n" % (status, ctype, len(body))) + body


def nested(n):
    group = b"[" * 1000 + b"]" * 1000 + b","
    body = b"[" + group * ((n - 3) // len(group))
    body += b"0" * (n - 1 - len(body)) + b"]"
    return body


def tiny(n):
    body = b"[" + b"[]," * ((n - 3) // 3)
    body += b"0" * (n - 1 - len(body)) + b"]"
    return body


def run_answer(path, have, logf, what, extra=None):
    """The output of the shell command in path, run with HAVE=have: (status, body)."""
    env = dict(os.environ, HAVE=str(have), **(extra or {}))
    p = subprocess.run(["bash", "-c", open(path).read()], env=env, capture_output=True)
    if p.returncode != 0:
        log(logf, "%s: command failed (%d): %s" % (what, p.returncode,
                                                  p.stderr.decode("latin-1").replace("\n", " | ")))
        return 500, b'{"error": {"code": "internal", "message": "the attack failed"}}'
    log(logf, "served " + what)
    return 200, p.stdout


def take(path, done, logf):
    """Moves path into done/ before it is answered: served once."""
    os.makedirs(done, exist_ok=True)
    with lock:
        n = len(os.listdir(done))
        target = os.path.join(done, "%04d.%s" % (n, os.path.basename(path)))
        os.rename(path, target)
    return target


def serve_files(tls, line, body, d, logf):
    method, target = line.split(" ")[:2]
    url = urllib.parse.urlsplit(target)
    q = urllib.parse.parse_qs(url.query)
    have = int(q.get("size", ["0"])[0])
    done = os.path.join(d, "done")
    if method == "POST":
        log(logf, "post %s %s" % (url.path, body.decode("latin-1").replace("\n", " ")))
        tls.sendall(answer(200, b"{}"))
    elif url.path == "/v1/agent/poll":
        until = time.monotonic() + min(int(q.get("wait", ["0"])[0]), 30)
        while True:
            # A held poll sends nothing more: readable means its agent hung
            # up (stopped), and what the test made is kept for the next one.
            if select.select([tls], [], [], 0)[0]:
                log(logf, "poll: the client hung up")
                return
            if os.path.exists(os.path.join(d, "poll.raw")):
                raw = take(os.path.join(d, "poll.raw"), done, logf)
                log(logf, "served poll.raw")
                tls.sendall(open(raw, "rb").read())
                return
            if os.path.exists(os.path.join(d, "poll")):
                cmd = take(os.path.join(d, "poll"), done, logf)
                status, out = run_answer(cmd, have, logf, "poll")
                tls.sendall(answer(status, out))
                return
            if time.monotonic() >= until:
                tls.sendall(answer(204, b""))
                return
            time.sleep(0.05)
    elif url.path == "/v1/agent/checkpoint" and os.path.exists(os.path.join(d, "checkpoint")):
        status, out = run_answer(os.path.join(d, "checkpoint"), have, logf, "checkpoint")
        tls.sendall(answer(status, out))
    elif url.path == "/v1/agent/entries" and os.path.exists(os.path.join(d, "entries")):
        status, out = run_answer(os.path.join(d, "entries"), have, logf, "entries",
                                 {"FROM": q.get("from", ["0"])[0]})
        tls.sendall(answer(status, out))
    else:
        tls.sendall(answer(404, b'{"error": {"code": "not_found", "message": "no"}}'))


def serve(client, ctx, mode_file, logf):
    try:
        tls = ctx.wrap_socket(client, server_side=True)
    except (OSError, ssl.SSLError):
        client.close()
        return
    try:
        line, body = read_head(tls)
        if line is None:
            return
        log(logf, "req " + " ".join(line.split(" ")[:2]))
        mode = open(mode_file).read().split()
        path = line.split(" ")[1]
        poll = path.startswith("/v1/agent/poll")
        if mode[0] == "files":
            serve_files(tls, line, body, mode[1], logf)
        elif mode[0] == "trickle":
            for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100000:
                tls.sendall(bytes([b]))
                time.sleep(0.5)
        elif mode[0] == "big" and poll:
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 2000000000\r\n\r\n")
            sent = 0
            try:
                while sent < 2000000000:
                    tls.sendall(b"[" * 65536)
                    sent += 65536
                    time.sleep(0.05)
            finally:
                log(logf, "big: sent %d" % sent)
        elif mode[0] in ("nested", "tiny") and poll:
            make = nested if mode[0] == "nested" else tiny
            log(logf, "served " + mode[0])
            tls.sendall(answer(200, make(int(mode[1]))))
        elif mode[0] == "reason":
            if path.startswith("/v1/agent/checkpoint"):
                tls.sendall(answer(503, FORGED, b"text/plain"))
            elif poll:
                log(logf, "served reason")
                tls.sendall(answer(200, b'["' + FORGED[-12:] + b'" \x1b[2J'))
            else:
                err = (b'{"error": {"code": "x\\u001b[2J", "message": '
                       b'"\\n1999-01-01T00:00:00Z freeze - FORGED \\u202e"}}')
                tls.sendall(answer(500, err))
        elif poll:
            time.sleep(1)
            tls.sendall(answer(204, b""))
        else:
            tls.sendall(answer(404, b'{"error": {"code": "not_found", "message": "no"}}'))
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            tls.close()
        except OSError:
            pass


def main():
    port, cert, key, mode_file, logf = sys.argv[1:6]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(64)
    while True:
        client, _ = ls.accept()
        threading.Thread(target=serve, args=(client, ctx, mode_file, logf), daemon=True).start()


main()
