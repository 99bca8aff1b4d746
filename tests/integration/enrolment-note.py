#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# enrolment-note.py TOKEN|--forge ORG TOKEN-ID HOSTNAME OUT: an enrolment
# note (docs/formats.md, "Enrolment note") for a fresh device key, signed
# with the seed of the reusable token TOKEN (a token holder's), or with a
# key of the attacker's own (--forge: a breached server, which never saw
# the seed). Writes the note to OUT and prints the device id.
import base64, datetime, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

def raw_pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

def sig_line(name, key, text):
    kid = hashlib.sha256(name.encode() + b"\n\x01" + raw_pub(key)).digest()[:4]
    return "\u2014 %s %s\n" % (name, base64.b64encode(kid + key.sign(text)).decode())

if sys.argv[1] == "--forge":
    org, tid, host, out = sys.argv[2:6]
    tkey = Ed25519PrivateKey.generate()
else:
    tok, host, out = sys.argv[1:4]
    b = tok[5:] + "=" * (-len(tok[5:]) % 4)
    f = dict(l.split(" ", 1) for l in base64.urlsafe_b64decode(b).decode().splitlines()[1:])
    org, tid = f["org"], f["token"]
    tkey = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(f["seed"]))
dkey = Ed25519PrivateKey.generate()
pub = raw_pub(dkey)
dev = hashlib.sha256(pub).hexdigest()[:32]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
text = ("rampart/enrolment/v1\norg %s\ntoken %s\ndevice %s\npubkey %s\nhostname %s\ntime %s\n"
        % (org, tid, dev, base64.b64encode(pub).decode(), host, now)).encode()
note = text.decode() + "\n" + sig_line("token-" + tid, tkey, text) + sig_line(dev, dkey, text)
open(out, "w").write(note)
open(out + ".pub", "w").write(pub.hex())
print(dev)
