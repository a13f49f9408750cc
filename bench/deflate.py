"""The permessage-deflate decision, measured: Parley with the extension refused (the default,
``WS_DEFLATE=off``) and accepted (``WS_DEFLATE=on``), same browser-like client, same run.

For each setting: memory per held socket, and the fan-out room at one rate (server CPU per
1,000 deliveries, p99, bytes on the wire per delivery). Then the bytes on the wire for typical
frames as a browser page receives them (``?html=1``): a short message, a long one, and a
catch-up burst — raw, deflated per message (no context takeover), and deflated with context
takeover (what per-socket compression gives: each frame may refer back to the ones before).
"""

from __future__ import annotations

import asyncio
import json
import time
import zlib
from collections.abc import Sequence
from typing import Any

from bench import infra
from bench.scenarios import HOST, Account, _until, connections, fanout, new_client_id, ticket
from bench.wsclient import WsClient, ws_connect

SHORT = "Lunch at noon? **Tacos** again, see https://example.com/menu"
LONG = "\n\n".join(
    [
        "## Release notes draft\n\nThis week we shipped the new search, faster history and a lot of fixes.",
        "- Search understands `from:`, `in:` and quoted phrases\n- History pages load in under 15 ms\n"
        "- Reactions show who reacted\n- Edited messages keep their history",
        "```\nmake bench\nmake test\n```",
        "> Thanks to everyone who reviewed, tested and reported bugs. " * 6,
        "Known issues: the emoji picker does not yet remember your skin tone; the mobile composer "
        "grows one line too far on very small screens. Both are tracked and will land next week. " * 4,
    ]
)


def _header(n: int) -> int:
    return 2 if n < 126 else 4 if n < 65536 else 10


def wire_sizes(frames: Sequence[bytes]) -> dict[str, int]:
    """Bytes on the wire for ``frames``, server to client (frame headers included)."""
    raw = sum(len(f) + _header(len(f)) for f in frames)
    alone = 0
    for frame in frames:
        compressor = zlib.compressobj(wbits=-15)
        size = len(compressor.compress(frame) + compressor.flush(zlib.Z_SYNC_FLUSH)) - 4
        alone += size + _header(size)
    stream = zlib.compressobj(wbits=-15)
    context = 0
    for frame in frames:
        size = len(stream.compress(frame) + stream.flush(zlib.Z_SYNC_FLUSH)) - 4
        context += size + _header(size)
    return {"frames": len(frames), "raw": raw, "deflate_no_context": alone, "deflate_context": context}


async def typical_frames(server: infra.Server, account: Account, room_id: int) -> dict[str, list[bytes]]:
    """The frames a browser page gets: two messages it sends, then a reconnect's catch-up."""
    port = server.ports[0]
    got: list[bytes] = []

    def keep(client: WsClient, payload: bytes, now: float) -> None:
        if b'"message.new"' in payload[:32]:
            got.append(payload)

    client, hello = await ws_connect(HOST, port, f"/ws/?html=1&ticket={await ticket(port, account)}", keep)
    seq = json.loads(hello or b"{}").get("seq", 0)
    for body in (SHORT, LONG):
        _, cid = new_client_id()
        client.send_json({"type": "message.send", "room": room_id, "body": body, "client_id": cid})
        count = len(got)
        await _until(lambda count=count: len(got) > count, 10.0)
    client.close()
    short, long = got[-2], got[-1]
    burst: list[bytes] = []
    since = max(0, seq - 48)
    path = f"/ws/?html=1&since={since}&ticket={await ticket(port, account)}"
    again, _ = await ws_connect(HOST, port, path, lambda c, p, now: burst.append(p))
    await _until(lambda: len(burst) >= 50, 10.0)
    await asyncio.sleep(0.3)
    again.close()
    return {"short": [short], "long": [long], "catch_up": burst}


async def policy(
    start: Any, accounts_for: Any, *, setting: str, members: int, senders: int, rate: float, duration: float,
    drain: float, sockets: int, room_id: Any, frames: bool,
) -> dict[str, Any]:  # fmt: skip
    """One setting of WS_DEFLATE: held-socket memory, then the fan-out room at ``rate``."""
    server = start("parley-uvicorn", extra_env={"WS_DEFLATE": setting})
    try:
        accounts = await accounts_for(server, members)
        held = await connections(server, count=sockets, accounts=accounts, idle=2.0)
        await asyncio.sleep(1.0)
        fan = await fanout(
            server, members=members, senders=senders, rates=(rate,), duration=duration, drain=drain,
            accounts=accounts, room_id=room_id(),
        )  # fmt: skip
        (row,) = fan["rates"]
        out = {
            "setting": setting,
            "sockets_held": held["held"],
            "held_negotiated": held["deflate_negotiated"],
            "rss_per_socket_kb": held["rss_per_socket_kb"],
            "members": members,
            "negotiated": fan["deflate_negotiated"],
            **{k: row[k] for k in ("offered_per_s", "delivered", "lost", "p50_ms", "p99_ms", "max_ms", "server_cpu_s")},
            "cpu_ms_per_1000_deliveries": round(row["server_cpu_s"] * 1e6 / row["delivered"], 1)
            if row["delivered"] else None,
            "wire_bytes_per_delivery": round(row["wire_bytes"] / row["delivered"], 1) if row["delivered"] else None,
        }  # fmt: skip
        if frames:
            started = time.monotonic()
            sample = await typical_frames(server, accounts[0], room_id())
            out["typical_frames"] = {name: wire_sizes(f) for name, f in sample.items()}
            out["typical_frames_s"] = round(time.monotonic() - started, 1)
        return out
    finally:
        server.stop()
