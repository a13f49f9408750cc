"""A helper process of the load generator that opens and holds sockets.

One process may not hold 20,000 sockets (its open-file limit, which an unprivileged run cannot
raise), so the connections scenario spreads them over a few of these. Protocol, one JSON line
each way: stdin gets ``{"ports", "count", "offset", "accounts": [[username, access, refresh]],
"deflate"}``; once its sockets are open the holder prints ``{"held", "failures", "times"}``;
on the line ``close`` it prints ``{"alive", "negotiated"}``, closes them and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import dataclass

from bench import infra, wsclient
from bench.scenarios import Account, _noop, close_all, open_sockets


@dataclass
class Ports:
    ports: list[int]


async def hold(order: dict) -> None:
    wsclient.OFFER_DEFLATE = order["deflate"]
    accounts = [Account(username=u, token=t, refresh=r) for u, t, r in order["accounts"]]
    # Start at ``offset`` so the holders share accounts and ports round-robin between them.
    rotated = accounts[order["offset"] % len(accounts) :] + accounts[: order["offset"] % len(accounts)]
    with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the protocol's lines
        clients, times, failures = await open_sockets(
            Ports(order["ports"]), order["count"], rotated, _noop, limit=100
        )
    print(json.dumps({"held": len(clients), "failures": failures, "times": times}), flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() not in ("close", ""):
        pass
    alive = sum(1 for c in clients if not c.closed)
    negotiated = sum(1 for c in clients if c.deflate)
    print(json.dumps({"alive": alive, "negotiated": negotiated}), flush=True)
    close_all(clients)
    await asyncio.sleep(0.5)


def main() -> None:
    infra.raise_nofile()
    asyncio.run(hold(json.loads(sys.stdin.readline())))


if __name__ == "__main__":
    main()
