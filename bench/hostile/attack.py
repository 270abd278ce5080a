#!/usr/bin/env python3
"""Hostile load for bench/hostile.sh: SLOW slow-loris sockets (a header byte every few seconds,
never finishing; reconnecting when the server closes them, as an attacker would) plus IDLE
keep-alive sockets (one request, then silence; reconnecting when closed). Runs until SIGTERM;
writes how many of each are open to STATUS every second."""
import asyncio
import os
import signal
import sys

HOST, PORT = "127.0.0.1", int(sys.argv[1])
SLOW, IDLE = int(sys.argv[2]), int(sys.argv[3])
STATUS = sys.argv[4]
open_count = {"slow": 0, "idle": 0}
GONE = (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError)


async def slow_loris(i, reader, writer):
    """A request whose headers never end: one byte every ~2 s."""
    writer.write(b"GET /api/v1/Customer HTTP/1.1\r\nHost: bench\r\n")
    await writer.drain()
    while not reader.at_eof():
        await asyncio.sleep(2 + (i % 10) / 10)
        writer.write(b"X")
        await writer.drain()


async def idle_keep_alive(i, reader, writer):
    """One request, then silence until the server closes the connection."""
    writer.write(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    while await reader.read(4096):
        pass


async def keep_attacking(kind, behave, i):
    """Connects, behaves, and connects again whenever the server closes the socket."""
    while True:
        try:
            reader, writer = await asyncio.open_connection(HOST, PORT)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        open_count[kind] += 1
        try:
            await behave(i, reader, writer)
        except GONE:
            pass
        finally:
            open_count[kind] -= 1
            writer.close()


async def report():
    while True:
        with open(STATUS + ".tmp", "w") as f:
            f.write(f"{open_count['slow']} {open_count['idle']}\n")
        os.replace(STATUS + ".tmp", STATUS)
        await asyncio.sleep(1)


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    tasks = [asyncio.create_task(keep_attacking("slow", slow_loris, i)) for i in range(SLOW)]
    tasks += [asyncio.create_task(keep_attacking("idle", idle_keep_alive, i)) for i in range(IDLE)]
    tasks.append(asyncio.create_task(report()))
    await stop
    for t in tasks:
        t.cancel()


asyncio.run(main())
