"""Deleting an account, as every interface does it (``messaging.accounts.account_delete``): no
live frame and no message row keeps the person's name — not the member.left their rooms hear,
not the reaction summaries of the messages they reacted to."""

import json

import pytest

from accounts.exceptions import WrongPassword
from accounts.models import User
from chatsite.realtime.models import Event
from conftest import PASSWORD
from messaging import accounts, changes, services
from messaging.models import Message

pytestmark = pytest.mark.django_db


def published_events(callbacks) -> list[Event]:
    """The events handed to the channel layer after commit (live frames are encoded from these)."""
    out = []
    for callback in callbacks:
        arg = callback.args[0] if getattr(callback, "args", None) else None
        out.extend(e for e in (arg if isinstance(arg, list) else [arg]) if isinstance(e, Event))
    return out


@pytest.fixture
def reacted(make_user, make_room):
    olga, bob = make_user("olga", display_name="Olga Unique"), make_user("bob")
    room = make_room(bob, name="Team", members=(olga,))
    said = services.message_send(sender=bob, room_id=room.id, body="lunch?").message
    changes.reaction_toggle(user=olga, message_id=said.id, emoji="👍")
    changes.reaction_toggle(user=bob, message_id=said.id, emoji="👍")
    changes.reaction_toggle(user=olga, message_id=said.id, emoji="🎉")
    return room, olga, bob, said


def test_reaction_summaries_forget_the_deleted_person_and_pages_hear_it(
    reacted, django_capture_on_commit_callbacks
):
    _room, olga, bob, said = reacted
    with django_capture_on_commit_callbacks() as callbacks:
        accounts.account_delete(user=olga, password=PASSWORD)
    said.refresh_from_db()
    assert said.reactions == [{"emoji": "👍", "users": [bob.id], "names": ["bob"]}]  # 🎉 had only her
    live = published_events(callbacks)
    updated = [e for e in live if e.type == "message.updated"]
    assert [e.payload["message"]["reactions"] for e in updated] == [said.reactions]
    left = [e for e in live if e.type == "member.left"]
    assert [e.payload["user"] for e in left] == [None]  # live, not only in the stored copy
    for event in live:
        assert "Olga Unique" not in json.dumps(event.payload, ensure_ascii=False)
        assert '"olga"' not in json.dumps(event.payload)
    assert not Event.objects.filter(payload__icontains="Olga Unique").exists()


def test_a_wrong_password_changes_no_reaction(reacted, django_capture_on_commit_callbacks):
    _room, olga, _bob, said = reacted
    before = Message.objects.get(pk=said.pk).reactions
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(WrongPassword):
        accounts.account_delete(user=olga, password="guess")
    assert callbacks == [] and Message.objects.get(pk=said.pk).reactions == before
    assert User.objects.filter(pk=olga.pk).exists()


def test_rest_and_the_web_page_delete_through_it(reacted, auth_api, client):
    _room, olga, bob, said = reacted
    assert (
        auth_api(olga).post("/api/auth/me/delete/", {"password": PASSWORD}, format="json").status_code == 204
    )
    assert Message.objects.get(pk=said.pk).reactions == [{"emoji": "👍", "users": [bob.id], "names": ["bob"]}]
    changes.reaction_toggle(user=bob, message_id=said.id, emoji="🎉")
    client.force_login(bob)
    assert client.post("/account/delete/", {"password": PASSWORD}).status_code == 200
    assert Message.objects.get(pk=said.pk).reactions == []
    assert not User.objects.filter(pk__in=[olga.pk, bob.pk]).exists()
