"""Edit, delete, react, reply, mention: the services behind rich messages."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from chatsite.exceptions import NotFound, PermissionDenied
from chatsite.realtime.models import Event
from conftest import elements, scheduled_broadcasts
from messaging import changes, selectors, services
from messaging.exceptions import InvalidReaction, InvalidReply, MentionNotAllowed, MessageDeleted
from messaging.models import Message, MessageRevision, Reaction
from rooms import services as rooms
from rooms.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(make_user, make_room):
    """(room, owner ann, member ben, outsider eve) and a message by ben."""
    ann, ben, eve = make_user("ann"), make_user("ben"), make_user("eve")
    room = make_room(ann, name="General", members=(ben,))
    message = services.message_send(sender=ben, room_id=room.id, body="first words", client_id="b1").message
    return room, ann, ben, eve, message


def stored_text() -> str:
    """Every stored copy of anything: the event log's payloads, as one string."""
    return json.dumps(list(Event.objects.values_list("payload", flat=True)), ensure_ascii=False)


# --- edit ------------------------------------------------------------------------------------


def test_author_edits_keeping_the_previous_version(chat, django_capture_on_commit_callbacks):
    _room, _, ben, _, message = chat
    with django_capture_on_commit_callbacks() as callbacks:
        edited = changes.message_edit(actor=ben, message_id=message.id, body="  better words ")
    assert edited.body == "better words" and edited.edited_at is not None
    assert "better words" in edited.body_html
    (revision,) = MessageRevision.objects.filter(message=message)
    assert revision.body == "first words" and revision.written_at == message.created_at
    assert scheduled_broadcasts(callbacks) == [("events_published", "message.updated", None)]
    event = Event.objects.get(type="message.updated")
    assert event.object_id == message.id and event.payload["message"]["body"] == "better words"
    assert [v["body"] for v in selectors.revisions(user=ben, message_id=message.id)] == ["first words"]


def test_an_unchanged_edit_records_nothing(chat):
    _, _, ben, _, message = chat
    changes.message_edit(actor=ben, message_id=message.id, body="first words")
    assert not MessageRevision.objects.exists() and not Event.objects.filter(type="message.updated").exists()


def test_only_the_author_edits_and_outsiders_get_not_found(chat):
    _, ann, _, eve, message = chat
    with pytest.raises(PermissionDenied):
        changes.message_edit(actor=ann, message_id=message.id, body="owner's words")  # owners may not
    errors = []
    for message_id in (message.id, 999_999, "abc", -1):
        with pytest.raises(NotFound) as info:
            changes.message_edit(actor=eve, message_id=message_id, body="x")
        errors.append((info.value.code, info.value.detail, info.value.status))
    assert len(set(errors)) == 1  # a message in a room you are not in looks like no message
    assert Message.objects.get().body == "first words"


@pytest.mark.parametrize(
    ("window", "age", "allowed"), [(-1, 10**6, True), (0, 0, False), (60, 30, True), (60, 90, False)]
)
def test_edit_window(chat, settings, window, age, allowed):
    settings.MESSAGE_EDIT_WINDOW = window
    _, _, ben, _, message = chat
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(seconds=age))
    if allowed:
        changes.message_edit(actor=ben, message_id=message.id, body="changed")
    else:
        with pytest.raises(PermissionDenied) as info:
            changes.message_edit(actor=ben, message_id=message.id, body="changed")
        assert info.value.code == "edit_window_closed"


@pytest.mark.parametrize("body", ["", "   ", "\u200b", "x" * 10_001, None, "bad \ud800"])
def test_bad_edits_change_nothing(chat, body):
    _, _, ben, _, message = chat
    with pytest.raises(services.InvalidMessage):
        changes.message_edit(actor=ben, message_id=message.id, body=body)
    assert Message.objects.get().body == "first words" and not MessageRevision.objects.exists()


# --- delete ----------------------------------------------------------------------------------


def test_delete_leaves_a_tombstone_and_no_copy_of_the_text(chat, django_capture_on_commit_callbacks):
    room, ann, ben, _, message = chat
    changes.message_edit(actor=ben, message_id=message.id, body="secret second version")
    changes.reaction_toggle(user=ann, message_id=message.id, emoji="👍")
    reply = services.message_send(sender=ann, room_id=room.id, body="answering", reply_to=message.id).message
    assert "secret second version" in stored_text() and "first words" in stored_text()
    with django_capture_on_commit_callbacks() as callbacks:
        tombstone = changes.message_delete(actor=ben, message_id=message.id, via="api")
    assert tombstone.deleted_at is not None and tombstone.body == tombstone.body_html == ""
    assert (
        tombstone.reactions == [] and not Reaction.objects.exists() and not MessageRevision.objects.exists()
    )
    # Gone from every stored event: its own, and the reply's preview of it.
    assert "secret second version" not in stored_text() and "first words" not in stored_text()
    # The tombstone, and the reply's new preview of it: one broadcast, in seq order.
    assert scheduled_broadcasts(callbacks) == [
        ("events_published", "message.deleted", None),
        ("events_published", "message.updated", None),
    ]
    replayed = Event.objects.filter(object_id=reply.id).first().payload["message"]
    assert replayed["reply_preview"] == {
        "id": message.id,
        "sender": replayed["reply_preview"]["sender"],
        "excerpt": "",
        "deleted": True,
    }
    shown = selectors.message_get(user=ann, message_id=reply.id)
    assert shown["reply_preview"]["deleted"] is True
    # Deleting again is a no-op.
    assert (
        changes.message_delete(actor=ben, message_id=message.id, via="api").deleted_at == tombstone.deleted_at
    )


