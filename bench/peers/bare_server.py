"""Peer (b), the ceiling: a bare ``websockets`` broadcast server, no Django, no database.

Same shape as Parley's production deployment: N worker processes on one port (SO_REUSEPORT),
joined by Redis pub/sub — one publish per message, then each process broadcasts one encoded
frame to its local sockets. ``python -m bench.peers.bare_server --port P --workers 2``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import signal

import redis.asyncio as aioredis
from websockets.asyncio.server import broadcast, serve

HELLO = json.dumps({"type": "hello"})


async def worker(port: int, redis_url: str, channel: str) -> None:
    clients: set = set()
    publisher = aioredis.from_url(redis_url)

    async def handler(ws) -> None:
        clients.add(ws)
        try:
            await ws.send(HELLO)
            async for text in ws:
                data = json.loads(text)
                message = {"room": data.get("room"), "body": data["body"], "client_id": data["client_id"]}
                await publisher.publish(channel, json.dumps({"type": "message.new", "message": message}))
        finally:
            clients.discard(ws)

    async def relay() -> None:
        pubsub = aioredis.from_url(redis_url).pubsub()
        await pubsub.subscribe(channel)
        async for item in pubsub.listen():
            if item["type"] == "message":
                broadcast(clients, item["data"].decode())

    relay_task = asyncio.create_task(relay())
    async with serve(handler, "127.0.0.1", port, reuse_port=True, compression=None, backlog=4096) as server:
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
        await stop
        server.close()
    relay_task.cancel()


def run_worker(port: int, redis_url: str, channel: str) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(worker(port, redis_url, channel))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--channel", default="bare")
    args = parser.parse_args()
    procs = [
        multiprocessing.Process(target=run_worker, args=(args.port, args.redis, args.channel))
        for _ in range(args.workers)
    ]
    for proc in procs:
        proc.start()

    def forward(signum, frame) -> None:
        for proc in procs:
            if proc.pid:
                try:
                    import os

                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    for proc in procs:
        proc.join()


if __name__ == "__main__":
    main()
