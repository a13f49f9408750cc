"""Rich traffic: the fan-out room at a steady send rate while members react and edit.

Every member socket must receive every ``message.new`` (checked off by message number, as in
the fan-out scenario) and every ``message.updated`` the reactions and edits cause (checked off
by ``seq``). Each successful ``reaction.toggle`` / ``message.edit`` is answered with a
``result`` frame and records exactly one ``message.updated`` (the bench's messages have no
replies, whose previews would add more), so the number of results is the number of updates
every socket must get.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench import infra
from bench.scenarios import (
    ACK,
    Account,
    FanoutRecorder,
    _until,
    client_cpu,
    close_all,
    drive,
    open_sockets,
)
from bench.stats import latency_summary
from bench.wsclient import WsClient

UPDATED = b'"message.updated"'
RESULT = b'{"type":"result"'
EDIT_MARK = b"edited e"  # edited bodies carry their send time: "edited e<µs>"
EMOJI = ("👍", "🎉", "❤️", "😄")


def _int_after(payload: bytes, key: bytes) -> int | None:
    i = payload.find(key)
    if i < 0:
        return None
    i += len(key)
    j = i
    while j < len(payload) and 48 <= payload[j] <= 57:
        j += 1
    return int(payload[i:j]) if j > i else None


class RichRecorder(FanoutRecorder):
    """The fan-out recorder, plus updates per socket by ``seq``, results, and message ids: each
    editor's own (sockets ``0 .. editors-1`` edit only their own) and the newest of the other
    senders' (what reactors react to), so an update carrying an edit mark is always an edit."""

    def __init__(self, sockets: int, editors: int) -> None:
        super().__init__(sockets)
        self.editors = editors
        self.updates: list[set[int]] = [set() for _ in range(sockets)]
        self.first_seen: dict[int, float] = {}
        self.spreads: list[float] = []  # per (socket, update): arrival − first arrival anywhere
        self.edit_latencies: list[float] = []
        self.results = {"reaction.toggle": 0, "message.edit": 0}
        self.latest_reactable = 0
        self.own_messages: dict[int, list[int]] = {}  # socket tag → ids of its acked messages

    def reset(self) -> None:
        super().reset()
        self.updates = [set() for _ in self.updates]
        self.first_seen, self.spreads, self.edit_latencies = {}, [], []
        self.results = dict.fromkeys(self.results, 0)

    def __call__(self, client: WsClient, payload: bytes, now: float) -> None:
        head = payload[:40]
        if UPDATED in head:
            seq = _int_after(payload, b'"seq":')
            if seq is None or seq in self.updates[client.tag]:
                self.duplicates += seq is not None
                return
            self.updates[client.tag].add(seq)
            first = self.first_seen.setdefault(seq, now)
            self.spreads.append(now - first)
            i = payload.find(EDIT_MARK)
            if i >= 0:
                sent = _int_after(payload[i:], EDIT_MARK)
                if sent is not None:
                    self.edit_latencies.append(now - sent / 1e6)
            return
        if payload.startswith(RESULT):
            if b'"op":"reaction.toggle"' in payload:
                self.results["reaction.toggle"] += 1
            elif b'"op":"message.edit"' in payload:
                self.results["message.edit"] += 1
            return
        super().__call__(client, payload, now)
        if payload.startswith(ACK):
            message_id = _int_after(payload, b'"message":{"id":')
            if message_id is None:
                return
            if client.tag < self.editors:
                self.own_messages.setdefault(client.tag, []).append(message_id)
            else:
                self.latest_reactable = max(self.latest_reactable, message_id)


async def _pace(count: int, interval: float, offset: float, act: Any) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05 + offset
    for k in range(count):
        delay = t0 + k * interval - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        act(k)


