"""Message search: the query language (messaging.search) and the scoped selector, on both backends."""

import io
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from PIL import Image

from messaging import changes, search, seeding, uploads
from messaging.exceptions import InvalidSearch
from messaging.models import Message
from messaging.search_selectors import messages_search
from messaging.services import message_send
from rooms import services as rooms
from rooms.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_send_limit(settings):
    settings.SEND_RATE_LIMIT = 10_000


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def general(alice, bob):
    room = rooms.room_create(creator=alice, name="General")
    rooms.room_join(user=bob, room_id=room.id)
    return room


def say(user, room, body: str) -> int:
    return message_send(sender=user, room_id=room.id, body=body).message.id


def found(user, text: str, **kwargs) -> list[int]:
    return [m["id"] for m in messages_search(user=user, text=text, **kwargs).results]


# --- the parser ------------------------------------------------------------------------------------


def test_parse_words_phrases_negation_and_or():
    query = search.parse('deploy "blue green" -draft staging OR prod ')
    assert query.groups == [
        [search.Term(("deploy",))],
        [search.Term(("blue", "green"))],
        [search.Term(("staging",)), search.Term(("prod",))],
    ]
    assert query.excluded == [search.Term(("draft",))]


def test_parse_last_word_is_a_prefix_only_while_typing():
    assert search.parse("deplo").groups == [[search.Term(("deplo",), prefix=True)]]
    assert search.parse("deplo ").groups == [[search.Term(("deplo",))]]
    assert search.parse('"deplo"').groups == [[search.Term(("deplo",))]]


def test_parse_operators():
    query = search.parse("from:@Alice in:general has:link is:mention before:2026-11-02 after:2026-10-01")
    assert query.senders == ["Alice"] and query.rooms == ["general"]
    assert query.has == {"link"} and query.mention
    assert (query.before, query.after) == (datetime(2026, 11, 2).date(), datetime(2026, 10, 1).date())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("before:yesterday", "before: needs a date like 2026-11-21"),
        ("on:2026-02-30", "on: needs a date"),
        ("has:pdf", "has: can be has:link, has:file or has:image"),
        ("is:starred", "is: can only be is:mention"),
        ("from:", "from: needs a value"),
        ("x" * 2001, "at most 2,000 characters"),
        (" ".join(["w"] * 65), "at most 64 words"),
    ],
)
def test_parse_refuses_bad_operator_values_clearly(text, message):
    with pytest.raises(InvalidSearch, match=message):
        search.parse(text)


def test_parse_reduces_words_to_letters_and_digits():
    assert search.parse("'; drop table messaging_message; --").groups == [
        [search.Term(("drop",))],
        [search.Term(("table",))],
        [search.Term(("messaging", "message"))],
    ]
    assert search.parse("&|!:*() \" <> ''").is_empty


def test_highlight_escapes_then_marks():
    html = search.highlight("<b>we deployed</b> & Deploying", ["deploying"])
    assert html == "&lt;b&gt;we <mark>deployed</mark>&lt;/b&gt; &amp; <mark>Deploying</mark>"


def test_highlight_cuts_a_snippet_around_the_first_match():
    text = "filler " * 60 + "needle here " + "tail " * 60
    html = search.highlight(text, ["needle"])
    assert html.startswith("…") and html.endswith("…") and "<mark>needle</mark> here" in html
    assert len(html) < 260


# --- the selector, on both backends ------------------------------------------------------------


def test_words_are_stemmed(alice, general):
    hit = say(alice, general, "We deployed the new build")
    say(alice, general, "Nothing to see")
    assert found(alice, "deploying ") == [hit]
    assert found(alice, "builds ") == [hit]


def test_every_word_must_match(alice, general):
    both = say(alice, general, "the red car")
    say(alice, general, "the red bike")
    assert found(alice, "red car ") == [both]


def test_phrases_match_words_in_that_order(alice, general):
    hit = say(alice, general, "blue green deploy")
    say(alice, general, "green blue deploy")
    assert found(alice, '"blue green"') == [hit]


def test_negation_excludes(alice, general):
    keep = say(alice, general, "release notes")
    say(alice, general, "release draft")
    assert found(alice, "release -draft") == [keep]
    assert keep in found(alice, "-draft")


def test_or_makes_alternatives(alice, general):
    staging = say(alice, general, "deploy to staging")
    prod = say(alice, general, "deploy to production")
    say(alice, general, "deploy to qa")
    assert found(alice, "deploy staging OR production ") == [prod, staging]


def test_the_last_word_matches_as_a_prefix_while_typing(alice, general):
    hit = say(alice, general, "a deployment happened")
    assert found(alice, "deplo") == [hit]
    assert found(alice, "deplo ") == []


