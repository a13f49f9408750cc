"""The permission matrix of room moderation over REST: every action × every role.

The expected table comes from the declaration below (who may do what, as README's Moderation
section documents it), never from the code under test: an action is allowed for a room role at
or above its ``least`` role; a member below it gets 403 ``forbidden``; anyone who is not a
member — site staff and site moderators included (staff status grants nothing in the chat) —
gets exactly the 404 a missing room (or message) gets. A refusal writes nothing: the moderation
log, the event log, mutes, memberships, the room and the message are as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction

from accounts.models import ModerationLogEntry, User
from chatsite.realtime.models import Event
from messaging import services as messaging_services
from messaging.models import Message
from rooms import moderation
from rooms.models import Membership, Room, RoomMute

pytestmark = pytest.mark.django_db

MISSING = 2_000_000_000  # an id no room, user or message has

# Room roles in rank order; everyone else is an outsider.
RANK = {"member": 1, "admin": 2, "owner": 3}
ROLES = ("owner", "admin", "member", "non_member", "site_moderator", "site_staff")


@dataclass(frozen=True)
class Action:
    least: str  # the least room role allowed
    method: str
    path: str  # {room}, {target} (a plain member) and {message} (the target's) are filled in
    data: dict[str, Any] | None = None
    logged: bool = True  # an allowed call appends to the moderation log


ACTIONS = {
    "message.delete": Action("admin", "delete", "/api/messages/{message}/"),
    "member.remove": Action("admin", "delete", "/api/rooms/{room}/members/{target}/"),
    "member.mute": Action("admin", "post", "/api/rooms/{room}/members/{target}/mute/", {"minutes": 30}),
    "member.unmute": Action("admin", "delete", "/api/rooms/{room}/members/{target}/mute/"),
    "member.role": Action("owner", "patch", "/api/rooms/{room}/members/{target}/", {"role": "admin"}),
    "room.transfer": Action("owner", "post", "/api/rooms/{room}/transfer/", {"user": "{target}"}),
    "room.read_only": Action("admin", "post", "/api/rooms/{room}/moderate/", {"read_only": True}),
    "room.archive": Action("owner", "post", "/api/rooms/{room}/moderate/", {"archived": True}),
    # Settings are announced to members (room.updated), not kept in the moderation log.
    "room.settings": Action("admin", "patch", "/api/rooms/{room}/", {"topic": "New topic"}, logged=False),
    "moderation_log.read": Action("admin", "get", "/api/rooms/{room}/moderation-log/", logged=False),
}


def expected(action: Action, role: str) -> int:
    if role not in RANK:
        return 404
    return 200 if RANK[role] >= RANK[action.least] else 403


def person(username: str, **extra: object) -> User:
    # No password: the API client authenticates directly, and hashing one is slow.
    return User.objects.create_user(username=username, password=None, **extra)


@pytest.fixture
def cast(make_room):
    owner, admin, member, target = (person(n) for n in ("olga", "adam", "mia", "tess"))
    moderator = person("mod", is_staff=True)
    moderator.user_permissions.add(Permission.objects.get(codename="moderate_messagereport"))
    people = {
        "owner": owner,
        "admin": admin,
        "member": member,
        "non_member": person("nora"),
        "site_moderator": moderator,
        "site_staff": person("stan", is_staff=True, is_superuser=True),
    }
    room = make_room(owner, members=(admin, member, target))
    Membership.objects.filter(room=room, user=admin).update(role=Membership.Role.ADMIN)
    message = messaging_services.message_send(
        sender=target, room_id=room.id, body="hello", client_id="m1"
    ).message
    # The target starts muted, so that unmuting them is a real change.
    moderation.member_mute(actor=owner, room_id=room.id, user_id=target.id, minutes=60, via="api")
    return people, room, target, message


def fingerprint(room: Room, message: Message) -> tuple:
    room.refresh_from_db()
    message.refresh_from_db()
    return (
        ModerationLogEntry.objects.count(),
        Event.objects.count(),
        sorted(RoomMute.objects.values_list("room_id", "user_id", "until", "reason")),
        sorted(Membership.objects.filter(room=room).values_list("user_id", "role")),
        (room.name, room.topic, room.description, room.read_only, room.archived_at),
        (message.deleted_at, message.body),
    )


def call(client, action: Action, **ids: int):
    path = action.path.format(**ids)
    data = {k: ids["target"] if v == "{target}" else v for k, v in (action.data or {}).items()}
    return getattr(client, action.method)(path, data or None, format="json")


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_moderation_action_for_every_role(auth_api, cast, name):
    """One room per action; each role acts on it in a savepoint rolled back afterwards, so every
    role meets the same state."""
    people, room, target, message = cast
    for role in ROLES:
        savepoint = transaction.savepoint()
        try:
            check(auth_api(people[role]), ACTIONS[name], role, room=room, target=target, message=message)
        finally:
            transaction.savepoint_rollback(savepoint)


def check(client, action: Action, role: str, *, room: Room, target: User, message: Message) -> None:
    ids = {"room": room.id, "target": target.id, "message": message.id}
    before = fingerprint(room, message)
    log_before = ModerationLogEntry.objects.count()

    response = call(client, action, **ids)

    want = expected(action, role)
    status = (response.status_code, role, response.content)
    assert response.status_code in ((200, 204) if want == 200 else (want,)), status
    if want == 200:
        if action.method != "get":
            assert fingerprint(room, message) != before, f"{role}: an allowed action changed nothing"
        if action.logged:
            assert ModerationLogEntry.objects.count() > log_before, (
                f"{role}: an allowed action was not logged"
            )
        return
    assert fingerprint(room, message) == before, f"{role}: a refused action wrote something"
    if want == 403:
        assert response.json()["code"] == "forbidden", status
    else:
        missing = call(client, action, **{**ids, "room": MISSING, "message": MISSING})
        assert missing.status_code == 404
        assert response.content == missing.content, status
