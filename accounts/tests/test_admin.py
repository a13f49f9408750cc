import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(make_user):
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_user_admin_searches_and_filters(staff_client, make_user):
    make_user("findme", display_name="Needle")
    make_user("other")
    page = staff_client.get("/admin/accounts/user/?q=needle")
    assert page.status_code == 200
    assert b"findme" in page.content and b"other" not in page.content
    assert staff_client.get("/admin/accounts/user/?is_active__exact=1").status_code == 200


def test_admin_deactivate_action(staff_client, make_user):
    target = make_user("spammer")
    response = staff_client.post(
        "/admin/accounts/user/", {"action": "deactivate", "_selected_action": [target.pk]}, follow=True
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert not target.is_active


def test_moderation_pages_render(staff_client, make_room, make_user):
    from messaging import services

    owner = make_user()
    room = make_room(owner)
    services.message_send(sender=owner, room_id=room.id, body="hello", client_id="a")
    for url in [
        "/admin/rooms/room/",
        f"/admin/rooms/room/{room.id}/change/",
        "/admin/messaging/message/",
        "/admin/realtime/event/",
    ]:
        assert staff_client.get(url).status_code == 200, url


def closes_scheduled(callbacks: list) -> list[list[int]]:
    from accounts.services import accounts_sockets_close

    return [list(c.args[0]) for c in callbacks if getattr(c, "func", None) is accounts_sockets_close]


def test_admin_deactivate_action_closes_the_users_sockets(
    staff_client, make_user, django_capture_on_commit_callbacks
):
    from accounts.models import WsTicket
    from accounts.services import ws_ticket_issue

    target, bystander = make_user("spammer"), make_user("bystander")
    ws_ticket_issue(user=target)
    with django_capture_on_commit_callbacks() as callbacks:
        staff_client.post("/admin/accounts/user/", {"action": "deactivate", "_selected_action": [target.pk]})
    assert closes_scheduled(callbacks) == [[target.pk]]
    assert not WsTicket.objects.filter(user=target).exists()
    bystander.refresh_from_db()
    assert bystander.is_active


def test_unticking_active_on_the_change_form_closes_the_users_sockets(
    staff_client, make_user, django_capture_on_commit_callbacks
):
    target = make_user("spammer", display_name="Spam")
    form = {"username": "spammer", "display_name": "Spam", "email": "", "theme": "system"}  # no is_active
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(f"/admin/accounts/user/{target.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    target.refresh_from_db()
    assert not target.is_active
    assert closes_scheduled(callbacks) == [[target.pk]]


def test_admin_deactivate_action_skips_the_admin_themself(staff_client, make_user):
    from accounts.models import User

    root, spammer = User.objects.get(username="root"), make_user("spammer")
    response = staff_client.post(
        "/admin/accounts/user/",
        {"action": "deactivate", "_selected_action": [root.pk, spammer.pk]},
        follow=True,
    )
    assert b"Deactivated 1 user(s)." in response.content
    root.refresh_from_db()
    spammer.refresh_from_db()
    assert root.is_active and not spammer.is_active
    assert staff_client.get("/admin/").status_code == 200  # still logged in


def test_unticking_active_on_ones_own_change_form_keeps_the_account_active(staff_client):
    from accounts.models import User

    root = User.objects.get(username="root")
    # is_active left out: its box unticked.
    form = {
        "username": "root",
        "display_name": "",
        "email": "",
        "theme": "system",
        "is_staff": "on",
        "is_superuser": "on",
    }
    response = staff_client.post(f"/admin/accounts/user/{root.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    root.refresh_from_db()
    assert root.is_active and root.is_staff
    assert staff_client.get("/admin/").status_code == 200  # still logged in
