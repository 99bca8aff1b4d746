#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fan-out latency: per round, admin1 submits a command to every target,
admin2's approval is the final signature; we time from just before that
approval to each device's result being stored, by polling the results API
with a read-only API token every 10 ms."""
import argparse, http.client, json, ssl, statistics, subprocess, time

ap = argparse.ArgumentParser()
for a in ("port", "token", "rounds", "targets", "cli", "server", "pin", "keydir", "user"):
    ap.add_argument("--" + a, required=True)
o = ap.parse_args()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # loopback benchmark; the CLI pins the key
ntargets = len(o.targets.split(","))

def cli(n, *args):
    return subprocess.run([o.cli, "--server", o.server, "--pin", o.pin, "--org", "acme",
                           "--key", f"{o.keydir}/admin{n}.key", *args],
                          check=True, capture_output=True, text=True).stdout

def results(conn, cid):
    conn.request("GET", f"/v1/orgs/acme/commands/{cid}/results",
                 headers={"Authorization": "Bearer " + o.token})
    r = conn.getresponse()
    return json.loads(r.read())["results"]

lat, alls = [], []
for rnd in range(int(o.rounds)):
    out = cli(1, "run", "--to", o.targets, "--run-as", o.user, "--", "true")
    cid = out.split()[1]
    conn = http.client.HTTPSConnection("127.0.0.1", int(o.port), context=ctx)
    t0 = time.monotonic()
    cli(2, "approve", "--yes", cid)
    seen = {}
    while len(seen) < ntargets and time.monotonic() - t0 < 60:
        now = time.monotonic()
        for r in results(conn, cid):
            if r["status"] == "done" and r["device"] not in seen:
                seen[r["device"]] = now - t0
        time.sleep(0.01)
    conn.close()
    if len(seen) < ntargets:
        print(f"round {rnd + 1}: only {len(seen)} of {ntargets} results within 60 s")
    lat += seen.values()
    alls.append(max(seen.values()))
    print(f"round {rnd + 1}: all {len(seen)} results stored {max(seen.values()) * 1000:.0f} ms after the approval started")
    time.sleep(1)

lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print(f"fan-out to {ntargets} agents, {len(alls)} rounds, per-device latency: "
      f"p50 {q(0.50):.0f} ms, p99 {q(0.99):.0f} ms, max {lat[-1] * 1000:.0f} ms; "
      f"all results stored: median {statistics.median(alls) * 1000:.0f} ms")
