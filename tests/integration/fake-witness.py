#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A hostile witness on 127.0.0.1: it answers every add-checkpoint with a
huge 200, to prove that rampartd does not buffer a witness's answer.

  fake-witness.py PORT MODE SIZE LOG
      MODE length: HTTP/1.1 200 with Content-Length SIZE, then SIZE bytes.
      MODE stream: HTTP/1.0 200 with no length, SIZE bytes, then the close.
      Each answer appends "MODE sent N of SIZE" to LOG (N: what the socket
      took before rampartd closed it).
"""
import socket
import sys
import threading


def answer(conn, mode, size, log):
    sent = 0
    try:
        conn.settimeout(20)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        if mode == "length":
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {size}\r\n\r\n"
        else:
            head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
        conn.sendall(head.encode())
        block = b"x" * 65536
        while sent < size:
            sent += conn.send(block[:min(len(block), size - sent)])
    except OSError:
        pass
    finally:
        with open(log, "a") as f:
            f.write(f"{mode} sent {sent} of {size}\n")
        conn.close()


def main(port, mode, size, log):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=answer, args=(conn, mode, size, log), daemon=True).start()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4])
