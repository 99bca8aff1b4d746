#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The sequencer after a burst of approvals (bench/burst runs this).

Per round: admin1 submits --burst commands, command i to target i (round
robin), then admin2 approves them one after another (or --parallel at a
time). Timed from the moment the last approval
returned: (1) the served checkpoint (GET /v1/log/acme/checkpoint, what
agents are given) covers every entry appended, i.e. the witnesses
cosigned the newest checkpoint; (2) every delivery of the burst is done
(the server's database, read-only, every 10 ms). Then one round of
--scheduled commands approved ahead of one common --not-before, timed
from that second. Prints one line per round and the medians."""
import argparse, concurrent.futures, datetime, http.client, sqlite3, ssl, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
for a in ("port", "pin", "cli", "server", "keydir", "db", "targets", "user"):
    ap.add_argument("--" + a, required=True)
for a in ("burst", "rounds", "scheduled", "parallel"):
    ap.add_argument("--" + a, type=int, required=True)
o = ap.parse_args()
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # loopback benchmark; the CLI pins the key
targets = o.targets.split(",")
DEADLINE = 120


def cli(n, *args):
    p = subprocess.run([o.cli, "--server", o.server, "--pin", o.pin, "--org", "acme",
                        "--key", f"{o.keydir}/admin{n}.key", *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"rampart {' '.join(args[:2])} failed: {p.stderr.strip()}")
    return p.stdout


def submit(i, *extra):
    """Command i of a round, for the i-th agent (round robin): no agent has
    a backlog of its own, so what is timed is the sequencer and delivery."""
    out = cli(1, "run", "--to", targets[i % len(targets)], "--run-as", o.user, *extra, "--",
              "true")
    return out.split()[1]


def served_size():
    c = http.client.HTTPSConnection("127.0.0.1", int(o.port), context=ctx, timeout=5)
    c.request("GET", "/v1/log/acme/checkpoint")
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return int(body.split("\n")[1]) if r.status == 200 else 0


def db():
    return sqlite3.connect(f"file:{o.db}?mode=ro", uri=True, timeout=5)


def query(sql, ids):
    with db() as h:
        return h.execute(sql % ",".join("?" * len(ids)), ids).fetchone()


def logged_end(ids):
    """One past the last log entry of ids, once every one is logged; else None."""
    n, last = query("SELECT count(*), max(log_index) FROM commands WHERE log_index >= 0 AND "
                    "id IN (%s)", ids)
    return last + 1 if n == len(ids) else None


def done(ids):
    return query("SELECT count(*) FROM deliveries WHERE status = 'done' AND command_id IN (%s)",
                 ids)[0]


def wait(t0, ids):
    """Seconds from t0 until a served checkpoint covers every one of ids, and
    until every delivery of ids is done."""
    witnessed = delivered = None
    while time.monotonic() - t0 < DEADLINE and (witnessed is None or delivered is None):
        now = time.monotonic()
        end = logged_end(ids) if witnessed is None else None
        if end is not None and served_size() >= end:
            witnessed = now - t0
        if delivered is None and done(ids) == len(ids):
            delivered = now - t0
        time.sleep(0.01)
    return witnessed, delivered


def approve_all(ids):
    """admin2 approves ids: one after another, or --parallel at a time."""
    with concurrent.futures.ThreadPoolExecutor(o.parallel) as pool:
        list(pool.map(lambda i: cli(2, "approve", "--yes", i), ids))


def ms(x):
    return "never (%d s)" % DEADLINE if x is None else "%.0f ms" % (x * 1000)


wit, dlv, spans = [], [], []
for rnd in range(o.rounds):
    ids = [submit(i) for i in range(o.burst)]
    a0 = time.monotonic()
    approve_all(ids)
    t0 = time.monotonic()
    w, d = wait(t0, ids)
    wit.append(w)
    dlv.append(d)
    spans.append(t0 - a0)
    print(f"burst round {rnd + 1}: {o.burst} approvals ({o.parallel} at a time) in {t0 - a0:.1f} s "
          f"to {len(targets)} agents; after the last: witnessed {ms(w)}, all {o.burst} "
          f"deliveries done {ms(d)}", flush=True)
    time.sleep(2)


def median(v):
    return None if any(x is None for x in v) else statistics.median(v)


def worst(v):
    return None if any(x is None for x in v) else max(v)


print(f"burst of {o.burst} approvals ({o.parallel} at a time), {o.rounds} rounds, after the last "
      f"approval: witnessed median {ms(median(wit))} (worst {ms(worst(wit))}), deliveries done "
      f"median {ms(median(dlv))} (worst {ms(worst(dlv))}); the approvals took a median "
      f"{statistics.median(spans):.1f} s")

if o.scheduled > 0:
    # Far enough ahead for every submission and approval to land before it.
    nb = int(time.time()) + 8 + o.scheduled
    when = datetime.datetime.fromtimestamp(nb, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [submit(i, "--not-before", when) for i in range(o.scheduled)]
    approve_all(ids)
    if time.time() >= nb:
        print("scheduled: approvals took past the not-before; skipped")
    else:
        while time.time() < nb:
            time.sleep(0.001)
        w, d = wait(time.monotonic(), ids)
        print(f"scheduled: {o.scheduled} commands due at the same second to {len(targets)} "
              f"agents; after their not-before: witnessed {ms(w)}, all {o.scheduled} "
              f"deliveries done {ms(d)}")