def test_from_operator(alice, bob, general):
    say(alice, general, "hello from alice")
    hers = say(bob, general, "hello from bob")
    assert found(alice, "hello from:bob") == [hers]
    assert found(bob, "hello from:me") == [hers]
    with pytest.raises(InvalidSearch, match="no one is called “nobody”"):
        found(alice, "from:nobody")


def test_in_operator_by_slug_name_and_dm(alice, bob, general):
    other = rooms.room_create(creator=alice, name="Random Stuff")
    say(alice, general, "lunch?")
    there = say(alice, other, "lunch!")
    dm, _ = rooms.dm_open(user=alice, usernames=["bob"])
    private = say(bob, dm, "lunch in private")
    assert found(alice, "lunch in:random-stuff") == [there]
    assert found(alice, 'lunch in:"random stuff"') == [there]
    assert found(alice, "lunch in:@bob") == [private]
    assert found(bob, "in:@alice") == [private]


def test_in_a_private_room_of_others_answers_as_a_missing_room(alice, bob, general):
    rooms.room_create(creator=alice, name="Secret", kind="private")
    with pytest.raises(InvalidSearch) as secret:
        found(bob, "in:secret")
    with pytest.raises(InvalidSearch) as missing:
        found(bob, "in:nosuchroom")
    assert str(secret.value).replace("secret", "X") == str(missing.value).replace("nosuchroom", "X")


def test_words_inside_links_addresses_and_hyphens_are_words(alice, general):
    link = say(alice, general, "see https://example.com/docs or mail ops@example.org")
    hyphen = say(alice, general, "a keyboard-only test, v1.2.3 <b>bold</b>")
    assert found(alice, "example.com ") == [link]
    assert found(alice, "docs ") == [link]
    assert found(alice, "ops@example.org ") == [link]
    assert found(alice, '"keyboard only"') == found(alice, "keyboard-only ") == [hyphen]
    assert found(alice, "bold test ") == [hyphen]


def test_has_link(alice, general):
    link = say(alice, general, "see https://example.com/docs")
    say(alice, general, "see the docs")
    assert found(alice, "see has:link") == [link]


