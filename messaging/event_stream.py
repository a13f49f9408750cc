"""The fallback transport: the event stream as Server-Sent Events, at ``/events/stream/``
(protocol: docs/websocket.md, "Fallback: Server-Sent Events").

For browsers behind networks that break WebSockets. It is one more subscriber of the process
hub (``messaging.subscriber``), so it carries the very frames a ``/ws/`` socket gets, each as
one ``data:`` line, stored events with ``id: <seq>``: the browser sends the last one back as
``Last-Event-ID`` when it reconnects, and the stream replays from there (as ``?since=`` does).
Clients send over REST. A ``heartbeat`` event every ``SSE_HEARTBEAT_SECONDS`` keeps idle streams
open through proxies, and lets the page tell a stalled stream (a connection that silently stopped
carrying anything) from a quiet one: an event, not a comment, since ``EventSource`` hides
comments. A plain ASGI app rather than Channels' ``AsyncHttpConsumer``: that consumer
reads nothing from the client while its handler runs, so it could not notice a client that
left; this one listens for ``http.disconnect`` the whole time.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.services import user_touch_last_seen
from accounts.ws_auth import query_param
from chatsite.api_errors import RESPONSES
from chatsite.exceptions import DomainError
from chatsite.realtime.fanout import HubUnavailable
from chatsite.validation import InvalidNumber, parse_optional_id
from messaging.subscriber import HubSubscriber
from rooms.selectors import membership_get

logger = logging.getLogger(__name__)
# Named, with data: EventSource dispatches neither comments nor events with empty data.
HEARTBEAT = b"event: heartbeat\ndata: {}\n\n"

EVENT_STREAM_PATH = "/events/stream/"
CLOSE_TRY_AGAIN = 1013  # the WebSocket's close codes, sent as a final "close" event
CLOSE_ACCOUNT_CLOSED = 4403
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-store"),
    (b"x-accel-buffering", b"no"),  # nginx: pass each event on at once
]

# Open streams per user in this process (SSE_MAX_STREAMS_PER_USER bounds it).
open_streams: Counter[int] = Counter()


def sse_event(seq: int | None, text: str, *, event: str | None = None) -> bytes:
    lines = [] if event is None else [f"event: {event}"]
    if seq is not None:
        lines.append(f"id: {seq}")
    lines.extend(f"data: {line}" for line in text.split("\n"))  # frames are one line: JSON
    return ("\n".join(lines) + "\n\n").encode()


async def respond_error(
    send: Any, status: int, code: str, detail: str, *headers: tuple[bytes, bytes]
) -> None:
    """A refusal before the stream starts: the REST API's error shape (EventSource gives up on it)."""
    body = json.dumps({"detail": detail, "code": code}).encode()
    headers = ((b"content-type", b"application/json"), *headers)
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


