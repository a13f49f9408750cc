"""Blocking a user for oneself: no direct messages either way, their messages collapse on the
blocker's pages (the page is told whom), and nobody else is affected."""

import pytest
from django.db import IntegrityError

from accounts import services
from accounts.models import UserBlock
from chatsite.exceptions import DomainError
from messaging import services as messaging
from rooms import services as rooms
from rooms.exceptions import Blocked

pytestmark = pytest.mark.django_db


def test_block_is_idempotent_and_never_oneself_or_nobody(make_user):
    ann, ben = make_user("ann"), make_user("ben")
    services.user_block(user=ann, target_id=ben.id)
    services.user_block(user=ann, target_id=str(ben.id))
    assert UserBlock.objects.count() == 1
    for bad in (ann.id, 999_999, "x", None, -1):
        with pytest.raises(DomainError):
            services.user_block(user=ann, target_id=bad)
    with pytest.raises(IntegrityError):  # the database refuses it too
        UserBlock.objects.create(user=ann, blocked=ann)


def test_a_block_stops_direct_messages_both_ways_but_not_room_messages(make_user, make_room):
    ann, ben, cat = make_user("ann"), make_user("ben"), make_user("cat")
    dm, _ = rooms.dm_open(user=ann, usernames=["ben"])
    group, _ = rooms.dm_open(user=ann, usernames=["ben", "cat"])
    room = make_room(ann, members=(ben,))
    services.user_block(user=ann, target_id=ben.id)
    for sender in (ben, ann):
        with pytest.raises(Blocked) as info:
            messaging.message_send(sender=sender, room_id=dm.id, body="hi")
        assert info.value.code == "blocked"
    with pytest.raises(Blocked):
        messaging.message_send(sender=ben, room_id=group.id, body="hi all")
    assert messaging.message_send(sender=cat, room_id=group.id, body="hi all").created  # cat is not involved
    assert messaging.message_send(
        sender=ben, room_id=room.id, body="in a room"
    ).created  # collapsed, not refused
    with pytest.raises(Blocked):
        rooms.dm_open(user=ben, usernames=["ann"])
    services.user_unblock(user=ann, target_id=ben.id)
    assert messaging.message_send(sender=ben, room_id=dm.id, body="hi again").created


def test_rest_blocks(auth_api, make_user):
    ann, ben = make_user("ann"), make_user("ben")
    client = auth_api(ann)
    assert client.post("/api/blocks/", {"user": ben.id}, format="json").json() == {"users": [ben.id]}
    assert client.get("/api/blocks/").json() == {"users": [ben.id]}
    assert client.post("/api/blocks/", {"user": ann.id}, format="json").status_code == 400
    assert client.delete(f"/api/blocks/{ben.id}/").status_code == 204
    assert client.get("/api/blocks/").json() == {"users": []}


def test_the_member_panel_blocks_and_the_page_learns_whom(client, make_user, make_room):
    ann, ben = make_user("ann"), make_user("ben")
    room = make_room(ann, members=(ben,))
    client.force_login(ann)
    panel = client.post(f"/rooms/{room.id}/members/{ben.id}/block/", {"block": "1"}).content.decode()
    assert f'data-users="{ben.id}"' in panel and "Unblock" in panel
    assert f'data-blocked-users="{ben.id}"' in client.get(f"/r/{room.id}/").content.decode()
    client.post(f"/rooms/{room.id}/members/{ben.id}/block/", {"block": "0"})
    assert not UserBlock.objects.exists()
    outsider_room = make_room(make_user("eve"), name="Theirs")
    assert (
        client.post(f"/rooms/{outsider_room.id}/members/{ben.id}/block/", {"block": "1"}).status_code == 404
    )


def announced(callbacks) -> list[tuple[str, dict, list[int]]]:
    return [(c.args[0].name, c.args[1], c.keywords["users"]) for c in callbacks if "users" in c.keywords]


def test_blocking_and_unblocking_tell_the_blockers_other_tabs(make_user, django_capture_on_commit_callbacks):
    ann, ben, cat = make_user("ann"), make_user("ben"), make_user("cat")
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_block(user=ann, target_id=ben.id)
        services.user_block(user=ann, target_id=cat.id)
        services.user_block(user=ann, target_id=cat.id)  # no change: no event
        services.user_unblock(user=ann, target_id=ben.id)
        services.user_unblock(user=ann, target_id=ben.id)  # no change: no event
    assert announced(callbacks) == [
        ("blocks.updated", {"blocked": [ben.id]}, [ann.id]),
        ("blocks.updated", {"blocked": sorted([ben.id, cat.id])}, [ann.id]),
        ("blocks.updated", {"blocked": [cat.id]}, [ann.id]),
    ]
