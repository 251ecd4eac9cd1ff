"""A trivial aiohttp server for the req/s overhead case of tools/bench/run.sh.

    /usr/bin/python3 tools/bench/aiohttp_server.py PORT [--uvloop]

Listens on 127.0.0.1 only; GET / answers "ok". PYTHONASYNCIODEBUG=1 in the
environment turns on asyncio debug mode, as usual.
"""

import asyncio
import sys

from aiohttp import web


async def handle(_request):
    return web.Response(text="ok")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: aiohttp_server.py PORT [--uvloop]")
    port = int(sys.argv[1])
    if "--uvloop" in sys.argv[2:]:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    app = web.Application()
    app.router.add_get("/", handle)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
