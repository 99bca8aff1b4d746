#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Requests one after another on one kept-alive TLS connection to rampartd.

  keepalive.py PORT [N]

Prints the median, p90 and p99 of N (default 200) `GET /v1/health' round
trips in milliseconds, after 10 to warm up. Without TCP_NODELAY on the
server, each answer's last segment waits for the client's delayed ACK
(about 40 ms on Linux): issue 12's "44 ms per request on a kept-alive
connection". bench/keepalive runs it against a rampartd of its own.
"""
import http.client
import ssl
import statistics
import sys
import time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx)
ms = []
for i in range(n + 10):
    t0 = time.perf_counter()
    c.request("GET", "/v1/health")
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
    if i >= 10:
        ms.append((time.perf_counter() - t0) * 1000)
ms.sort()
print("requests %d  median %.2f ms  p90 %.2f ms  p99 %.2f ms" %
      (n, statistics.median(ms), ms[int(n * 0.9) - 1], ms[int(n * 0.99) - 1]))