class EventStream(HubSubscriber):
    def __init__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        self.receive = receive
        self.send = send
        self.ended = asyncio.Event()
        self.close_code: int | None = None

    @classmethod
    async def as_asgi(cls, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await cls(scope, receive, send).run()

    async def run(self) -> None:
        if self.scope.get("method") != "GET":
            await respond_error(self.send, 405, "method_not_allowed", "Use GET.")
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await respond_error(
                self.send, 401, "not_authenticated", "Authentication credentials were not provided."
            )
            return
        room_id: int | None = None
        try:
            room_id = parse_optional_id(query_param(self.scope, "room"), label="room")
            if room_id is not None:
                await database_sync_to_async(membership_get)(user=user, room_id=room_id)
        except InvalidNumber:
            await respond_error(self.send, 400, "invalid_room", "'room' must be an integer room id.")
            return
        except DomainError as exc:  # a room you are not in: exactly as one that does not exist
            await respond_error(self.send, exc.status, exc.code, exc.detail)
            return
        if open_streams[user.id] >= settings.SSE_MAX_STREAMS_PER_USER:
            await respond_error(
                self.send,
                429,
                "too_many_streams",
                f"At most {settings.SSE_MAX_STREAMS_PER_USER} event streams per user: close one first.",
                (b"retry-after", b"10"),
            )
            return
        open_streams[user.id] += 1
        try:
            await self.stream(user, room_id)
        finally:
            open_streams[user.id] -= 1
            if not open_streams[user.id]:
                del open_streams[user.id]

    async def stream(self, user: Any, room_id: int | None) -> None:
        self.subscriber_init(user, wants_html=query_param(self.scope, "html") == "1")
        await self.send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        listener = asyncio.create_task(self.wait_for_disconnect())
        subscribed = False
        try:
            await self.write(b": stream open\n\n")
            since = await self.cursor_asked()
            try:
                await self.subscribe(user, since=since)
                subscribed = True
            except HubUnavailable:
                logger.exception("no channel layer: ending a new event stream")
                await self.end(CLOSE_TRY_AGAIN, "The server lost its channel layer: reconnect later.")
            if self.hub is not None and room_id is not None:
                self.hub.show(self, room_id)  # the stream's room.open
            await self.keep_alive()
        finally:
            listener.cancel()
            self.release()
            if subscribed:
                await database_sync_to_async(user_touch_last_seen)(user_id=self.user_id)
        await self.write(b"", more_body=False)  # ignored by the server if the client has gone

    async def keep_alive(self) -> None:
        """Heartbeats until the client leaves or the stream is ended; a stream lives at most
        ``SSE_MAX_SECONDS`` (0: no limit), then ends with ``close`` 1013 and the client resumes
        with ``Last-Event-ID``, so no proxy or client holds one response forever."""
        loop = asyncio.get_running_loop()
        limit = settings.SSE_MAX_SECONDS
        until = loop.time() + limit if limit else None
        while not self.ended.is_set():
            wait = settings.SSE_HEARTBEAT_SECONDS
            if until is not None:
                wait = min(wait, until - loop.time())
                if wait <= 0:
                    await self.end(CLOSE_TRY_AGAIN, "This stream reached its time limit: reconnect.")
                    return
            try:
                await asyncio.wait_for(self.ended.wait(), timeout=wait)
            except TimeoutError:
                if until is None or loop.time() < until:
                    await self.write(HEARTBEAT)

    async def cursor_asked(self) -> int | None:
        """The browser's ``Last-Event-ID`` (the newest ``id`` it got, when it reconnects by
        itself) wins over ``?since=`` (still the one of the first request)."""
        header = next((v for k, v in self.scope.get("headers", []) if k == b"last-event-id"), None)
        raw = header.decode("latin1") if header is not None else query_param(self.scope, "since")
        return await self.since_asked(raw)

    async def wait_for_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass
        self.ended.set()

    async def write(self, body: bytes, *, more_body: bool = True) -> None:
        try:
            await self.send({"type": "http.response.body", "body": body, "more_body": more_body})
        except Exception:  # the client went away mid-write; the disconnect ends the stream
            logger.debug("writing to a closed event stream failed", exc_info=True)
            self.ended.set()

    async def push(self, seq: int | None, text: str) -> None:
        if not self.ended.is_set():
            await self.write(sse_event(seq, text))

    async def end(self, code: int, reason: str) -> None:
        """Tell the client why the stream ends (the WebSocket's close code), then end it."""
        self.release()
        if not self.ended.is_set():
            await self.write(sse_event(None, json.dumps({"code": code, "reason": reason}), event="close"))
            self.close_code = code
            self.ended.set()

    # -- hub callbacks (fanout.LocalSocket) -----------------------------------------------------

    async def reconnect_required(self) -> None:
        await self.end(CLOSE_TRY_AGAIN, "Events may have been missed: reconnect with Last-Event-ID.")

    async def account_closed(self) -> None:
        await self.end(CLOSE_ACCOUNT_CLOSED, "The account was deactivated: do not reconnect.")


# --- OpenAPI ------------------------------------------------------------------------------------


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


SSE_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "data": {"type": "string", "description": "One frame of the WebSocket protocol (JSON)."},
        "event": {
            "type": "string",
            "enum": ["message", "heartbeat", "close"],
            "description": "`heartbeat`: data `{}`, when nothing else was sent for a while; `close`: the last one.",
        },
        "id": {"type": "string", "description": "The stored event's seq."},
        "retry": {"type": "integer"},
    },
    "required": ["data"],
}


def document_event_stream(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: list ``GET /events/stream/``, which is served
    outside Django's URL conf (chatsite.asgi), with the errors ``EventStream.run`` answers."""
    seq = {"type": "integer", "minimum": 0}
    result["paths"][EVENT_STREAM_PATH] = {
        "get": {
            "operationId": "events_stream",
            "tags": ["events"],
            "summary": "The event stream as Server-Sent Events (the fallback for blocked WebSockets)",
            "description": (
                "The frames of `/ws/` (docs/websocket.md), each as one `data:` line; stored events "
                "carry `id: <seq>`. Starts with `hello`, then the events after `since` (or the "
                "`Last-Event-ID` header, which wins), then live events. An `event: heartbeat` "
                "every `SSE_HEARTBEAT_SECONDS`; an `event: close` with the WebSocket's close code ends "
                "it (1013: reconnect with `Last-Event-ID`; 4403: do not). Send over REST."
            ),
            "parameters": [
                _query("since", "Replay the events after this seq.", seq),
                _query("room", "The room the client shows (hears its typing and receipts).", seq),
                _query("html", "`1`: message frames also carry the rendered `html`.", {"type": "string"}),
                _query(
                    "ticket",
                    "A ticket from `POST /api/auth/ws-ticket/` instead of a token.",
                    {"type": "string"},
                ),
                {
                    "name": "Last-Event-ID",
                    "in": "header",
                    "required": False,
                    "description": "The last `id` received (browsers send it when they reconnect).",
                    "schema": {"type": "string"},
                },
            ],
            "security": [{"jwtAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "An endless stream of events (`text/event-stream`).",
                    # Each event, as OpenAPI 3.2 describes text/event-stream items (and
                    # schemathesis checks them): `data` is a frame's JSON, `id` its seq.
                    "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
                },
                **{
                    str(s): {"$ref": f"#/components/responses/{RESPONSES[s][0]}"}
                    for s in (400, 401, 404, 429, 503)
                },
            },
        }
    }
    return result
