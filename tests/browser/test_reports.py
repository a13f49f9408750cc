"""Reports in a real browser: a member reports a message, a site moderator finds it in the
admin's queue and deletes it with a reason, and both the reporter's and the author's open
pages show the tombstone live. A staff user without the moderation permission sees the queue
but is offered no action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from messaging import services
from messaging.models import Message, MessageReport
from rooms import services as rooms
from tests.browser.conftest import axe_serious, describe_violations, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server]


def moderator(make_user, username: str, *, may_act: bool):
    user = make_user(username, is_staff=True)
    codenames = ["view_messagereport", "view_moderationlogentry"] + (
        ["moderate_messagereport"] if may_act else []
    )
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_report_reaches_the_queue_and_the_moderators_delete_reaches_both_pages(
    start_server, open_as, page_errors, make_user
):
    ann, ben = make_user("ann"), make_user("ben")
    moderator(make_user, "mod", may_act=True)
    room = rooms.room_create(creator=ann, name="General")
    rooms.room_join(user=ben, room_id=room.id)
    said = services.message_send(sender=ben, room_id=room.id, body="buy cheap pills now").message
    server = start_server()

    ben_page = open_as(server, "ben")
    ben_page.goto(f"{server.url}/r/{room.id}/")
    expect(ben_page.locator("#composer-body")).to_be_enabled()
    ann_page = open_as(server, "ann")
    ann_page.goto(f"{server.url}/r/{room.id}/")
    expect(ann_page.locator("#composer-body")).to_be_enabled()

    message = ann_page.locator(f"#msg-{said.id}")
    message.hover()
    message.get_by_role("button", name="Report").click()
    panel = ann_page.locator("#side-panel")
    panel.get_by_label("Spam").check()
    panel.get_by_label("Note for the moderators").fill("ads for pills")
    panel.get_by_role("button", name="Send report").click()
    expect(panel.get_by_role("status")).to_contain_text("the moderators will look at it")
    assert axe_serious(ann_page) == [], describe_violations(axe_serious(ann_page))
    assert off_loop(MessageReport.objects.filter(message=said, reason="spam").exists)
    # Ben's own message offers no Report.
    ben_page.locator(f"#msg-{said.id}").hover()
    expect(ben_page.locator(f"#msg-{said.id}").get_by_role("button", name="Report")).to_be_hidden()

    mod_page = open_as(server, "mod")
    mod_page.goto(f"{server.url}/admin/messaging/messagereport/?status__exact=open")
    expect(mod_page.locator("#result_list")).to_contain_text("buy cheap pills now")
    mod_page.locator('input[name="_selected_action"]').first.check()
    mod_page.locator('select[name="action"]').select_option("delete_messages")
    mod_page.get_by_role("button", name="Go").click()
    mod_page.get_by_label("Reason").fill("spam")
    mod_page.get_by_role("button", name="Delete the reported messages").click()
    expect(mod_page.locator(".messagelist")).to_contain_text("Deleted 1 message")

    for page in (ann_page, ben_page):  # live, no reload
        expect(page.locator(f"#msg-{said.id} .tombstone")).to_have_text("Message deleted")
        expect(page.locator(f"#msg-{said.id}")).not_to_contain_text("pills")
    assert off_loop(lambda: Message.objects.get(pk=said.id).body) == ""
    assert page_errors.errors == []


def test_staff_without_the_permission_cannot_act_on_reports(start_server, open_as, make_user):
    ann, ben = make_user("ann"), make_user("ben")
    moderator(make_user, "viewer", may_act=False)
    room = rooms.room_create(creator=ann, name="General")
    rooms.room_join(user=ben, room_id=room.id)
    said = services.message_send(sender=ben, room_id=room.id, body="rude words").message
    report = MessageReport.objects.create(message=said, reporter=ann, reason="harassment")
    server = start_server()
    page = open_as(server, "viewer")
    page.goto(f"{server.url}/admin/messaging/messagereport/")
    expect(page.locator("#result_list")).to_contain_text("rude words")
    expect(page.locator('select[name="action"] option[value="delete_messages"]')).to_have_count(0)
    expect(page.locator('select[name="action"] option[value="ban_authors"]')).to_have_count(0)
    # Forging the action's form post changes nothing either.
    token = page.locator('input[name="csrfmiddlewaretoken"]').first.get_attribute("value")
    response = page.request.post(
        f"{server.url}/admin/messaging/messagereport/",
        form={
            "csrfmiddlewaretoken": token,
            "action": "delete_messages",
            "_selected_action": str(report.pk),
            "apply": "1",
            "reason": "x",
        },
        headers={"Referer": f"{server.url}/admin/messaging/messagereport/"},
    )
    assert response.status in (200, 302, 403)
    assert off_loop(lambda: Message.objects.get(pk=said.id).deleted_at) is None
    assert off_loop(lambda: MessageReport.objects.get().status) == "open"
