#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile HTTP clients for the daemons' connection guard (lib/httpd).

  http-probe.py [--tls] PORT refuse N METHOD PATH LENGTH WAIT
      N connections at once each send a request's headers declaring LENGTH
      body bytes, then send nothing and wait up to WAIT seconds for the
      answer. Prints one status per connection ("413"), "none" when none came.
  http-probe.py [--tls] PORT blast N METHOD PATH LENGTH
      N connections at once each send the headers and then all LENGTH body
      bytes as fast as the server takes them; prints what each got back.
  http-probe.py [--tls] PORT trickle WAIT STEP FAST SLOW
      Sends FAST at once, then SLOW one byte every STEP seconds, for up to
      WAIT seconds. Prints "closed S STATUS" when the server closed the
      connection after S seconds (STATUS: the answer's, or "none"), or
      "open S" when it was still open at WAIT.
  http-probe.py [--tls] PORT idle WAIT
      One GET /v1/health with keep-alive, then silence: prints "closed S"
      when the server closed the idle connection, or "open S" at WAIT.
  http-probe.py [--tls] PORT hold N FILE
      Opens N connections (TLS handshakes done), each asks GET /v1/health
      once (so none is a new connection to the server any more), prints
      "held N", and keeps them open, silent, until FILE exists. Then one of
      them asks again and "served STATUS" is printed.
  http-probe.py [--tls] PORT flood N SRC FILE [silent]
      Opens N connections at once from the address SRC (127.0.0.2: the
      loopback network is 127/8); every other one asks GET /v1/health once
      and then stays silent, the rest (with silent: all) say nothing at all. Prints "held K of
      N" for the K still open a second later, and keeps them open until
      FILE exists.
FAST and SLOW take \\r and \\n escapes.
"""
import socket
import ssl
import sys
import threading
import time

TLS = False


def connect(port, timeout=10, src=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    if TLS:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    return s


def status_of(data):
    if data.startswith(b"HTTP/1."):
        parts = data.split(b" ", 2)
        if len(parts) > 1:
            return parts[1].decode("ascii", "replace")
    return "none"


def read_answer(s, deadline):
    data = b""
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionError, ssl.SSLError, OSError):
            break
        if not chunk:
            break
        data += chunk
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    if len(body) >= int(line.split(b":")[1]):
                        return data
    return data


def headers(method, path, length):
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def parallel(n, one):
    """Runs one(i) for i in 0..n-1 at once; prints what each returned."""
    results = [None] * n

    def run(i):
        try:
            results[i] = one(i)
        except OSError as e:
            results[i] = "error:" + type(e).__name__
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join(results))


def refuse(port, n, method, path, length, wait):
    def one(i):
        s = connect(port)
        s.sendall(headers(method, path, length))
        got = status_of(read_answer(s, time.monotonic() + wait))
        s.close()
        return got
    parallel(n, one)


def blast(port, n, method, path, length):
    chunk = b"a" * 65536

    def one(i):
        s = connect(port)
        s.sendall(headers(method, path, length))
        left = length
        try:
            while left > 0:
                k = min(left, len(chunk))
                s.sendall(chunk[:k])
                left -= k
        except OSError:
            pass
        got = status_of(read_answer(s, time.monotonic() + 10))
        s.close()
        return got
    parallel(n, one)


def unescape(text):
    return text.replace("\\r", "\r").replace("\\n", "\n").encode()


def closed(s):
    """The server closed the connection: returns (True, data) or (False, b"")."""
    s.setblocking(False)
    try:
        data = s.recv(65536)
        return True, data  # an answer, or b"" at end of file
    except (BlockingIOError, ssl.SSLWantReadError):
        return False, b""
    except (ConnectionError, ssl.SSLError, OSError):
        return True, b""
    finally:
        s.setblocking(True)


def trickle(port, wait, step, fast, slow):
    s = connect(port)
    t0 = time.monotonic()
    if fast:
        s.sendall(unescape(fast))
    data = unescape(slow)
    got = b""
    for i in range(len(data) + 1):
        end = time.monotonic() + step
        while time.monotonic() < end:
            done, more = closed(s)
            if done:
                got += more
                # drain whatever else the answer has
                got += read_answer(s, time.monotonic() + 1)
                print(f"closed {time.monotonic() - t0:.1f} {status_of(got)}")
                return
            if time.monotonic() - t0 > wait:
                print(f"open {time.monotonic() - t0:.1f}")
                return
            time.sleep(0.05)
        if i < len(data):
            try:
                s.sendall(data[i:i + 1])
            except OSError:
                print(f"closed {time.monotonic() - t0:.1f} none")
                return
    print(f"open {time.monotonic() - t0:.1f}")


def idle(port, wait):
    s = connect(port)
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    if status_of(read_answer(s, time.monotonic() + 5)) != "200":
        print("no answer")
        return
    t0 = time.monotonic()
    while time.monotonic() - t0 < wait:
        done, _ = closed(s)
        if done:
            print(f"closed {time.monotonic() - t0:.1f}")
            return
        time.sleep(0.05)
    print(f"open {time.monotonic() - t0:.1f}")


def hold(port, n, path):
    import os
    socks = []
    for _ in range(n):  # one by one: each is done being new before the next
        s = connect(port)
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        read_answer(s, time.monotonic() + 10)
        socks.append(s)
    print(f"held {n}", flush=True)
    while not os.path.exists(path):
        time.sleep(0.05)
    s = socks[0]
    s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    print("served " + status_of(read_answer(s, time.monotonic() + 10)), flush=True)
    for s in socks:
        s.close()


def flood(port, n, src, path, silent):
    import os
    socks = [None] * n

    def one(i):
        try:
            s = connect(port, timeout=3, src=src)
            if i % 2 and not silent:
                s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                read_answer(s, time.monotonic() + 3)
            socks[i] = s
        except (OSError, ssl.SSLError):
            pass  # closed at once, or never accepted
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(1)
    held = [s for s in socks if s is not None and not closed(s)[0]]
    print(f"held {len(held)} of {n}", flush=True)
    while not os.path.exists(path):
        time.sleep(0.05)
    for s in socks:
        if s is not None:
            s.close()


def main(argv):
    global TLS
    if argv and argv[0] == "--tls":
        TLS = True
        argv = argv[1:]
    port, cmd, args = int(argv[0]), argv[1], argv[2:]
    if cmd == "refuse":
        refuse(port, int(args[0]), args[1], args[2], int(args[3]), float(args[4]))
    elif cmd == "blast":
        blast(port, int(args[0]), args[1], args[2], int(args[3]))
    elif cmd == "trickle":
        trickle(port, float(args[0]), float(args[1]), args[2], args[3])
    elif cmd == "idle":
        idle(port, float(args[0]))
    elif cmd == "hold":
        hold(port, int(args[0]), args[1])
    elif cmd == "flood":
        flood(port, int(args[0]), args[1], args[2], args[3:] == ["silent"])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
