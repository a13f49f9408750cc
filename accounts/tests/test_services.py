import pytest
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.exceptions import RegistrationError, WrongPassword
from accounts.models import User, WsTicket
from chatsite.exceptions import DomainError
from chatsite.realtime.models import Event
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_register_collects_every_field_error():
    with pytest.raises(RegistrationError) as info:
        services.user_register(username="!", password="1", email="bad")
    assert set(info.value.errors) == {"username", "password", "email"}
    assert not User.objects.exists()


def test_tickets_are_stored_hashed():
    user = User.objects.create_user(username="hash", password=PASSWORD)
    ticket = services.ws_ticket_issue(user=user)
    stored = WsTicket.objects.get()
    assert ticket not in stored.key_hash
    assert services.ws_ticket_redeem(ticket=ticket) == user
    assert services.ws_ticket_redeem(ticket=ticket) is None


def test_login_lookup_is_case_insensitive():
    user = User.objects.create_user(username="MiXeD", password=PASSWORD)
    assert User.objects.get_by_natural_key("mixed") == user


def test_theme_is_remembered_and_unknown_themes_refused(django_capture_on_commit_callbacks):
    user = User.objects.create_user(username="painter", password=PASSWORD)
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_profile_update(user=user, theme="dark")
    assert callbacks == []  # a preference: nothing to broadcast
    user.refresh_from_db()
    assert user.theme == "dark"
    with pytest.raises(DomainError) as info:
        services.user_profile_update(user=user, theme="neon")
    assert info.value.field == "theme"
    user.refresh_from_db()
    assert user.theme == "dark"


def test_deactivating_users_never_deactivates_the_actor(make_user, django_capture_on_commit_callbacks):
    root, spammer = make_user("root", is_staff=True), make_user("spammer")
    services.ws_ticket_issue(user=root)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.users_deactivate(user_ids=[root.pk, spammer.pk], actor_id=root.pk) == 1
    root.refresh_from_db()
    spammer.refresh_from_db()
    assert root.is_active and not spammer.is_active
    assert WsTicket.objects.filter(user=root).exists()
    assert [list(c.args[0]) for c in callbacks] == [[spammer.pk]]  # only the spammer's sockets close


# --- profile ----------------------------------------------------------------------------------


def test_profile_update_stores_a_trimmed_display_name_and_broadcasts_nothing(
    make_user, django_capture_on_commit_callbacks
):
    user = make_user("ann")
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_profile_update(user=user, display_name="  Ann Smith ")
    assert callbacks == []
    user.refresh_from_db()
    assert user.display_name == "Ann Smith"
    assert user.shown_name == "Ann Smith"


def test_an_empty_display_name_falls_back_to_the_username(make_user):
    user = make_user("ann", display_name="Ann")
    services.user_profile_update(user=user, display_name="   ")
    user.refresh_from_db()
    assert user.display_name == ""
    assert user.shown_name == "ann"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("x" * 10_000, "at most 64"),
        ("\u200b\u200c\u2060", "must not be empty"),
        ("two\nlines", "control characters"),
        ("bad\ud800", "lone surrogate"),
        (12, "must be a string"),
    ],
)
def test_bad_display_names_are_refused_and_nothing_is_stored(make_user, value, message):
    user = make_user("ann", display_name="Ann", email="ann@example.com")
    with pytest.raises(DomainError) as info:
        services.user_profile_update(user=user, display_name=value, email="new@example.com")
    assert info.value.field == "display_name"
    assert message in info.value.detail
    assert (user.display_name, user.email) == ("Ann", "ann@example.com")  # not even in memory
    user.refresh_from_db()
    assert (user.display_name, user.email) == ("Ann", "ann@example.com")


def test_registration_refuses_an_invisible_display_name():
    with pytest.raises(RegistrationError) as info:
        services.user_register(username="ghost", password=PASSWORD, display_name="\u200b")
    assert set(info.value.errors) == {"display_name"}
    assert not User.objects.exists()


