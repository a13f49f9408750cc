"""The registry of event kinds: one declaration per kind, read by everything else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatsite.realtime import kinds
from chatsite.realtime.events import event_new
from messaging.consumers import ChatConsumer

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(kinds, "REGISTRY", dict(kinds.REGISTRY))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stored": True, "audience": kinds.Audience.USERS}, "heard by a room"),
        ({"stored": False, "subscription": kinds.Subscription.JOIN}, "must be stored"),
    ],
)
def test_declarations_that_could_not_work_are_refused(scratch_registry, options, message):
    with pytest.raises(ValueError, match=message):
        kinds.declare("test.kind", **options)
    assert "test.kind" not in kinds.REGISTRY


def test_a_kind_is_declared_once(scratch_registry):
    with pytest.raises(ValueError, match="twice"):
        kinds.declare("message.new", stored=True)


@pytest.mark.parametrize("key", ["type", "seq", "html"])
def test_a_payload_can_never_overwrite_the_frames_own_keys(key):
    with pytest.raises(ValueError, match="overwrite"):
        kinds.MESSAGE_NEW.frame(5, {"message": {}, key: "forged"})
    with pytest.raises(ValueError, match="overwrite"):
        event_new(kinds.MESSAGE_NEW, room_id=1, payload={key: 1})
    assert kinds.MESSAGE_NEW.frame(5, {"message": {"id": 1}}) == {
        "type": "message.new",
        "seq": 5,
        "message": {"id": 1},
    }


def test_ephemeral_kinds_are_never_stored():
    with pytest.raises(ValueError, match="ephemeral"):
        event_new(kinds.TYPING, room_id=1, payload={"room": 1})


def test_the_websocket_docs_describe_every_kind_and_every_client_frame():
    docs = (ROOT / "docs" / "websocket.md").read_text()
    for name in [*kinds.REGISTRY, *ChatConsumer.handlers]:
        assert f'"type": "{name}"' in docs, name


def test_the_page_script_names_no_event_kind():
    """chat.js reads the kinds from the page (data-event-kinds); a literal there would be a
    second declaration that the registry could not keep in step."""
    script = (ROOT / "static" / "js" / "chat.js").read_text()
    literals = set(re.findall(r"""["']([a-z]+\.[a-z_.]+|[a-z]+)["']""", script))
    assert not literals & set(kinds.REGISTRY), literals & set(kinds.REGISTRY)


@pytest.mark.django_db
def test_pages_carry_the_kind_table(client, make_user):
    import json
    from html import unescape

    client.force_login(make_user())
    html = client.get("/").content.decode()
    table = json.loads(unescape(re.search(r'data-event-kinds="([^"]*)"', html).group(1)))
    assert table == json.loads(json.dumps(kinds.client_table()))
    assert table["message.new"] == {"stored": True, "client": "message", "subscription": None}
    assert table["typing"]["stored"] is False
