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
        "/admin/messaging/event/",
    ]:
        assert staff_client.get(url).status_code == 200, url
