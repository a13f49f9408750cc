"""htmx/template views of rooms: members get pages and fragments, non-members a 404 identical
to a missing room's, anonymous visitors the log-in page."""

import re

import pytest
from django.test import Client

from accounts.models import User
from chatsite.realtime.presence import ProcessPresence
from conftest import PASSWORD, elements
from messaging.models import Message
from messaging.services import message_send
from rooms import services
from rooms.models import Membership, Room

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MISSING = 999_999


@pytest.fixture
def owner(make_user):
    return make_user("olga")


@pytest.fixture
def room(owner):
    return services.room_create(creator=owner, name="General", description="all hands")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# (method, url template, data): every room-scoped endpoint.
ROOM_ENDPOINTS = [
    ("get", "/rooms/{}/members/", {}),
    ("post", "/rooms/{}/members/", {"username": "olga"}),
    ("get", "/rooms/{}/invite-search/", {"q": "ol"}),
    ("post", "/rooms/{}/leave/", {}),
]


@pytest.mark.parametrize(("method", "url", "data"), ROOM_ENDPOINTS)
def test_non_members_get_the_same_404_as_for_a_missing_room(make_user, room, method, url, data):
    outsider = client_for(make_user("mallory"))
    private = services.room_create(creator=room.created_by, name="Secret", kind="private")
    for room_id in (room.id, private.id, MISSING):
        response = getattr(outsider, method)(url.format(room_id), data, **HTMX)
        assert response.status_code == 404
        assert response.content == outsider.get(f"/rooms/{MISSING}/members/", **HTMX).content
    assert not Membership.objects.filter(user__username="mallory").exists()


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/rooms/sidebar/"),
        ("get", "/rooms/new/"),
        ("post", "/rooms/new/"),
        ("get", "/rooms/browse/"),
        ("post", "/rooms/1/join/"),
        ("post", "/rooms/1/leave/"),
        ("get", "/rooms/1/members/"),
        ("post", "/rooms/1/members/"),
        ("get", "/rooms/1/invite-search/"),
        ("get", "/dm/new/"),
        ("post", "/dm/new/"),
        ("get", "/dm/search/"),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(method, url):
    response = getattr(Client(), method)(url, **HTMX)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_sidebar_fragment_lists_rooms_and_dms_most_recent_first(owner, make_user, room):
    make_user("bob")
    quiet = services.room_create(creator=owner, name="Quiet")
    dm, _ = services.dm_open(user=owner, usernames=["bob"])
    message_send(sender=owner, room_id=room.id, body="hi")
    response = client_for(owner).get(f"/rooms/sidebar/?current={room.id}", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.index("General") < html.index("Quiet")
    assert f'id="sidebar-room-{dm.id}"' in html and ">bob<" in html  # a DM is named after the others
    assert 'aria-current="page"' in html.split(f'id="sidebar-room-{room.id}"')[1].split("</li>")[0]
    assert quiet.name in html


def test_create_public_and_private_rooms(owner):
    client = client_for(owner)
    response = client.post("/rooms/new/", {"name": "Ops", "description": "pager", "kind": "private"})
    created = Room.objects.get(name="Ops")
    assert response.status_code == 302 and response["Location"] == f"/r/{created.id}/"
    assert created.kind == "private"
    response = client.post("/rooms/new/", {"name": "", "kind": "public"})
    assert response.status_code == 400
    assert b"Room name must be" in response.content
    response = client.post("/rooms/new/", {"name": "Town", "kind": "public"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/r/{Room.objects.get(name='Town').id}/"


def test_browse_lists_public_rooms_and_filters_with_active_search(owner, make_user, room):
    services.room_create(creator=owner, name="Random")
    services.room_create(creator=owner, name="Hidden", kind="private")
    client = client_for(make_user("bob"))
    page = client.get("/rooms/browse/").content.decode()
    assert "General" in page and "Random" in page and "Hidden" not in page
    fragment = client.get("/rooms/browse/", {"q": "ran"}, **HTMX).content.decode()
    assert "Random" in fragment and "General" not in fragment and "<html" not in fragment


def test_join_public_room_but_not_a_private_one(owner, make_user, room):
    bob = make_user("bob")
    client = client_for(bob)
    response = client.post(f"/rooms/{room.id}/join/")
    assert response.status_code == 302 and response["Location"] == f"/r/{room.id}/"
    assert Membership.objects.filter(user=bob, room=room).exists()
    private = services.room_create(creator=owner, name="Secret", kind="private")
    assert client.post(f"/rooms/{private.id}/join/").status_code == 404
    assert client.post(f"/rooms/{MISSING}/join/").status_code == 404


def test_leaving_goes_to_the_public_rooms_preview_or_home_and_dms_cannot_be_left(owner, make_user, room):
    bob = make_user("bob")
    services.room_join(user=bob, room_id=room.id)
    client = client_for(bob)
    response = client.post(f"/rooms/{room.id}/leave/", **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == f"/r/{room.id}/"
    assert not Membership.objects.filter(user=bob, room=room).exists()
    assert b"Join General" in client.get(f"/r/{room.id}/").content
    private = services.room_create(creator=owner, name="Secret", kind="private")
    services.member_add(actor=owner, room_id=private.id, username="bob")
    assert client.post(f"/rooms/{private.id}/leave/", **HTMX)["HX-Redirect"] == "/"
    dm, _ = services.dm_open(user=bob, usernames=["olga"])
    assert client.post(f"/rooms/{dm.id}/leave/").status_code == 403


def test_members_panel_invite_and_search(owner, make_user, room):
    make_user("bobby")
    make_user("bob")
    client = client_for(owner)
    panel = client.get(f"/rooms/{room.id}/members/", **HTMX).content.decode()
    assert "olga" in panel and 'id="member-count"' in panel and "hx-swap-oob" in panel
    results = client.get(f"/rooms/{room.id}/invite-search/", {"q": "BO"}, **HTMX).content.decode()
    assert 'value="bob"' in results and 'value="bobby"' in results and "olga" not in results
    panel = client.post(f"/rooms/{room.id}/members/", {"username": "bob"}, **HTMX).content.decode()
    assert Membership.objects.filter(room=room, user__username="bob").exists()
    assert ">2</span>" in panel
    panel = client.post(f"/rooms/{room.id}/members/", {"username": "nobody"}, **HTMX).content.decode()
    assert "No such user" in panel


def test_members_of_private_rooms_cannot_invite_unless_admin(owner, make_user):
    private = services.room_create(creator=owner, name="Secret", kind="private")
    services.member_add(actor=owner, room_id=private.id, username=make_user("bob").username)
    make_user("carol")
    bob = User.objects.get(username="bob")
    panel = client_for(bob).post(f"/rooms/{private.id}/members/", {"username": "carol"}, **HTMX)
    assert b"Only owners and admins" in panel.content
    assert not Membership.objects.filter(room=private, user__username="carol").exists()


def test_dm_search_and_start(owner, make_user):
    make_user("bob")
    make_user("bert")
    client = client_for(owner)
    results = client.get("/dm/search/", {"q": "b"}, **HTMX).content.decode()
    assert 'value="bob"' in results and 'value="bert"' in results and "olga" not in results
    assert client.get("/dm/search/", {"q": ""}, **HTMX).content.strip() == b""
    response = client.post("/dm/new/", {"usernames": ["bob", "bert"]})
    dm = Room.objects.get(kind="direct")
    assert response["Location"] == f"/r/{dm.id}/"
    assert dm.memberships.count() == 3
    assert client.post("/dm/new/", {"usernames": ["bob", "bert"]})["Location"] == f"/r/{dm.id}/"
    response = client.post("/dm/new/", {"usernames": ["ghost"]})
    assert response.status_code == 400 and b"No such user: ghost" in response.content
    assert not Message.objects.exists()


@pytest.mark.parametrize("current", ["²", "٣", "abc", "9" * 30, ""])
def test_sidebar_fragment_ignores_a_current_room_that_is_not_an_id(owner, room, current):
    response = client_for(owner).get("/rooms/sidebar/", {"current": current}, **HTMX)
    assert response.status_code == 200
    assert 'aria-current="page"' not in response.content.decode()


@pytest.mark.parametrize("url", ["/r/{}/", "/r/{}/history/?before=1", "/rooms/{}/members/"])
def test_ids_too_big_for_the_database_are_a_404(owner, url):
    assert client_for(owner).get(url.format(10**19)).status_code == 404


def test_members_panel_shows_who_is_online_first(owner, make_user, room):
    for name in ("amy", "zed"):
        services.room_join(user=make_user(name), room_id=room.id)
    zed = User.objects.get(username="zed")
    somewhere = ProcessPresence()
    somewhere.beat([zed.id])  # a socket of zed's is open on some server process
    somewhere.beat([owner.id])
    somewhere.gone(owner.id)  # olga closed hers a moment ago
    panel = client_for(owner).get(f"/rooms/{room.id}/members/", **HTMX).content.decode()
    order = re.findall(r"@(\w+)", panel)
    assert order[:3] == ["zed", "amy", "olga"]  # online first, then by username
    items = panel.split('<li class="member')[1:]
    assert items[0].startswith(' online"') and "Online" in items[0]
    assert "Offline" in items[1]  # amy: never seen
    assert "Last seen 0" in items[2] and "minutes ago" in items[2]  # olga: just now


def test_a_dm_shows_the_other_persons_presence_in_its_header_and_the_dm_list(owner, make_user):
    zed, amy = make_user("zed"), make_user("amy")
    with_zed, _ = services.dm_open(user=owner, usernames=[zed.username])
    group, _ = services.dm_open(user=owner, usernames=[zed.username, amy.username])
    ProcessPresence().beat({zed.id: False})  # zed's only tab is hidden
    page = client_for(owner).get(f"/r/{with_zed.id}/").content.decode()
    header = page.split('<header class="room-header">')[1].split("</header>")[0]
    assert re.search(rf'data-presence-user="{zed.id}" data-state="away">.*>Away<', header)
    item = page.split(f'id="sidebar-room-{with_zed.id}"')[1].split("</li>")[0]
    assert f'data-presence-user="{zed.id}" data-state="away"' in item and ", Away" in item
    group_item = page.split(f'id="sidebar-room-{group.id}"')[1].split("</li>")[0]
    assert "data-presence-user" not in group_item  # a group DM has no one person to show
    group_page = client_for(owner).get(f"/r/{group.id}/").content.decode()
    assert "room-presence" not in group_page


def csrf_post(client: Client, url: str, data: dict) -> object:
    token = client.get(url).cookies["csrftoken"].value
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


def test_delete_account_needs_the_password_then_logs_out_and_the_messages_stay(make_user, room, owner):
    user = make_user("ann")
    services.room_join(user=user, room_id=room.id)
    message_send(sender=user, room_id=room.id, body="still here")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    refused = csrf_post(client, "/account/delete/", {"password": "guess"})
    assert refused.status_code == 400
    assert b'id="id_password_error"' in refused.content
    assert User.objects.filter(pk=user.pk).exists()
    response = csrf_post(client, "/account/delete/", {"password": PASSWORD})
    assert response.status_code == 200
    assert b"Your account is deleted" in response.content
    assert not User.objects.filter(pk=user.pk).exists()
    assert client.get("/").status_code == 302
    page = client_for(owner).get(f"/r/{room.id}/").content.decode()
    assert "still here" in page
    assert "deleted user" in page


def test_registering_joins_the_default_rooms_and_home_suggests_public_rooms(owner, room, make_user):
    services.rooms_set_default(room_ids=[room.id], is_default=True)
    other = services.room_create(creator=owner, name="Gardening", description="plants")
    services.room_create(creator=owner, name="Hidden", kind="private")
    client = Client(enforce_csrf_checks=True)
    response = csrf_post(
        client, "/register/", {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    home = client.get("/").content.decode()
    assert f'id="sidebar-room-{room.id}"' in home  # joined: in the sidebar
    suggestions = home[home.index('id="suggested-title"') :]
    assert "Gardening" in suggestions and f"/rooms/{other.id}/join/" in suggestions
    assert "General" not in suggestions and "Hidden" not in suggestions


def test_room_settings_page_for_owners_403_for_members_404_for_others(owner, make_user, room):
    bob, eve = make_user("bob"), make_user("eve")
    services.room_join(user=bob, room_id=room.id)
    client = client_for(owner)
    assert b"Settings" in client.get(f"/r/{room.id}/").content
    page = client.get(f"/rooms/{room.id}/settings/")
    assert page.status_code == 200 and b'value="General"' in page.content
    response = client.post(
        f"/rooms/{room.id}/settings/", {"name": "Everyone", "topic": "Hi", "description": ""}
    )
    assert response["Location"] == f"/r/{room.id}/"
    html = client.get(f"/r/{room.id}/").content.decode()
    assert ">Everyone<" in html and ">Hi<" in html
    bad = client.post(f"/rooms/{room.id}/settings/", {"name": "", "topic": "", "description": ""})
    assert bad.status_code == 400 and b'id="room-name-error"' in bad.content
    assert client_for(bob).get(f"/rooms/{room.id}/settings/").status_code == 403
    assert client_for(eve).get(f"/rooms/{room.id}/settings/").status_code == 404
    assert Room.objects.get(pk=room.pk).name == "Everyone"


def test_the_dm_list_shows_each_partners_picture(make_user, client):
    olga, bob, cy = make_user("olga"), make_user("bob"), make_user("cy")
    User.objects.filter(pk=bob.pk).update(avatar=f"avatars/{bob.pk}/pic.webp")
    pair, _ = services.dm_open(user=olga, usernames=["bob"])
    solo, _ = services.dm_open(user=olga, usernames=["cy"])
    group, _ = services.dm_open(user=olga, usernames=["bob", "cy"])
    client.force_login(olga)
    html = client.get("/").content.decode()

    def item(room_id: int) -> str:
        start = html.index(f'id="sidebar-room-{room_id}"')
        return html[start : html.index("</li>", start)]

    assert [a["src"] for t, a in elements(item(pair.id)) if t == "img"] == [f"/avatars/{bob.pk}/pic.webp"]
    initials = [a for t, a in elements(item(solo.id)) if "avatar-initials" in (a.get("class") or "")]
    assert len(initials) == 1 and f"avatar-c{cy.pk % 8}" in initials[0]["class"]
    assert "avatar" not in item(group.id) and 'class="room-kind"' in item(group.id)