def test_owners_and_admins_delete_anyones_members_only_their_own(chat, make_user):
    room, ann, ben, _, message = chat
    cat = make_user("cat")
    rooms.member_add(actor=ann, room_id=room.id, username="cat")
    with pytest.raises(PermissionDenied):
        changes.message_delete(actor=cat, message_id=message.id, via="api")
    Membership.objects.filter(room=room, user=cat).update(role=Membership.Role.ADMIN)
    changes.message_delete(actor=cat, message_id=message.id, via="api")
    own = services.message_send(sender=ben, room_id=room.id, body="mine", client_id="b2").message
    changes.message_delete(actor=ben, message_id=own.id, via="api")
    by_owner = services.message_send(sender=cat, room_id=room.id, body="admin's", client_id="c1").message
    changes.message_delete(actor=ann, message_id=by_owner.id, via="api")
    assert Message.objects.filter(deleted_at__isnull=False).count() == 3


def test_a_deleted_message_cannot_be_edited_reacted_to_or_answered(chat):
    room, ann, ben, _, message = chat
    changes.message_delete(actor=ben, message_id=message.id, via="api")
    with pytest.raises(MessageDeleted):
        changes.message_edit(actor=ben, message_id=message.id, body="again")
    with pytest.raises(MessageDeleted):
        changes.reaction_toggle(user=ann, message_id=message.id, emoji="👍")
    with pytest.raises(InvalidReply):
        services.message_send(sender=ann, room_id=room.id, body="to a ghost", reply_to=message.id)


# --- reactions -------------------------------------------------------------------------------


def test_reactions_toggle_and_are_summed_up_on_the_message(chat, make_user):
    _room, ann, ben, _, message = chat
    assert changes.reaction_toggle(user=ann, message_id=message.id, emoji="👍").added
    assert changes.reaction_toggle(user=ben, message_id=message.id, emoji="👍\ufe0f").added  # same emoji
    assert changes.reaction_toggle(user=ben, message_id=message.id, emoji="🎉").added
    message.refresh_from_db()
    assert message.reactions == [
        {"emoji": "👍", "users": [ann.id, ben.id], "names": ["ann", "ben"]},
        {"emoji": "🎉", "users": [ben.id], "names": ["ben"]},
    ]
    result = changes.reaction_toggle(user=ann, message_id=message.id, emoji="👍")
    assert not result.added
    assert result.message.reactions[0]["users"] == [ben.id]
    assert Event.objects.filter(type="message.updated", object_id=message.id).count() == 4


@pytest.mark.parametrize("emoji", ["x" * 40, "👍👍", "abc", "", None, 5, "\ud800", "👍 nice"])
def test_a_reaction_is_exactly_one_emoji(chat, emoji):
    _, ann, _, _, message = chat
    with pytest.raises(InvalidReaction):
        changes.reaction_toggle(user=ann, message_id=message.id, emoji=emoji)
    assert not Reaction.objects.exists()


def test_outsiders_cannot_react_and_get_not_found(chat):
    _, _, _, eve, message = chat
    with pytest.raises(NotFound):
        changes.reaction_toggle(user=eve, message_id=message.id, emoji="👍")
    assert not Reaction.objects.exists()


# --- replies and threads ---------------------------------------------------------------------


def test_replies_count_on_their_parent_live_and_make_a_thread(chat, django_capture_on_commit_callbacks):
    room, ann, ben, _, message = chat
    with django_capture_on_commit_callbacks() as callbacks:
        reply = services.message_send(sender=ann, room_id=room.id, body="yes", reply_to=message.id).message
    assert reply.reply_to_id == message.id
    assert [t for _, t, _ in scheduled_broadcasts(callbacks)] == ["message.new", "message.updated"]
    message.refresh_from_db()
    assert message.reply_count == 1
    services.message_send(sender=ben, room_id=room.id, body="and more", reply_to=str(message.id))
    thread = selectors.thread(user=ann, message_id=message.id)
    assert thread.root["reply_count"] == 2
    assert [r["body"] for r in thread.replies] == ["yes", "and more"]
    assert thread.replies[0]["reply_preview"]["excerpt"] == "first words"