async def rich(
    server: infra.Server, *, accounts: Sequence[Account], room_id: int, members: int, senders: int,
    rate: float, reactors: int, reactions_per_s: float, editors: int, edits_per_s: float, duration: float,
    drain: float,
) -> dict[str, Any]:  # fmt: skip
    """``senders`` send ``rate`` msg/s in total; ``reactors`` other members toggle reactions on
    the newest message at ``reactions_per_s`` in total; the first ``editors`` senders edit their
    own latest message at ``edits_per_s`` in total."""
    recorder = RichRecorder(members, editors)
    clients, _, failures = await open_sockets(server, members, accounts, recorder)
    if failures:
        close_all(clients)
        raise RuntimeError(f"rich: {failures} of {members} sockets failed to connect")
    sending, reacting = clients[:senders], clients[senders : senders + reactors]
    editing = sending[:editors]
    await asyncio.sleep(0.5)
    try:
        warm, _, _ = await drive(sending, rate, 1.0, room_id)  # warm-up; gives editors messages
        await _until(lambda: len(recorder.latencies) >= len(warm) * members, 15.0)
        await asyncio.sleep(0.3)
        recorder.reset()
        cpu0, server_cpu0 = client_cpu(), infra.cpu_seconds(server.pids())
        sent_reactions = sent_edits = 0

        def react(client: WsClient, k: int) -> None:
            nonlocal sent_reactions
            emoji = EMOJI[(client.tag + k) % len(EMOJI)]
            client.send_json(
                {"type": "reaction.toggle", "message": recorder.latest_reactable, "emoji": emoji}
            )
            sent_reactions += 1

        def edit(client: WsClient, k: int) -> None:
            nonlocal sent_edits
            own = recorder.own_messages.get(client.tag)
            if own:
                body = f"edited e{time.time_ns() // 1000}"
                client.send_json({"type": "message.edit", "message": own[-1], "body": body})
                sent_edits += 1

        per_reactor = reactions_per_s / len(reacting)
        per_editor = edits_per_s / len(editing)
        tasks = [drive(sending, rate, duration, room_id)]
        tasks += [
            _pace(round(per_reactor * duration), 1 / per_reactor, i / reactions_per_s,
                  lambda k, c=c: react(c, k))
            for i, c in enumerate(reacting)
        ]  # fmt: skip
        tasks += [
            _pace(round(per_editor * duration), 1 / per_editor, i / edits_per_s, lambda k, c=c: edit(c, k))
            for i, c in enumerate(editing)
        ]
        wall0 = time.time()
        numbers, _, wall1 = (await asyncio.gather(*tasks))[0]
        expected_new = len(numbers) * members
        numbers_set = set(numbers)

        def complete() -> bool:
            changes = sum(recorder.results.values())
            return (
                len(recorder.latencies) >= expected_new
                and changes >= sent_reactions + sent_edits - recorder.errors
                and all(len(seen) >= changes for seen in recorder.updates)
            )

        await _until(complete, drain)
        delivered = sum(len(seen & numbers_set) for seen in recorder.seen)
        changes = sum(recorder.results.values())
        updates_delivered = sum(len(seen) for seen in recorder.updates)
        span = max(recorder.last_delivery, wall1) - wall0
        server_cpu = infra.cpu_seconds(server.pids()) - server_cpu0
        deliveries = delivered + updates_delivered
        return {
            "members": members, "senders": senders, "reactors": len(reacting), "editors": len(editing),
            "duration_s": duration, "offered_per_s": rate, "reactions_per_s": reactions_per_s,
            "edits_per_s": edits_per_s,
            "sent": len(numbers), "expected_deliveries": expected_new, "delivered": delivered,
            "lost": expected_new - delivered, "duplicated": recorder.duplicates,
            **latency_summary(recorder.latencies),
            "reactions_sent": sent_reactions, "reactions_done": recorder.results["reaction.toggle"],
            "edits_sent": sent_edits, "edits_done": recorder.results["message.edit"],
            "frame_errors": recorder.errors,
            "expected_update_deliveries": changes * members, "update_deliveries": updates_delivered,
            "updates_missing": changes * members - updates_delivered,
            "edit_p99_ms": latency_summary(recorder.edit_latencies)["p99_ms"],
            "update_spread_p99_ms": latency_summary(recorder.spreads)["p99_ms"],
            "server_cpu_s": round(server_cpu, 2), "client_cpu_s": round(client_cpu() - cpu0, 2),
            "cpu_ms_per_1000_deliveries": round(server_cpu * 1e6 / deliveries, 1) if deliveries else None,
            "window_s": round(span, 2),
        }  # fmt: skip
    finally:
        close_all(clients)
