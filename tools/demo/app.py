#!/usr/bin/env python3
"""loopprof demo target: a small asyncio HTTP service with classic loop blockers.

It serves on 127.0.0.1 (random port) and drives itself with an in-process
client, so it needs nothing else. Every few seconds one request hits a handler
that blocks the event loop the way real services do:
  /report  renders with a synchronous time.sleep()         (off-CPU, ~300 ms)
  /stats   builds JSON and hashes it in a tight loop       (on-CPU,  ~200 ms)
  /quote   calls a slow backend with a blocking socket     (off-CPU, ~250 ms)
while /health requests keep the loop busy with short, healthy iterations.

Prints "ready <pid>" once serving. Runs until killed (or --seconds N).
"""
import asyncio
import hashlib
import json
import os
import socket
import sys
import threading
import time


# ---- handlers that block the loop ---------------------------------------------------------


def render_report():
    time.sleep(0.3)  # a sync call hiding in an async handler
    return b"report ready\n"


def compute_stats():
    rows = [{"id": i, "name": "user%d" % i, "score": i * 7 % 101} for i in range(2000)]
    digest = b""
    deadline = time.perf_counter() + 0.2
    while time.perf_counter() < deadline:
        blob = json.dumps(rows, sort_keys=True).encode()
        digest = hashlib.sha256(blob + digest).digest()
    return digest.hex().encode() + b"\n"


def fetch_quote(backend_port):
    with socket.create_connection(("127.0.0.1", backend_port)) as conn:  # blocking client
        conn.sendall(b"quote?\n")
        return conn.recv(64)


# ---- a slow legacy backend (its own thread) -------------------------------------------------


def start_backend():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve():
        while True:
            conn, _ = server.accept()
            with conn:
                conn.recv(64)
                time.sleep(0.25)
                conn.sendall(b"42.00\n")

    threading.Thread(target=serve, name="legacy-backend", daemon=True).start()
    return server.getsockname()[1]


# ---- the service --------------------------------------------------------------------------


async def handle(reader, writer, backend_port):
    request = await reader.readline()
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass
    path = request.split()[1].decode() if len(request.split()) > 1 else "/"
    if path == "/report":
        body = render_report()
    elif path == "/stats":
        body = compute_stats()
    elif path == "/quote":
        body = fetch_quote(backend_port)
    else:
        body = b"ok\n"
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    writer.close()


async def get(port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("GET %s HTTP/1.0\r\n\r\n" % path).encode())
    await writer.drain()
    await reader.read()
    writer.close()


async def traffic(port):
    """Health checks every 20 ms; one slow endpoint about every 1.2 s."""
    slow = ["/report", "/stats", "/quote"]
    turn = 0
    while True:
        for _ in range(60):
            await get(port, "/health")
            await asyncio.sleep(0.02)
        await get(port, slow[turn % len(slow)])
        turn += 1


async def main(seconds):
    backend_port = start_backend()
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, backend_port), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    print("ready %d port %d" % (os.getpid(), port), flush=True)
    client = asyncio.ensure_future(traffic(port))
    await asyncio.sleep(seconds)
    client.cancel()
    server.close()


if __name__ == "__main__":
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 1e9
    try:
        asyncio.run(main(seconds))
    except KeyboardInterrupt:
        pass
