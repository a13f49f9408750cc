"""manage.py purge_messages: a dry run by default, then the same tombstones as a user's delete."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from chatsite.realtime.models import Event
from messaging import changes, services
from messaging.models import Message, Reaction
from messaging.retention import messages_purge

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged(make_user, make_room):
    ann = make_user("ann")
    general, other = make_room(ann, name="General"), make_room(ann, name="Other")
    old = [services.message_send(sender=ann, room_id=general.id, body=f"old {i}").message for i in range(3)]
    old_other = services.message_send(sender=ann, room_id=other.id, body="old elsewhere").message
    new = services.message_send(sender=ann, room_id=general.id, body="fresh").message
    Message.objects.filter(pk__in=[m.id for m in [*old, old_other]]).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    changes.reaction_toggle(user=ann, message_id=old[0].id, emoji="👍")
    return general, other, old, old_other, new


def run(*args):
    out = StringIO()
    call_command("purge_messages", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_reports_and_writes_nothing(aged):
    general, *_ = aged
    events = Event.objects.count()
    out = run("--older-than", "30")
    assert "Dry run: 4 message(s)" in out and f"room {general.id} (General): 3" in out
    assert Message.objects.filter(deleted_at__isnull=False).count() == 0
    assert Event.objects.count() == events


def test_execute_deletes_through_the_delete_path(aged, django_capture_on_commit_callbacks):
    general, _other, old, old_other, new = aged
    with django_capture_on_commit_callbacks(execute=True):
        out = run("--older-than", "30", "--room", str(general.id), "--execute")
    assert "Deleted 3 message(s)" in out
    for message in old:
        message.refresh_from_db()
        assert message.deleted_at is not None and message.body == "" and message.body_html == ""
        assert Event.objects.filter(type="message.deleted", object_id=message.id).exists()
        # The text is gone from every stored event, not only the row.
        assert not Event.objects.filter(object_id=message.id, payload__icontains="old ").exists()
    assert not Reaction.objects.exists()
    assert Message.objects.get(pk=old_other.id).deleted_at is None  # another room
    assert Message.objects.get(pk=new.id).deleted_at is None  # too recent
    assert "Deleted 0 message(s)" in run("--older-than", "30", "--room", str(general.id), "--execute")


@pytest.mark.parametrize(
    "args", [["--older-than", "0"], ["--older-than", "-3"], ["--older-than", "5", "--room", "999999"]]
)
def test_bad_arguments_are_refused(aged, args):
    with pytest.raises(CommandError):
        run(*args)
    assert Message.objects.filter(deleted_at__isnull=False).count() == 0


def test_the_service_refuses_a_bad_age():
    with pytest.raises(ValueError):
        messages_purge(older_than_days=0)


def test_a_purge_is_in_each_rooms_moderation_log_and_a_dry_run_is_not(aged, auth_api, make_user):
    from accounts.models import ModerationAction, ModerationLogEntry

    general, other, old, old_other, _new = aged
    run("--older-than", "30")
    assert not ModerationLogEntry.objects.exists()
    run("--older-than", "30", "--execute")
    entries = {e.room_id: e for e in ModerationLogEntry.objects.all()}
    assert set(entries) == {general.id, other.id}
    purge = entries[general.id]
    assert (purge.action, purge.interface, purge.actor_id) == (
        ModerationAction.MESSAGES_PURGE,
        "command",
        None,
    )
    assert sorted(purge.detail["messages"]) == sorted(m.id for m in old) and purge.detail["count"] == 3
    assert "30 day" in purge.reason
    assert entries[other.id].detail["messages"] == [old_other.id]
    # The room's owner reads it in the room's log (REST) and on its settings page.
    owner = general.memberships.get(role="owner").user
    log = auth_api(owner).get(f"/api/rooms/{general.id}/moderation-log/").json()
    assert [(e["action"], e["actor"], e["detail"]["count"]) for e in log] == [("messages.purge", None, 3)]
    client = Client()
    client.force_login(owner)
    page = client.get(f"/rooms/{general.id}/settings/").content.decode()
    assert "Purged old messages (retention): 3 messages" in page and "(the server)" in page
