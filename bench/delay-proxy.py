#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""delay-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS: a TCP proxy on
127.0.0.1 that holds every byte DELAY_MS in each direction, in order, so
a witness on loopback answers like one across a network (bench/burst)."""
import asyncio, sys

listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000


async def pump(reader, writer):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    async def send():
        while True:
            at, data = await q.get()
            await asyncio.sleep(max(0, at - loop.time()))
            if not data:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            q.put_nowait((loop.time() + delay, data))
            if not data:
                break
    except ConnectionError:
        q.put_nowait((loop.time(), b""))
    try:
        await task
    except ConnectionError:
        pass


async def client(reader, writer):
    try:
        ur, uw = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pump(reader, uw), pump(ur, writer), return_exceptions=True)


async def main():
    server = await asyncio.start_server(client, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


asyncio.run(main())
