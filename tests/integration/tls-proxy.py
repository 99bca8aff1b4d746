#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# A TLS-terminating reverse proxy for the tests, standing in for the nginx
# or Caddy that docs/witness.md puts in front of rampart-witness:
#   tls-proxy.py LISTEN_PORT CERT KEY BACKEND_PORT   (127.0.0.1 only)
import socket
import ssl
import sys
import threading


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client, ctx, backend_port):
    try:
        tls = ctx.wrap_socket(client, server_side=True)
        back = socket.create_connection(("127.0.0.1", backend_port))
    except (OSError, ssl.SSLError):
        client.close()
        return
    threading.Thread(target=pipe, args=(back, tls), daemon=True).start()
    pipe(tls, back)


def main():
    port, cert, key, backend = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(64)
    while True:
        client, _ = ls.accept()
        threading.Thread(target=serve, args=(client, ctx, backend), daemon=True).start()


main()
