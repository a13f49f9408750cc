"""The OpenAPI schema tells the truth: schemathesis drives every operation of a real server.

The schema is loaded from the server's own ``/api/schema/``; each operation gets generated
requests, valid and invalid ones, and every response must be documented: its status, its
content type, its body and its headers, and no 5xx. Requests are made as a real user who owns
rooms, so every operation answers 2xx too, not only 400 and 404.

One real server (``start_server``, the production ASGI entry point) serves every operation: a
REST send there takes the path it takes in production (``messaging.batching``'s group commit),
which the in-process test client does not. So the operations are driven from this one test with
schemathesis' Hypothesis strategies; ``schema.parametrize()`` would start a server per operation,
and ``schemathesis.pytest.from_fixture`` does not run on pytest 9.2 (it sets ``Node._nodeid``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from conftest import PASSWORD
from messaging.services import message_send
from rooms import services
from rooms.models import Membership, Room

pytestmark = pytest.mark.server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Bounded and reproducible: at most this many valid and as many invalid requests per operation
# (about a minute in all), drawn from a fixed seed per operation; no example database on disk.
EXAMPLES = 50
SEED = 20260417
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


def stable_hash(value: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(value).encode(), digest_size=8).digest(), "big")


def pick(value: object, choices: list) -> object:
    """One of ``choices``, chosen by the generated ``value`` (so runs stay reproducible)."""
    return choices[stable_hash(value) % len(choices)]


@dataclass
class World:
    """The user the requests are made as, and what they may act on."""

    me: User
    bob: User
    carol: User
    home: Room  # public, me the owner, bob a member
    private: Room  # private, me the owner, bob a member
    direct: Room  # me and bob
    elsewhere: Room  # public, carol's: me may join it
    statuses: Counter = field(default_factory=Counter)
    actor: User | None = None  # who the next request is made as: me, unless aim() says otherwise
    aimed: set[str] = field(default_factory=set)  # operations that had their first, valid aim
    aimed_body: set[str] = field(default_factory=set)  # …and their first request with a body

    def restore(self) -> None:
        """Undo what earlier requests did to the rooms the next one points at (leave, remove,
        role changes and ownership transfers): me the owner, everyone else a member."""
        owner = Membership.Role.OWNER
        for room in (self.home, self.private):
            Membership.objects.update_or_create(user=self.me, room=room, defaults={"role": owner})
            Membership.objects.get_or_create(user=self.bob, room=room)
            Membership.objects.filter(room=room).exclude(user=self.me).update(role=Membership.Role.MEMBER)

    def aim(self, case: Case) -> None:
        """Point most generated ids and names at things that exist; keep the rest as generated."""
        # Invalid requests may carry made-up headers. A Host header picks the site, not an API
        # operation (Django refuses one not in ALLOWED_HOSTS with its own page, before any view).
        for name in [name for name in case.headers or {} if name.lower() == "host"]:
            del case.headers[name]
        self.actor = self.me
        # Each operation's first request (a positive one) is aimed squarely at what is valid — my
        # room, bob in it, my password — so every operation gets a 2xx whatever values the
        # schema's generator happens to draw; later requests are aimed by their generated values.
        first = case.operation.label not in self.aimed
        self.aimed.add(case.operation.label)
        params = case.path_parameters or {}
        if isinstance(params.get("room_id"), int):
            rooms = [self.home, self.private, self.direct, self.elsewhere]
            params["room_id"] = (
                self.home.id
                if first
                else pick(params["room_id"], [r.id for r in rooms] + [params["room_id"]])
            )
        if isinstance(params.get("user_id"), int):
            users = [self.bob, self.carol, self.me]
            params["user_id"] = (
                self.bob.id if first else pick(params["user_id"], [u.id for u in users] + [params["user_id"]])
            )
        if isinstance(params.get("message_id"), int):
            # A fresh message for each request (an earlier one may have been deleted): mine, or
            # bob's to report (one's own message cannot be reported).
            reported = case.operation.label == "POST /api/messages/{message_id}/report/"
            fresh = message_send(
                sender=self.bob if reported else self.me, room_id=self.home.id, body="aimed at"
            ).message
            params["message_id"] = pick(params["message_id"], [fresh.id, fresh.id, params["message_id"]])
        body = case.body
        if not isinstance(body, dict):
            return
        operation = case.operation.label
        # The first request of the operation that has a body to aim (the very first may have none).
        first = operation not in self.aimed_body
        self.aimed_body.add(operation)
        if isinstance(body.get("user"), int):  # the member a transfer names
            users = [self.bob, self.carol, self.me]
            body["user"] = (
                self.bob.id if first else pick(body["user"], [u.id for u in users] + [body["user"]])
            )
        if first and body.get("role") is not None:
            body["role"] = Membership.Role.ADMIN
        if operation in ("POST /api/rooms/{room_id}/members/", "POST /api/auth/token/") and isinstance(
            body.get("username"), str
        ):
            names = [self.bob.username, self.carol.username, self.me.username]
            body["username"] = pick(body["username"], [*names, body["username"]])
            if body["username"] == self.me.username and isinstance(body.get("password"), str):
                body["password"] = pick(body["password"], [PASSWORD, body["password"]])
        if isinstance(body.get("usernames"), list) and body["usernames"]:
            others = [[self.bob.username], [self.carol.username]]
            body["usernames"] = pick(body["usernames"], [*others, body["usernames"]])
        if operation == "POST /api/messages/{message_id}/reactions/" and isinstance(body.get("emoji"), str):
            body["emoji"] = pick(body["emoji"], ["👍", body["emoji"]])
        if operation == "POST /api/auth/password/":
            # Only ever "changed" to the same password (a valid new one), so PASSWORD keeps working
            # for the requests after it; a wrong old password still varies.
            if isinstance(body.get("old_password"), str):
                body["old_password"] = pick(body["old_password"], [PASSWORD, body["old_password"]])
            if body.get("old_password") == PASSWORD and isinstance(body.get("new_password"), str):
                body["new_password"] = PASSWORD
        if operation == "POST /api/auth/me/delete/":
            # Deleting "me" would leave nobody to make the next requests as: a fresh account is.
            self.actor = User.objects.create_user(username=f"gone{User.objects.count()}", password=PASSWORD)
            if isinstance(body.get("password"), str):
                body["password"] = pick(body["password"], [PASSWORD, body["password"]])
        if isinstance(body.get("refresh"), str):
            body["refresh"] = pick(body["refresh"], [str(RefreshToken.for_user(self.me)), body["refresh"]])
        if first and operation == "POST /api/auth/token/":
            # A fresh account, so nothing earlier requests did to mine can refuse this log-in.
            fresh = User.objects.create_user(username=f"login{User.objects.count()}", password=PASSWORD)
            body["username"], body["password"] = fresh.username, PASSWORD

    def auth_headers(self) -> dict[str, str]:
        # A fresh token per request: generated logout and refresh calls can blacklist tokens, and
        # a password "change" (to the same password, new hash) revokes the tokens made before it.
        actor = self.actor or self.me
        actor.refresh_from_db(fields=["password"])
        return {"Authorization": f"Bearer {AccessToken.for_user(actor)}"}


@pytest.fixture
def world(make_user, make_room) -> World:
    me, bob, carol = make_user(), make_user(), make_user()
    home = make_room(me, name="Home", members=(bob,))
    private = make_room(me, name="Private", kind="private", members=(bob,))
    direct, _ = services.dm_open(user=me, usernames=[bob.username])
    elsewhere = make_room(carol, name="Elsewhere")
    return World(me, bob, carol, home, private, direct, elsewhere)


def exercise(operation: schemathesis.APIOperation, mode: GenerationMode, world: World) -> None:
    @SETTINGS
    @hypothesis.seed(stable_hash((SEED, operation.label, mode.value)))
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        world.restore()
        world.aim(case)
        response = case.call_and_validate(headers=world.auth_headers(), checks=CHECKS, timeout=30)
        world.statuses[case.operation.label, response.status_code] += 1

    run()


# Every operation in one test (one server): past the suite's 300 s per-test limit on a loaded
# 2-core machine, since the password operations each hash with Argon2 (production settings).
@pytest.mark.timeout(900)
def test_every_response_is_documented(start_server, world, subtests, settings):
    settings.SEND_RATE_LIMIT = 1_000_000  # the messages aim() writes from this process
    # A send budget no generated burst exhausts; log-in throttling stays as configured, so 429
    # answers from the token endpoint are exercised (and must be documented).
    # The event stream (GET /events/stream/) never ends by itself: here each one ends after a
    # tenth of a second, as every stream does after SSE_MAX_SECONDS.
    server = start_server(extra_env={"SEND_RATE_LIMIT": "1000000", "SSE_MAX_SECONDS": "0.1"})
    # An explicit (default) config: no schemathesis.toml found on disk changes what runs.
    schema = schemathesis.openapi.from_url(f"{server.url}/api/schema/", config=schemathesis.Config())
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with subtests.test(operation.label, mode=mode.value):
                exercise(operation, mode, world)
    for (label, status), count in sorted(world.statuses.items()):
        print(f"{label:50} {status} x{count}")  # shown when the test fails
    answered = {label for label, status in world.statuses if 200 <= status < 300}
    assert {operation.label for operation in operations} - answered == set()
