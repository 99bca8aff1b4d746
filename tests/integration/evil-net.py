#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A compromised network process (docs/privsep.md), for test-privsep.sh: it
# speaks agent/ipc.h on fd 3 and answers the root process as an attacker
# who owns the process holding the server's connection would. MODE comes
# from the name this file is run under, evil-net-MODE.py (the root
# process gives its stand-in no environment):
#   forged     well-formed answers; every poll gets a delivery of a
#              statement nobody signed, with a log proof made up
#   truncated  a poll answer announced whole and cut short
#   oversized  a poll answer announced as 2 GiB
#   reordered  a poll answered with the sequence number of another request
#   bigfield   a delivery whose statement is over its cap
#   deaf       reads every request and answers none
#   peek       says on stderr (the agent's log) what it could open of the
#              agent's state and whether it could write, then as forged
import os, re, struct, sys, time

MODE = re.search(r"evil-net-(\w+)\.py$", sys.argv[0]).group(1)
REPORT = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "evil-net-report")
STATE = open(REPORT + ".state").read().strip() if os.path.exists(REPORT + ".state") else ""
fd = 3


def read_exact(n):
    b = b""
    while len(b) < n:
        c = os.read(fd, n - len(b))
        if not c:
            sys.exit(0)
        b += c
    return b


def read_msg():
    (n,) = struct.unpack(">I", read_exact(4))
    return read_exact(n)


def lstr(b):
    return struct.pack(">I", len(b)) + b


def send(body):
    os.write(fd, struct.pack(">I", len(body)) + body)


def answer(seq, kind, r, status, msg=b"", tail=b""):
    body = bytes([3]) + struct.pack(">IBiI", seq, kind, r, status) + lstr(msg) + tail
    send(body)


def forged_delivery():
    stmt = (b"rampart/command/v1\norg acme\nid " + b"e" * 32 + b"\nkind exec\n"
            b"not-before 2020-01-01T00:00:00Z\nexpires 2099-01-01T00:00:00Z\n"
            b"run-as root\ntimeout 10\npayload sha256:" +
            b"0" * 64 + b" 0\ntarget " + b"0" * 32 + b"\n\n\u2014 admin1 AAAA\n")
    cp = b"127.0.0.1/rampart/acme\n5\n" + b"A" * 43 + b"=\n\n\xe2\x80\x94 log AAAA\n"
    return (lstr(stmt) + lstr(b"") + struct.pack(">q", 4) + struct.pack(">I", 0) +
            lstr(cp) + struct.pack(">I", 0))


if MODE == "peek":
    seen = []
    for name in ("device.key", "executed", "log.state", "agent.conf", "policy.note"):
        path = os.path.join(STATE, name)
        try:
            open(path, "rb").read(1)
            seen.append("OPENED " + name)
        except OSError as e:
            seen.append("refused %s: %s" % (name, e.strerror))
    seen.append("uid %d euid %d" % (os.getuid(), os.geteuid()))
    try:
        open(REPORT, "w").write("x")
        seen.append("WROTE " + REPORT)
    except OSError as e:
        seen.append("refused writing: %s" % e.strerror)
    # its stderr reaches the agent's log only relayed by the root process,
    # quoted: a forged line, a terminal escape and a bare CR come out inert
    for line in seen:
        print("evil-net: " + line, file=sys.stderr, flush=True)
    print("\x1b[2J\r1999-01-01T00:00:00Z rampart-agent: command 0123 reported ok",
          file=sys.stderr, flush=True)
    MODE = "forged"

read_msg()  # hello
polls = 0
while True:
    m = read_msg()
    if m[0] != 2:
        sys.exit(1)
    seq, kind = struct.unpack(">IB", m[1:6])
    if MODE == "deaf":
        continue
    if kind == 2:  # a poll
        polls += 1
        if MODE == "forged":
            if polls == 1:
                answer(seq, 2, 0, 200, tail=forged_delivery())
            else:
                time.sleep(1)
                answer(seq, 0, 0, 204)
        elif MODE == "truncated":
            body = bytes([3]) + struct.pack(">IBiI", seq, 2, 0, 200) + lstr(b"")
            os.write(fd, struct.pack(">I", len(body) + 5000) + body)
            time.sleep(0.5)
            sys.exit(0)
        elif MODE == "oversized":
            os.write(fd, struct.pack(">I", 0x7FFFFFF0) + b"\x03" * 64)
            time.sleep(30)
        elif MODE == "reordered":
            answer(seq + 7, 2, 0, 200, tail=forged_delivery())
            time.sleep(30)
        elif MODE == "bigfield":
            answer(seq, 2, 0, 200, tail=lstr(b"x" * 70000) + forged_delivery())
            time.sleep(30)
    elif kind == 3:  # a checkpoint refresh: none to give
        answer(seq, 0, -18, 0, b"no route")
    else:  # alerts, results: taken
        answer(seq, 0, 0, 200)
