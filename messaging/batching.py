"""Group commit of sends: one writer per process batches what its sockets and requests send.

Every message write holds the publication lock (``chatsite.realtime.events``) across its commit and
its channel-layer send, so one message at a time is written per cluster and the lock's hold
time bounds the send rate. Sends that arrive while a write is in progress wait here and go
in the *next* write together (``services.message_send_many``): same checks, same rows, same
seq order, one lock hold, one commit and one broadcast for the lot. At low rates a batch is
a single send, so nothing waits that would not have waited anyway.

WebSocket consumers submit from the server's event loop. Sync views (REST, the web composer)
run in worker threads of that loop under ASGI and join the same batches through
``message_send_in_request``; outside ASGI (WSGI, the sync test client) there is no loop to
join and a send is written on its own, by the same function.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, connection
from django.http import HttpRequest

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


def _write_in_writer_thread(sends: list[services.SendRequest]) -> list[Ack | DomainError]:
    # What channels' database_sync_to_async does around a call: no stale connection in, none out.
    close_old_connections()
    try:
        return _write(sends)
    finally:
        close_old_connections()


class SendBatcher:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[services.SendRequest, asyncio.Future[Ack]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # The batcher's own thread: asgiref's shared thread may be the very one blocked in a
        # sync view waiting for this batch (message_send_in_request), which would deadlock.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-send-writer")

    async def submit(self, send: services.SendRequest) -> Ack:
        """Write ``send`` (in the next batch); returns the ack fields or raises its DomainError."""
        if self._task is None or self._task.done():
            # A context of its own: the batcher outlives the request or socket that started it,
            # and must not inherit that one's asgiref executors.
            self._task = asyncio.create_task(
                self._run(), name="parley-send-batcher", context=contextvars.Context()
            )
        future: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
        await self.queue.put((send, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                outcomes = await asyncio.get_running_loop().run_in_executor(
                    self._writer, _write_in_writer_thread, [send for send, _ in batch]
                )
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


async def _submit(send: services.SendRequest) -> Ack:
    return await get_batcher().submit(send)


def message_send_in_request(request: HttpRequest, send: services.SendRequest) -> Ack:
    """Send from a sync view: the ack fields, or raises the send's DomainError.

    Under ASGI the view runs in a worker thread of the server's event loop: the send joins that
    loop's group commit, with the process's WebSocket sends. Otherwise, or inside a transaction
    (whose outcome the send must share), it is written alone, here.
    """
    if isinstance(request, ASGIRequest) and not connection.in_atomic_block:
        # Hand this thread's connection back to the pool while waiting: the batch's writer needs
        # one, and requests that each held one while waiting for it could empty the pool and
        # deadlock (20 concurrent REST sends did, with the default pool of 10).
        connection.close()
        return async_to_sync(_submit)(send)
    (outcome,) = _write([send])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome
