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
