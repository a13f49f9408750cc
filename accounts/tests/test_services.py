import pytest

from accounts import services
from accounts.exceptions import RegistrationError
from accounts.models import User, WsTicket
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
    from chatsite.exceptions import DomainError

    user = User.objects.create_user(username="painter", password=PASSWORD)
    with django_capture_on_commit_callbacks() as callbacks:
        services.user_set_theme(user=user, theme="dark")
    assert callbacks == []  # a preference: nothing to broadcast
    user.refresh_from_db()
    assert user.theme == "dark"
    with pytest.raises(DomainError) as info:
        services.user_set_theme(user=user, theme="neon")
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
