"""Group commit of WebSocket sends: one writer per process batches what its sockets send.

Every message write holds the publication lock (``messaging.events``) across its commit and
its channel-layer send, so one message at a time is written per cluster and the lock's hold
time bounds the send rate. Sends that arrive while a write is in progress wait here and go
in the *next* write together (``services.message_send_many``): same checks, same rows, same
seq order, one lock hold, one commit and one broadcast for the lot. At low rates a batch is
a single send, so nothing waits that would not have waited anyway.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from channels.db import database_sync_to_async

from chatsite.exceptions import DomainError
from messaging import services
from messaging.serialization import message_payload

logger = logging.getLogger(__name__)

MAX_BATCH = 100

Ack = dict[str, Any]


def _write(sends: list[services.SendRequest]) -> list[Ack | DomainError]:
    outcomes = services.message_send_many(sends=sends)
    return [
        outcome
        if isinstance(outcome, DomainError)
        else {
            "seq": outcome.seq,
            "duplicate": not outcome.created,
            "message": message_payload(outcome.message),
        }
        for outcome in outcomes
    ]


class SendBatcher:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[services.SendRequest, asyncio.Future[Ack]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, send: services.SendRequest) -> Ack:
        """Write ``send`` (in the next batch); returns the ack fields or raises its DomainError."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="parley-send-batcher")
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        await self.queue.put((send, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                outcomes = await database_sync_to_async(_write)([send for send, _ in batch])
            except Exception as exc:
                logger.exception("writing a batch of %d sends failed", len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the socket went away while waiting
                    continue
                if isinstance(outcome, DomainError):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SendBatcher] = weakref.WeakKeyDictionary()


def get_batcher() -> SendBatcher:
    """The running event loop's batcher (one per server process)."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        batcher = _batchers[loop] = SendBatcher()
    return batcher
