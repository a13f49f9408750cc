"""GET /api/search/messages/: the search selector over REST."""

import pytest

from messaging.serializers import SearchResultSerializer
from messaging.services import message_send
from rooms import services as rooms

pytestmark = pytest.mark.django_db
URL = "/api/search/messages/"


@pytest.fixture
def ann(make_user):
    return make_user("ann")


@pytest.fixture
def room(ann):
    return rooms.room_create(creator=ann, name="Ops")


def say(user, room, body):
    return message_send(sender=user, room_id=room.id, body=body).message.id


def test_search_answers_documented_results(auth_api, ann, room):
    hit = say(ann, room, "deploy the <b>thing</b>")
    say(ann, room, "unrelated")
    page = auth_api(ann).get(URL, {"q": "deploy "}).json()
    assert page["has_more"] is False and [r["id"] for r in page["results"]] == [hit]
    (result,) = page["results"]
    assert set(result) == set(SearchResultSerializer().fields)
    assert result["room_info"] == {"id": room.id, "name": "Ops", "kind": "public"}
    assert result["highlight"] == "<mark>deploy</mark> the &lt;b&gt;thing&lt;/b&gt;"


def test_a_trailing_space_ends_the_last_word_over_rest_too(auth_api, ann, room):
    hit = say(ann, room, "the zeppelin has landed")
    client = auth_api(ann)
    assert [r["id"] for r in client.get(URL, {"q": "zeppel"}).json()["results"]] == [hit]  # typing
    assert client.get(URL, {"q": "zeppel "}).json()["results"] == []  # a whole word: no "zeppel"


def test_search_pages_and_orders(auth_api, ann, room):
    ids = [say(ann, room, f"paged {i}") for i in range(3)]
    client = auth_api(ann)
    first = client.get(URL, {"q": "paged", "limit": 2}).json()
    assert [r["id"] for r in first["results"]] == ids[::-1][:2] and first["has_more"]
    rest = client.get(URL, {"q": "paged", "limit": 2, "offset": 2}).json()
    assert [r["id"] for r in rest["results"]] == [ids[0]] and not rest["has_more"]
    assert client.get(URL, {"q": "paged", "order": "relevant"}).status_code == 200
    assert first["next_before"] == ids[1] and rest["next_before"] is None
    older = client.get(URL, {"q": "paged", "limit": 2, "before": first["next_before"]}).json()
    assert [r["id"] for r in older["results"]] == [ids[0]] and not older["has_more"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"q": "from:nobody"}, "q", "no one is called"),
        ({"q": "after:soon"}, "q", "after: needs a date"),
        ({"q": "x" * 2001}, "q", "no more than 2000 characters"),
        ({"q": ""}, "q", "may not be blank"),
        ({}, "q", "required"),
        ({"q": "a", "order": "random"}, "order", "not a valid choice"),
        ({"q": "a", "limit": "0"}, "limit", ""),
        ({"q": "a", "offset": "-1"}, "offset", ""),
        ({"q": "a", "before": "0"}, "before", ""),
        ({"q": "a", "before": "x"}, "before", ""),
        ({"q": "a", "order": "relevant", "before": "5"}, "before", "most relevant pages by offset"),
    ],
)
def test_bad_queries_answer_400_with_the_reason(auth_api, ann, params, field, message):
    response = auth_api(ann).get(URL, params)
    assert response.status_code == 400
    assert message in response.json()["fields"][field][0]


def test_a_private_room_of_others_is_refused_like_a_missing_one(auth_api, ann, make_user):
    rooms.room_create(creator=ann, name="Hidden", kind="private")
    client = auth_api(make_user("eve"))
    hidden = client.get(URL, {"q": "in:hidden"})
    missing = client.get(URL, {"q": "in:hidden2"})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json()["fields"]["q"][0].replace("hidden", "X") == missing.json()["fields"]["q"][0].replace(
        "hidden2", "X"
    )


def test_search_needs_authentication(api):
    assert api.get(URL, {"q": "x"}).status_code == 401
