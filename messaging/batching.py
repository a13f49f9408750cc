"""Group commit: one writer per process batches what its sockets and requests send, and
another the reads its sockets report (``reads.read_mark_many``: one UPDATE for the lot).

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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIRequest
from django.db import DatabaseError, close_old_connections, connection
from django.http import HttpRequest

from chatsite.exceptions import DomainError
from messaging import services
from messaging.exceptions import ReadFailed, SendFailed
from messaging.reads import ReadRequest, read_mark_many
from messaging.selectors import Unread
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


def _in_writer_thread(write: Callable[[list[Any]], list[Any]], items: list[Any]) -> list[Any]:
    # What channels' database_sync_to_async does around a call: no stale connection in, none out.
    close_old_connections()
    try:
        return write(items)
    finally:
        close_old_connections()


def _mark_read(reads: list[ReadRequest]) -> list[tuple[Unread, bool] | DomainError]:
    return read_mark_many(reads=reads)


class GroupCommit:
    """Items submitted from one event loop, written in batches by ``write`` on a thread of its
    own: while one batch is written the next gathers, so a busy process pays one transaction
    per batch rather than one per item. ``write`` returns an outcome per item, in order; an
    outcome that is a DomainError is raised to that item's submitter."""

    def __init__(self, write: Callable[[list[Any]], list[Any]], name: str, failed: type[DomainError]) -> None:
        self.write = write
        self.name = name
        self.failed = failed  # what each submitter hears when the database refuses the batch
        self.queue: asyncio.Queue[tuple[Any, asyncio.Future[Any]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        # The batcher's own thread: asgiref's shared thread may be the very one blocked in a
        # sync view waiting for this batch (message_send_in_request), which would deadlock.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"parley-{name}-writer")

    async def submit(self, item: Any) -> Any:
        """Write ``item`` (in the next batch); returns its outcome or raises its DomainError."""
        if self._task is None or self._task.done():
            # A context of its own: the batcher outlives the request or socket that started it,
            # and must not inherit that one's asgiref executors.
            self._task = asyncio.create_task(
                self._run(), name=f"parley-{self.name}-batcher", context=contextvars.Context()
            )
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self.queue.put((item, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                outcomes = await asyncio.get_running_loop().run_in_executor(
                    self._writer, _in_writer_thread, self.write, [item for item, _ in batch]
                )
            except DatabaseError:
                # The database is unreachable (restarting, failing over): the batch's transaction
                # did not commit. Each submitter hears a clear error (a sender retries with its
                # client_id), and the next batch opens a fresh connection.
                logger.exception("the database refused a batch of %d (%s)", len(batch), self.name)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(self.failed())
                continue
            except Exception as exc:
                logger.exception("writing a batch of %d (%s) failed", len(batch), self.name)
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


_batchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, GroupCommit]] = (
    weakref.WeakKeyDictionary()
)
# Looked up when a batch is written (not bound here), so a test can stand in for the database.
_WRITES = {
    "send": (lambda items: _write(items), SendFailed),
    "read": (lambda items: _mark_read(items), ReadFailed),
}


def _group_commit(name: str) -> GroupCommit:
    loop = asyncio.get_running_loop()
    batchers = _batchers.setdefault(loop, {})
    if name not in batchers:
        write, failed = _WRITES[name]
        batchers[name] = GroupCommit(write, name, failed)
    return batchers[name]


def get_batcher() -> GroupCommit:
    """The running event loop's send batcher (one per server process)."""
    return _group_commit("send")


def get_read_batcher() -> GroupCommit:
    """The running event loop's read batcher (one per server process): reads the process's
    sockets report, marked together (``reads.read_mark_many``)."""
    return _group_commit("read")


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
