"""Avatars on messages: the author's picture (or initials on their colour) comes from the message
payload itself (``sender.avatar_url``), so the partial is still rendered once per event for
every receiver, with no query and nothing per viewer."""

import json

import pytest
from django.test import Client

from accounts.models import User
from chatsite.realtime import kinds
from chatsite.realtime.broadcasts import encode_event
from conftest import elements
from messaging import selectors, services
from messaging.serialization import message_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def pictured(make_user, make_room):
    ann = make_user("ann", display_name="Ann Lee")
    ben = make_user("ben")
    User.objects.filter(pk=ann.pk).update(avatar=f"avatars/{ann.pk}/abc.webp")
    ann.refresh_from_db()
    room = make_room(ann, members=(ben,))
    return room, ann, ben


def avatars(html: str) -> list[dict]:
    return [attrs for _tag, attrs in elements(html) if "message-avatar" in (attrs.get("class") or "")]


def test_the_payload_carries_the_authors_avatar_url(pictured):
    room, ann, ben = pictured
    by_ann = services.message_send(sender=ann, room_id=room.id, body="hi").message
    by_ben = services.message_send(sender=ben, room_id=room.id, body="yo").message
    page = {m["id"]: m for m in selectors.history_page(user=ben, room_id=room.id).messages}
    assert page[by_ann.id]["sender"]["avatar_url"] == f"/avatars/{ann.pk}/abc.webp"
    assert page[by_ben.id]["sender"]["avatar_url"] == ""


def test_the_live_partial_shows_it_rendered_once_without_a_query(pictured, django_assert_num_queries):
    room, ann, ben = pictured
    said = services.message_send(sender=ann, room_id=room.id, body="hi")
    answer = services.message_send(sender=ben, room_id=room.id, body="yo")
    with django_assert_num_queries(0):
        _text, framed = encode_event(kinds.MESSAGE_NEW, said.seq, {"message": message_payload(said.message)})
        _text, framed_plain = encode_event(
            kinds.MESSAGE_NEW, answer.seq, {"message": message_payload(answer.message)}
        )
    html, plain = json.loads(framed)["html"], json.loads(framed_plain)["html"]
    (img,) = avatars(html)
    assert img["src"] == f"/avatars/{ann.pk}/abc.webp" and img["alt"] == ""
    (initials,) = avatars(plain)
    assert f"avatar-c{ben.pk % 8}" in initials["class"] and initials["aria-hidden"] == "true"
    assert 'message-avatar" aria-hidden="true">B</span>' in plain


def test_the_room_page_shows_them_and_a_deleted_author_has_none(pictured, make_user):
    room, ann, ben = pictured
    services.message_send(sender=ann, room_id=room.id, body="hi")
    services.message_send(sender=ben, room_id=room.id, body="yo")
    client = Client()
    client.force_login(ben)
    html = client.get(f"/r/{room.id}/").content.decode()
    found = avatars(html)
    assert [a["src"] for a in found if a.get("src")] == [f"/avatars/{ann.pk}/abc.webp"]
    assert any(f"avatar-c{ben.pk % 8}" in a["class"] for a in found)
    User.objects.filter(pk=ann.pk).delete()
    html = client.get(f"/r/{room.id}/").content.decode()
    assert [a for a in avatars(html) if a.get("src")] == []
