"""Soak target: an asyncio loop that stalls now and then (a 150 ms sleep and
a 120 ms CPU burn every few seconds) beside a steady churn of short threads,
each a small epoll loop of its own. Runs until killed; prints "ready PID" and,
every 10 s, "threads N" (threads started so far)."""
import asyncio
import os
import selectors
import sys
import threading
import time

LIVE_AT_ONCE = 8


def short_thread():
    with selectors.DefaultSelector() as sel:
        for _ in range(3):
            sel.select(0)


def churn(counter):
    while True:
        threads = [threading.Thread(target=short_thread, name="churn") for _ in range(LIVE_AT_ONCE)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        counter[0] += LIVE_AT_ONCE


def burn(ms):
    end = time.perf_counter() + ms / 1000
    while time.perf_counter() < end:
        pass


async def main():
    counter = [0]
    threading.Thread(target=churn, args=(counter,), daemon=True, name="churner").start()
    tick = 0
    while True:
        await asyncio.sleep(0.5)
        tick += 1
        if tick % 6 == 0:
            time.sleep(0.15)
        if tick % 6 == 3:
            burn(120)
        if tick % 20 == 0:
            print("threads", counter[0], flush=True)


if __name__ == "__main__":
    print("ready", os.getpid(), flush=True)
    asyncio.run(main())