def test_has_file_and_has_image(alice, bob, general, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(picture, "PNG")

    def attached(name: str, data: bytes, body: str) -> int:
        upload = SimpleUploadedFile(name, data, content_type="application/octet-stream")
        attachment = uploads.attachment_upload(uploader=alice, room_id=general.id, upload=upload)
        return message_send(
            sender=alice, room_id=general.id, body=body, attachments=[attachment.id]
        ).message.id

    image = attached("chart.png", picture.getvalue(), "quarterly chart")
    notes = attached("notes.txt", b"plain words", "quarterly notes")
    say(alice, general, "quarterly plan, no files")
    assert found(alice, "quarterly has:file") == [notes, image]
    assert found(alice, "has:image") == [image]
    assert found(alice, "notes has:image") == []
    assert found(bob, "has:file") == [notes, image]  # a member of the room
    assert found(make_user("eve"), "has:file") == []


def test_is_mention(alice, bob, general):
    mine = say(alice, general, "@bob can you look")
    everyone = say(alice, general, "@room standup now")
    say(alice, general, "no mention here")
    assert found(bob, "is:mention") == [everyone, mine]
    assert found(alice, "is:mention") == [everyone]


def test_dates(alice, general):
    old = say(alice, general, "dated message")
    new = say(alice, general, "dated message")
    Message.objects.filter(id=old).update(created_at=datetime(2026, 1, 10, 12, tzinfo=UTC))
    Message.objects.filter(id=new).update(created_at=datetime(2026, 3, 5, 12, tzinfo=UTC))
    assert found(alice, "dated on:2026-01-10") == [old]
    assert found(alice, "dated before:2026-03-05") == [old]
    assert found(alice, "dated after:2026-01-10") == [new]
    assert found(alice, "dated after:2026-01-09 before:2026-01-11") == [old]


def test_only_rooms_the_searcher_is_in_and_not_after_leaving(alice, bob, general, make_user):
    secret = rooms.room_create(creator=alice, name="Secret", kind="private")
    hidden = say(alice, secret, "quarterly numbers")
    shared = say(alice, general, "quarterly plans")
    assert found(bob, "quarterly ") == [shared]
    assert found(alice, "quarterly ") == [shared, hidden]
    rooms.room_leave(user=bob, room_id=general.id)
    assert found(bob, "quarterly ") == []
    assert found(make_user("carol"), "quarterly ") == []


def test_deleted_messages_never_match_and_edits_match_their_new_text(alice, general):
    gone = say(alice, general, "embarrassing typo")
    edited = say(alice, general, "first version")
    changes.message_delete(actor=alice, message_id=gone, via="api")
    changes.message_edit(actor=alice, message_id=edited, body="second wording")
    assert found(alice, "embarrassing ") == []
    assert found(alice, "first ") == []
    assert found(alice, "wording ") == [edited]
    assert found(alice, "from:me") == found(alice, "from:me -nothing") == [edited]


def test_unicode_and_emoji(alice, general):
    russian = say(alice, general, "Привет, мир 🎉")
    french = say(alice, general, "un café crème")
    assert found(alice, "привет ") == [russian]
    assert found(alice, "мир") == [russian]
    assert found(alice, "café ") == [french]
    assert found(alice, "🎉") == []  # emoji are not words: nothing to search for


@pytest.mark.parametrize(
    "text",
    ["'; drop table messaging_message; --", "&|!:*()", '"unterminated', "-", "OR", "a OR", "x:y* NEAR(a b)"],
)
def test_injection_looking_queries_are_just_words(alice, general, text):
    say(alice, general, "drop table is a phrase here")
    found(alice, text)  # never an error from the engine
    assert Message.objects.count() == 1


def test_a_query_of_2000_characters_runs_and_one_more_is_refused(alice, general):
    say(alice, general, "short words")
    assert found(alice, "я" * 2000) == []  # one word longer than either index keeps: no match
    assert found(alice, "short " + "w" * 1994) == []
    with pytest.raises(InvalidSearch, match="at most 2,000 characters"):
        found(alice, "я" * 2001)


def test_relevance_orders_by_rank_then_newest(alice, general):
    once = say(alice, general, "cache " + "padding words " * 20)
    thrice = say(alice, general, "cache cache cache")
    assert found(alice, "cache ", order="relevant") == [thrice, once]
    newer = say(alice, general, "cache cache cache")
    assert found(alice, "cache ", order="relevant")[:2] == [newer, thrice]


def test_relevance_ranks_the_newest_matches(alice, general, monkeypatch):
    monkeypatch.setattr("messaging.search_selectors.RANK_WINDOW", 2)
    best_but_old = say(alice, general, "cache cache cache")
    newer = [say(alice, general, "cache " + "padding words " * 20) for _ in range(2)]
    assert found(alice, "cache ", order="relevant") == newer[::-1]
    assert best_but_old in found(alice, "cache ")


def test_pages(alice, general):
    ids = [say(alice, general, f"paged {i}") for i in range(5)]
    first = messages_search(user=alice, text="paged ", limit=2)
    assert [m["id"] for m in first.results] == ids[::-1][:2] and first.has_more
    last = messages_search(user=alice, text="paged ", limit=2, offset=4)
    assert [m["id"] for m in last.results] == [ids[0]] and not last.has_more


def test_newest_first_pages_by_keyset(alice, general):
    ids = [say(alice, general, f"paged {i}") for i in range(5)]
    say(alice, general, "unrelated words")
    seen, before = [], None
    while True:
        page = messages_search(user=alice, text="paged ", limit=2, before=before)
        seen += [m["id"] for m in page.results]
        if not page.has_more:
            assert page.next_before is None
            break
        assert page.next_before == page.results[-1]["id"]
        before = page.next_before
    assert seen == ids[::-1]


def test_relevance_does_not_page_by_keyset(alice, general):
    say(alice, general, "paged")
    assert messages_search(user=alice, text="paged", order="relevant", limit=1).next_before is None
    with pytest.raises(InvalidSearch) as refused:
        messages_search(user=alice, text="paged", order="relevant", before=10)
    assert refused.value.field == "before"


def test_results_carry_room_and_highlight(alice, general):
    say(alice, general, "the <script> deploy")
    (result,) = messages_search(user=alice, text="deploy ").results
    assert result["room_info"] == {"id": general.id, "name": "General", "kind": "public"}
    assert result["highlight"] == "the &lt;script&gt; <mark>deploy</mark>"


def test_postgres_matches_through_the_stored_vectors_gin_index(alice, general):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's index; SQLite's FTS5 table is the index itself")
    say(alice, general, "indexed words")
    query = search.parse("indexed ")
    condition, _, params = search.postgres_condition(query)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT id FROM messaging_message WHERE {condition}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "messaging_message_search_vector" in plan


def test_messages_written_by_the_bulk_seed_are_searchable():
    seeding.seed_chat(seed=5, users=12, rooms=2, members=6, messages=260, dms=2)
    assert Message.objects.count() > seeding.BULK_THRESHOLD  # the bulk path (COPY on PostgreSQL)
    last = Message.objects.order_by("-id").first()
    member = Membership.objects.filter(room_id=last.room_id).first().user
    words = search.WORD_RE.findall(last.body)[:3]
    assert last.id in found(member, '"' + " ".join(words) + '"', limit=50)
