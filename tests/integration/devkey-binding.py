#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A device key binding (lib/devkey.h) made as an attacker would.

  devkey-binding.py ORG DEVICE OLDKEY NEWKEY SIGNERS [OUT_NEWKEY]
  devkey-binding.py sign KEYFILE <TEXT     any text as a note signed by that key

OLDKEY and NEWKEY are key files (PRIVATE+KEY+<device id>+<id>+base64), or
`new' for NEWKEY: a fresh key, written to OUT_NEWKEY. SIGNERS says which
keys sign: old, new, or old,new. Prints the note.
"""
import base64
import hashlib
import sys
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization


def load(path):
    text = open(path).read().strip()
    _, _, name, _, b64 = text.split("+", 4)
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(b64)[1:33])


def pub(k):
    return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid(name, p):
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + p).digest()[:4]


def main(org, device, oldkey, newkey, signers, out=None):
    old = load(oldkey)
    if newkey == "new":
        new = Ed25519PrivateKey.generate()
        seed = new.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
        kid = keyid(device, pub(new)).hex()
        b64 = base64.b64encode(b"\x01" + seed).decode()
        with open(out, "w") as f:
            f.write(f"PRIVATE+KEY+{device}+{kid}+{b64}\n")
    else:
        new = load(newkey)
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    text = (f"rampart/device-key/v1\norg {org}\ndevice {device}\n"
            f"old {base64.b64encode(pub(old)).decode()}\nnew {base64.b64encode(pub(new)).decode()}\n"
            f"time {t}\n")
    lines = ""
    for who in signers.split(","):
        k = old if who == "old" else new
        sig = keyid(device, pub(k)) + k.sign(text.encode())
        lines += f"\u2014 {device} {base64.b64encode(sig).decode()}\n"
    sys.stdout.write(text + "\n" + lines)


def sign(keyfile):
    name = open(keyfile).read().strip().split("+", 4)[2]
    k = load(keyfile)
    text = sys.stdin.read()
    sig = keyid(name, pub(k)) + k.sign(text.encode())
    sys.stdout.write(text + "\n" + f"\u2014 {name} {base64.b64encode(sig).decode()}\n")


if __name__ == "__main__":
    if sys.argv[1] == "sign":
        sign(sys.argv[2])
    else:
        main(*sys.argv[1:])