def test_profile_update_refuses_a_bad_email(make_user):
    user = make_user("ann")
    with pytest.raises(DomainError) as info:
        services.user_profile_update(user=user, display_name="Ann", email="not-an-address")
    assert info.value.field == "email"
    user.refresh_from_db()
    assert user.display_name == ""


# --- passwords --------------------------------------------------------------------------------


def _refresh_token(user) -> str:
    return str(RefreshToken.for_user(user))


def test_password_change_revokes_refresh_tokens_and_tickets_and_closes_sockets(
    make_user, django_capture_on_commit_callbacks
):
    user, other = make_user("ann"), make_user("bob")
    tokens = [_refresh_token(user), _refresh_token(user)]
    others_token = _refresh_token(other)
    services.ws_ticket_issue(user=user)
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_password_change(user=user, old_password=PASSWORD, new_password="Another-Horse-43!")
    user.refresh_from_db()
    assert user.check_password("Another-Horse-43!")
    for token in tokens:
        with pytest.raises(TokenError):
            RefreshToken(token).check_blacklist()
    RefreshToken(others_token).check_blacklist()  # someone else's stays valid
    assert not WsTicket.objects.filter(user=user).exists()
    assert [(c.func.__name__, c.args) for c in callbacks] == [("accounts_sockets_close", ([user.id],))]


def test_password_change_with_a_wrong_old_password_changes_nothing(
    make_user, django_capture_on_commit_callbacks
):
    user = make_user("ann")
    token = _refresh_token(user)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(WrongPassword) as info:
        services.user_password_change(user=user, old_password="guess", new_password="Another-Horse-43!")
    assert info.value.field == "old_password"
    assert callbacks == []
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    RefreshToken(token).check_blacklist()


def test_password_change_refuses_a_weak_new_password(make_user):
    user = make_user("ann")
    with pytest.raises(DomainError) as info:
        services.user_password_change(user=user, old_password=PASSWORD, new_password="12345678")
    assert info.value.field == "new_password"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- deletion ---------------------------------------------------------------------------------


def test_user_delete_keeps_the_event_log_whole_and_revokes_tokens(
    make_user, django_capture_on_commit_callbacks
):
    user = make_user("ann")
    token = _refresh_token(user)
    event = Event.objects.create(room_id=1, type="member.joined", subject=user, payload={})
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_delete(user=user)
    assert not User.objects.filter(username="ann").exists()
    event.refresh_from_db()  # still there, with no subject
    assert event.subject_id is None
    with pytest.raises(TokenError):
        RefreshToken(token).check_blacklist()
    assert [c.func.__name__ for c in callbacks] == ["accounts_sockets_close"]


def test_appear_offline_freezes_last_seen_and_tells_every_server_process(django_capture_on_commit_callbacks):
    from chatsite.realtime import broadcasts

    user = User.objects.create_user(username="shy", password=PASSWORD)
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_profile_update(user=user, appear_offline=True)
    assert [(c.func, c.args) for c in callbacks] == [(broadcasts.presence_hidden, ({user.pk: True},))]
    user.refresh_from_db()
    frozen = user.last_seen
    assert user.appear_offline and frozen is not None
    services.user_touch_last_seen(user_id=user.pk)  # a socket of theirs closed later
    user.refresh_from_db()
    assert user.last_seen == frozen
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_profile_update(user=user, appear_offline=True)  # no change: nothing to tell
    assert callbacks == []
    with pytest.raises(DomainError) as info:
        services.user_profile_update(user=user, appear_offline="no")  # type: ignore[arg-type]
    assert info.value.field == "appear_offline"
    services.user_profile_update(user=user, appear_offline=False)
    services.user_touch_last_seen(user_id=user.pk)
    user.refresh_from_db()
    assert not user.appear_offline and user.last_seen > frozen