def test_a_reply_must_answer_a_message_of_the_same_room(chat, make_room):
    room, ann, _, eve, message = chat
    elsewhere = make_room(ann, name="Elsewhere")
    other = services.message_send(sender=ann, room_id=elsewhere.id, body="there").message
    for reply_to in (other.id, 999_999, "x", -3):
        with pytest.raises(InvalidReply):
            services.message_send(sender=ann, room_id=room.id, body="here", reply_to=reply_to)
    assert Message.objects.filter(room=room).count() == 1
    with pytest.raises(NotFound):  # a thread in a room you are not in: the same as none
        selectors.thread(user=eve, message_id=message.id)


def test_history_around_a_message(chat, settings):
    settings.SEND_RATE_LIMIT = 1000
    room, ann, ben, _, first = chat
    ids = [first.id] + [
        services.message_send(sender=ben, room_id=room.id, body=f"m{i}", client_id=f"m{i}").message.id
        for i in range(30)
    ]
    page = selectors.history_around(user=ann, room_id=room.id, message_id=ids[10], limit=10)
    assert [m["id"] for m in page.messages] == ids[6:16]
    assert page.has_more and page.has_newer
    assert selectors.history_around(user=ann, room_id=room.id, message_id=10**9, limit=10) is None


# --- mentions --------------------------------------------------------------------------------


def test_mentions_are_stored_as_member_ids_and_marked_in_the_html(chat, make_user):
    room, ann, ben, _eve, _ = chat
    message = services.message_send(
        sender=ann, room_id=room.id, body="hi @Ben and @eve and @nobody, `@ben` in code"
    ).message
    assert message.mentions == [ben.id]  # eve is not a member; nobody does not exist
    assert f'data-user-id="{ben.id}"' in message.body_html
    assert message.body_html.count('class="mention"') == 1


def test_names_in_code_are_not_mentions(chat, settings):
    """What counts as a mention is what the rendered message highlights."""
    settings.ROOM_MENTION_OPEN_MAX = 1
    room, _, ben, _, _ = chat
    message = services.message_send(sender=ben, room_id=room.id, body="run `@ann` and `@room` here").message
    assert message.mentions == [] and message.mentions_room is False
    assert 'class="mention' not in message.body_html


def test_typed_markup_is_not_a_mention(chat, make_user, settings):
    """Text that looks like the renderer's mention markup marks nobody (a stranger's id least of all)."""
    settings.ROOM_MENTION_OPEN_MAX = 1
    room, ann, ben, _, _ = chat
    stranger = make_user("stranger")
    body = f'data-user-id="{stranger.id}" data-user-id="{ann.id}" class="mention mention-room"'
    message = services.message_send(sender=ben, room_id=room.id, body=body).message
    assert message.mentions == [] and message.mentions_room is False


def test_room_mentions_in_big_rooms_are_for_owners_and_admins(chat, make_user, settings):
    settings.ROOM_MENTION_OPEN_MAX = 2
    room, ann, ben, _, _ = chat
    assert services.message_send(sender=ben, room_id=room.id, body="@room hello").message.mentions_room
    rooms.member_add(actor=ann, room_id=room.id, username=make_user("cat").username)
    with pytest.raises(MentionNotAllowed):
        services.message_send(sender=ben, room_id=room.id, body="@room hello again")
    assert services.message_send(
        sender=ann, room_id=room.id, body="@room from the owner"
    ).message.mentions_room


def test_markdown_is_rendered_once_and_sanitised(chat):
    room, ann, _, _, _ = chat
    body = "**bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)> https://example.com"
    html = services.message_send(sender=ann, room_id=room.id, body=body).message.body_html
    assert "<strong>bold</strong>" in html
    assert not any(tag == "img" or "javascript" in (attrs.get("href") or "") for tag, attrs in elements(html))
    assert 'href="https://example.com"' in html and 'rel="noopener noreferrer nofollow ugc"' in html


def test_replies_show_what_their_parent_now_says(chat, django_capture_on_commit_callbacks):
    room, ann, ben, _, message = chat
    reply = services.message_send(sender=ann, room_id=room.id, body="agreed", reply_to=message.id).message
    with django_capture_on_commit_callbacks() as callbacks:
        changes.message_edit(actor=ben, message_id=message.id, body="second *thoughts*")
    assert [t for _, t, _ in scheduled_broadcasts(callbacks)] == ["message.updated", "message.updated"]
    latest = Event.objects.filter(object_id=reply.id).order_by("-seq").first()
    assert latest.payload["message"]["reply_preview"]["excerpt"] == "second thoughts"
    changes.message_delete(actor=ben, message_id=message.id, via="api")
    latest = Event.objects.filter(object_id=reply.id).order_by("-seq").first()
    assert latest.payload["message"]["reply_preview"]["deleted"] is True
