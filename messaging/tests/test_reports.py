"""Reports of messages: filing them (every interface), and the site moderators' queue in the
admin, whose actions go through messaging.reports and need the moderation permission."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import ModerationLogEntry, User
from chatsite.exceptions import DomainError, NotFound, PermissionDenied
from chatsite.realtime.models import Event
from messaging import changes, reports, services
from messaging.exceptions import MessageDeleted
from messaging.models import Message, MessageReport
from rooms.exceptions import Muted

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(make_user, make_room):
    """ann (owner) and ben in General; ben said something; a moderator with the permission, a
    staff user without it, and a superuser."""
    ann, ben = make_user("ann"), make_user("ben")
    room = make_room(ann, members=(ben,))
    said = services.message_send(sender=ben, room_id=room.id, body="buy cheap pills").message
    moderator = make_user("mod", is_staff=True)
    moderator.user_permissions.add(
        Permission.objects.get(codename="moderate_messagereport"),
        Permission.objects.get(codename="view_messagereport"),
        Permission.objects.get(codename="view_moderationlogentry"),
    )
    moderator = User.objects.get(pk=moderator.pk)  # a fresh permission cache
    staff = make_user("staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_messagereport"))
    root = make_user("root", is_staff=True, is_superuser=True)
    return {
        "room": room,
        "ann": ann,
        "ben": ben,
        "said": said,
        "mod": moderator,
        "staff": staff,
        "root": root,
    }


def test_a_report_is_filed_once_and_reveals_nothing_to_the_reported(scene):
    report, created = reports.message_report(
        reporter=scene["ann"], message_id=scene["said"].id, reason="spam", note="ads"
    )
    again, created_again = reports.message_report(
        reporter=scene["ann"], message_id=scene["said"].id, reason="other"
    )
    assert created and not created_again and again.pk == report.pk and again.reason == "spam"
    assert MessageReport.objects.count() == 1
    assert not Event.objects.filter(payload__icontains="report").exists()  # nothing is broadcast


@pytest.mark.parametrize("reason", ["", "rude", None, 3])
def test_a_report_needs_one_of_the_reasons(scene, reason):
    with pytest.raises(reports.InvalidReport):
        reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason=reason)
    assert not MessageReport.objects.exists()


def test_reporting_a_deleted_own_or_unseen_message_is_refused(scene, make_user):
    with pytest.raises(PermissionDenied):
        reports.message_report(reporter=scene["ben"], message_id=scene["said"].id, reason="spam")
    with pytest.raises(NotFound):
        reports.message_report(reporter=make_user("outsider"), message_id=scene["said"].id, reason="spam")
    with pytest.raises(NotFound):
        reports.message_report(
            reporter=scene["root"], message_id=scene["said"].id, reason="spam"
        )  # staff: no extra access
    changes.message_delete(actor=scene["ben"], message_id=scene["said"].id, via="api")
    with pytest.raises(MessageDeleted):
        reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    assert not MessageReport.objects.exists()


def test_reports_are_rate_limited(scene, settings):
    settings.REPORT_RATE_LIMIT = 2
    ids = [
        services.message_send(sender=scene["ben"], room_id=scene["room"].id, body=f"m{i}").message.id
        for i in range(3)
    ]
    reports.message_report(reporter=scene["ann"], message_id=ids[0], reason="spam")
    reports.message_report(reporter=scene["ann"], message_id=ids[1], reason="spam")
    reports.message_report(reporter=scene["ann"], message_id=ids[1], reason="spam")  # a repeat is free
    with pytest.raises(reports.ReportsRateLimited):
        reports.message_report(reporter=scene["ann"], message_id=ids[2], reason="spam")
    assert MessageReport.objects.count() == 2


def test_rest_and_web_file_reports(scene, auth_api, client):
    url = f"/api/messages/{scene['said'].id}/report/"
    first = auth_api(scene["ann"]).post(url, {"reason": "harassment", "note": "not ok"}, format="json")
    assert first.status_code == 201 and first.json()["created"] is True
    assert auth_api(scene["ann"]).post(url, {"reason": "spam"}, format="json").status_code == 200
    assert auth_api(scene["ann"]).post(url, {"reason": "bogus"}, format="json").status_code == 400
    assert auth_api(scene["ben"]).post(url, {"reason": "spam"}, format="json").status_code == 403
    client.force_login(scene["ann"])
    form = client.get(f"/m/{scene['said'].id}/report/")
    assert form.status_code == 200 and b"Send report" in form.content
    done = client.post(f"/m/{scene['said'].id}/report/", {"reason": "spam"})
    assert b"already reported" in done.content


def test_moderator_deletes_the_reported_message_everywhere(scene, django_capture_on_commit_callbacks):
    report, _ = reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    with django_capture_on_commit_callbacks() as callbacks:
        assert (
            reports.reports_delete_messages(
                actor=scene["mod"], report_ids=[report.pk], reason="spam", via="admin"
            )
            == 1
        )
    assert callbacks  # the tombstone's broadcast
    message = Message.objects.get(pk=scene["said"].id)
    assert message.deleted_at is not None and message.body == ""
    assert Event.objects.filter(type="message.deleted", object_id=message.id).exists()
    report.refresh_from_db()
    assert (report.status, report.resolved_by) == ("actioned", scene["mod"])
    entry = ModerationLogEntry.objects.get()
    assert (entry.action, entry.interface, entry.reason, entry.target_user) == (
        "message.delete",
        "admin",
        "spam",
        scene["ben"],
    )


def test_moderator_mutes_site_wide_and_bans(scene):
    report, _ = reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    with pytest.raises(DomainError):  # a reason is required
        reports.reports_mute_authors(
            actor=scene["mod"], report_ids=[report.pk], minutes=60, reason="", via="admin"
        )
    reports.reports_mute_authors(
        actor=scene["mod"], report_ids=[report.pk], minutes=60, reason="spam wave", via="admin"
    )
    with pytest.raises(Muted) as info:
        services.message_send(sender=scene["ben"], room_id=scene["room"].id, body="again")
    assert "on this site" in info.value.detail
    client = Client()
    client.force_login(scene["ben"])
    page = client.get(f"/r/{scene['room'].id}/").content.decode()
    assert (
        'data-mute-scope="site"' in page
        and "You are muted on this site until" in page
        and "spam wave" in page
    )
    report2 = MessageReport.objects.create(message=scene["said"], reporter=scene["mod"], reason="spam")
    assert (
        reports.reports_ban_authors(actor=scene["mod"], report_ids=[report2.pk], reason="repeat", via="admin")
        == 1
    )
    assert not User.objects.get(pk=scene["ben"].pk).is_active
    assert list(ModerationLogEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "user.mute",
        "user.deactivate",
    ]


@pytest.mark.parametrize("who", ["staff", "ann"])
def test_without_the_permission_nobody_acts_on_reports(scene, who):
    report, _ = reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    for act in (reports.reports_dismiss, reports.reports_delete_messages, reports.reports_ban_authors):
        with pytest.raises(PermissionDenied):
            act(actor=scene[who], report_ids=[report.pk], reason="x", via="admin")
    assert MessageReport.objects.get().status == "open"
    assert Message.objects.get(pk=scene["said"].id).deleted_at is None
    assert User.objects.get(pk=scene["ben"].pk).is_active


def test_the_admin_queue_shows_context_and_acts_with_a_reason(scene):
    report, _ = reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    client = Client()
    client.force_login(scene["mod"])
    queue = client.get("/admin/messaging/messagereport/?status__exact=open")
    assert queue.status_code == 200 and b"buy cheap pills" in queue.content
    page = client.get(f"/admin/messaging/messagereport/{report.pk}/change/")
    assert page.status_code == 200 and b"message in context" in page.content.lower()
    ask = client.post(
        "/admin/messaging/messagereport/", {"action": "delete_messages", "_selected_action": [report.pk]}
    )
    assert ask.status_code == 200 and b"Reason" in ask.content  # the intermediate page
    assert Message.objects.get(pk=scene["said"].id).deleted_at is None
    no_reason = client.post(
        "/admin/messaging/messagereport/",
        {"action": "delete_messages", "_selected_action": [report.pk], "apply": "1", "reason": ""},
    )
    assert no_reason.status_code == 200 and Message.objects.get(pk=scene["said"].id).deleted_at is None
    done = client.post(
        "/admin/messaging/messagereport/",
        {"action": "delete_messages", "_selected_action": [report.pk], "apply": "1", "reason": "spam"},
        follow=True,
    )
    assert done.status_code == 200 and b"Deleted 1 message" in done.content
    assert Message.objects.get(pk=scene["said"].id).deleted_at is not None
    log = client.get("/admin/accounts/moderationlogentry/?action__exact=message.delete")
    assert log.status_code == 200 and b"spam" in log.content


def test_staff_without_the_permission_sees_the_queue_but_cannot_act(scene):
    report, _ = reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    client = Client()
    client.force_login(scene["staff"])
    queue = client.get("/admin/messaging/messagereport/")
    assert queue.status_code == 200 and b"delete_messages" not in queue.content
    client.post(
        "/admin/messaging/messagereport/",
        {"action": "delete_messages", "_selected_action": [report.pk], "apply": "1", "reason": "spam"},
    )
    assert Message.objects.get(pk=scene["said"].id).deleted_at is None
    assert MessageReport.objects.get().status == "open"


def test_the_moderation_log_cannot_be_changed_in_the_admin(scene):
    reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    reports.reports_dismiss(
        actor=scene["mod"],
        report_ids=list(MessageReport.objects.values_list("pk", flat=True)),
        reason="fine",
        via="admin",
    )
    client = Client()
    client.force_login(scene["root"])
    entry = ModerationLogEntry.objects.get()
    assert client.get("/admin/accounts/moderationlogentry/").status_code == 200
    client.post(f"/admin/accounts/moderationlogentry/{entry.pk}/delete/", {"post": "yes"})
    client.post(f"/admin/accounts/moderationlogentry/{entry.pk}/change/", {"reason": "rewritten"})
    assert ModerationLogEntry.objects.get().reason == "fine"


def test_a_site_wide_mute_is_pushed_to_the_muted_persons_sockets(scene, django_capture_on_commit_callbacks):
    report, _ = reports.message_report(reporter=scene["ann"], message_id=scene["said"].id, reason="spam")
    with django_capture_on_commit_callbacks() as callbacks:
        reports.reports_mute_authors(
            actor=scene["mod"], report_ids=[report.pk], minutes=60, reason="spam wave", via="admin"
        )
    until = User.objects.get(pk=scene["ben"].pk).muted_until
    pushed = [(c.args[0].name, c.args[1], c.keywords["users"]) for c in callbacks if "users" in c.keywords]
    assert pushed == [
        ("account.muted", {"muted_until": until.isoformat(), "mute_reason": "spam wave"}, [scene["ben"].id])
    ]
