"""The XSS corpus (tests/browser/xss_payloads.py) through every place Parley shows user text, in
Chromium: message bodies (page load, live push, after an edit, reply quotes, threads, revisions,
search results with highlighting, notifications), attachment file names, display names (sidebar,
member list, mentions, typing line, "who reacted" tooltips, DM names), room names and topics
(sidebar, header, settings, tab title) and report notes in the admin.

The page is instrumented before it loads: ``window.__xss`` (which every payload calls), the
dialogs, eval, Function and string timers record any call, and CSP violations are recorded too
(an inline handler that reached the DOM is refused by the CSP, which is itself a finding). After
each view the DOM is searched for anything a payload could have created: its ``data-xss``
marker, an ``on*`` attribute, an htmx attribute naming the payload, a ``javascript:``/
``vbscript:``/``data:`` URL, a script/iframe/object/base element of its own. Each view also
checks the payloads are there as text, so a view that showed nothing could not pass.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import expect

from accounts import services as accounts_services
from accounts.models import User
from chatsite.exceptions import DomainError
from conftest import PASSWORD
from messaging import changes, reports, services, uploads
from messaging.models import MessageReport
from rooms import services as rooms_services
from tests.browser.test_notifications import INSTRUMENT as NOTIFICATIONS  # records what is shown
from tests.browser.xss_payloads import DISPLAY_NAME_MAX, ROOM_NAME_MAX, payloads, short

pytestmark = [pytest.mark.browser, pytest.mark.server]

PAYLOADS = payloads()
PEOPLE = 12  # people with a payload for a display name
ROOMS = 12  # rooms with a payload for a name; the first MESSAGE_ROOMS hold the messages
MESSAGE_ROOMS = 3
EDITED = 15  # messages sent as plain text, then edited into a payload
FILES = 12  # attachments with a payload for a file name
REPORTS = 15  # reports with a payload for a note
LIVE = 12  # payloads sent through the page and its socket

INSTRUMENT = """
(() => {
  const hits = [];
  Object.defineProperty(window, "__xssHits", {value: hits});
  const record = (kind, detail) => hits.push(kind + ": " + String(detail).slice(0, 200));
  // A payload's call, not the test's own probes (Playwright evaluates through eval).
  const marked = (args) => Array.from(args).some((a) => typeof a === "string" && /__xss\\(/.test(a));
  Object.defineProperty(window, "__xss", {value: (n) => record("payload ran", n)});
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    window[name] = function (message) { record(name, message); return null; };
  }
  const realEval = window.eval;
  window.eval = function (code) { if (marked(arguments)) record("eval", code); return realEval(code); };
  window.Function = new Proxy(window.Function, {
    apply(target, self, args) { if (marked(args)) record("Function", args.join(",")); return Reflect.apply(target, self, args); },
    construct(target, args) { if (marked(args)) record("Function", args.join(",")); return Reflect.construct(target, args); },
  });
  for (const name of ["setTimeout", "setInterval"]) {
    const real = window[name];
    window[name] = function (handler, ...rest) {
      if (typeof handler === "string") record(name + " with a string", handler);
      return real.call(this, handler, ...rest);
    };
  }
  document.addEventListener("securitypolicyviolation", (e) =>
    record("CSP violation", e.violatedDirective + " " + (e.sample || e.blockedURI)));
})();
"""

# Everything a payload could have put into the DOM (see the module docstring).
INJECTED = """
() => {
  const found = [];
  const report = (el, why) => found.push(why + ": " + el.outerHTML.slice(0, 160));
  const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "data", "xlink:href", "srcdoc",
    "poster", "background", "codebase", "ping"]);
  const squeeze = (v) => v.replace(/[\\u0000-\\u0020\\u007f-\\u009f]+/g, "").toLowerCase();
  const USER_TEXT = ".message-body, .excerpt, .file-name, .sender, .room-name, .member-name, " +
    "#room-title, .room-topic, .search-hit, #typing-indicator, #result_list";
  for (const el of document.querySelectorAll("*")) {
    if (el.hasAttribute("data-xss")) report(el, "payload element");
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) report(el, "event handler " + name);
      // hx-confirm and hx-prompt only show their text in a dialog. Only the payloads' own marks
      // count ("__xss", "/xss/"; no bare "xss" in any case: the CSRF token in the body's hx-headers
      // is random letters and digits, and once read "...MqXsSUet...").
      if (/^(data-)?hx-(?!confirm$|prompt$)/.test(name) && /__xss|[/]xss[/]/.test(attr.value)) {
        report(el, "htmx attribute " + name);
      }
      if (URL_ATTRIBUTES.has(name)) {
        const url = squeeze(attr.value);
        if (/^(javascript|vbscript):/.test(url) || (url.startsWith("data:") && el.tagName !== "IMG")) {
          report(el, "script URL in " + name);
        }
      }
    }
    const values = Array.from(el.attributes, (a) => a.value).join(" ");
    if ((el.tagName === "SCRIPT" && /__xss\\(/.test(el.text))
        || (/^(IFRAME|FRAME|OBJECT|EMBED|BASE|META|STYLE|svg|math)$/.test(el.tagName) && /xss/i.test(values + el.textContent))
        || (el.tagName === "TEMPLATE" && el.content.querySelector("[data-xss]"))) report(el, "payload tag");
  }
  for (const el of document.querySelectorAll(USER_TEXT)) {
    for (const inner of el.querySelectorAll("*")) {
      for (const attr of inner.attributes) {
        if (/^(data-)?hx-/.test(attr.name)) report(inner, "htmx attribute in user text");
      }
    }
  }
  return found;
}
"""


class Watch:
    """Fails at the first view where a payload ran or put something into the page, naming it."""

    def __init__(self, page_errors) -> None:
        self.page_errors = page_errors
        self.views: list[str] = []

    def check(self, page, where: str) -> None:
        page.wait_for_timeout(100)  # an onerror/onload would have fired by now
        self.views.append(where)
        findings = [f"executed: {hit}" for hit in page.evaluate("() => window.__xssHits")]
        findings += [f"injected: {element}" for element in page.evaluate(INJECTED)]
        assert findings == [], f"{where}:\n" + "\n".join(findings[:40])
        assert self.page_errors.errors == [], f"{where}: {self.page_errors.errors[:20]}"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (4, 4), (0, 128, 0, 255)).save(out, format="PNG")
    return out.getvalue()


def accepted(clean, candidates: list[tuple[int, str]], count: int) -> list[str]:
    """The first ``count`` payloads the field's own validation accepts (it refuses some, e.g.
    control characters in one-line fields: those never reach a page)."""
    out = []
    for _, text in candidates:
        try:
            out.append(clean(text))
        except DomainError:
            continue
        if len(out) == count:
            break
    assert len(out) == count
    return out


@pytest.fixture
def corpus(make_user, settings):
    """Everything seeded through the services, at once: people, rooms, messages (edited, replied
    to), reactions, files, DMs and reports, each carrying payloads."""
    settings.UPLOAD_RATE_LIMIT = settings.REPORT_RATE_LIMIT = 10_000
    alice = make_user("alice", is_staff=True, is_superuser=True)
    names = accepted(accounts_services.clean_display_name, short(DISPLAY_NAME_MAX), PEOPLE)
    # Nobody logs in as them, so no password to hash (Argon2 costs a second per person here).
    people = [
        accounts_services.user_profile_update(
            user=User.objects.create_user(username=f"mal{i}", password=None), display_name=name
        )
        for i, name in enumerate(names)
    ]
    people[0].set_password(PASSWORD)  # mal0 sends through the page in the live part
    people[0].save(update_fields=["password"])
    room_names = [text for _, text in short(ROOM_NAME_MAX)[PEOPLE : PEOPLE + ROOMS]]
    rooms = []
    for i, name in enumerate(room_names):  # named by the settings path, as an owner renames one
        room = rooms_services.room_create(creator=alice, name="tmp", description=PAYLOADS[-1 - i][:500])
        room = rooms_services.room_update(
            actor=alice, room_id=room.id, name=name, topic=PAYLOADS[i * 7 % len(PAYLOADS)][:250]
        )
        rooms.append(room)
    for person in people:
        for room in rooms[:MESSAGE_ROOMS]:
            rooms_services.room_join(user=person, room_id=room.id)

    def send_all(sends: list[services.SendRequest]) -> list:
        results = services.message_send_many(sends=sends)
        assert all(isinstance(r, services.SendResult) for r in results), results
        return [r.message for r in results]

    # Every payload as a message; the first EDITED ones sent as plain text, then edited into it.
    sent = send_all(
        [
            services.SendRequest(
                sender=people[i % PEOPLE],
                room_id=rooms[i % MESSAGE_ROOMS].id,
                body=body if i >= EDITED else f"plain message {i}",
            )
            for i, body in enumerate(PAYLOADS)
        ]
    )
    for i in range(EDITED):
        changes.message_edit(actor=people[i % PEOPLE], message_id=sent[i].id, body=PAYLOADS[i])
    # Replies quote their parents (payloads) and give them a thread; mentions of every
    # payload-named person; file names.
    later = [
        services.SendRequest(
            sender=people[(i + 1) % PEOPLE],
            room_id=sent[i].room_id,
            body=PAYLOADS[-1 - i],
            reply_to=sent[i].id,
        )
        for i in range(0, 40, 4)
    ]
    later += [
        services.SendRequest(sender=alice, room_id=room.id, body=" ".join(f"@{p.username}" for p in people))
        for room in rooms[:MESSAGE_ROOMS]
    ]
    for i in range(FILES):
        data, kind = (png(), "image/png") if i % 3 == 0 else (b"just text\n", "text/plain")
        attachment = uploads.attachment_upload(
            uploader=people[0],
            room_id=rooms[0].id,
            upload=SimpleUploadedFile(PAYLOADS[i * 9 % len(PAYLOADS)][:200], data, content_type=kind),
        )
        later.append(
            services.SendRequest(
                sender=people[0], room_id=rooms[0].id, body="file", attachments=[attachment.id]
            )
        )
    # DMs and a group DM, named after their payload-named people.
    dms = [rooms_services.dm_open(user=alice, usernames=[p.username])[0] for p in people[:4]]
    dms.append(rooms_services.dm_open(user=alice, usernames=[p.username for p in people[4:7]])[0])
    later += [
        services.SendRequest(sender=alice, room_id=dm.id, body=PAYLOADS[n * 11]) for n, dm in enumerate(dms)
    ]
    mention = next(m for m in send_all(later) if m.sender_id == alice.id and m.room_id == rooms[0].id)
    for person in people:  # "who reacted" tooltips
        changes.reaction_toggle(user=person, message_id=mention.id, emoji="👍")
    # Report notes, for the admin.
    notes = [text for _, text in short(500)]
    for i in range(REPORTS):
        reports.message_report(
            reporter=people[(i * 7 + 1) % PEOPLE],
            message_id=sent[i * 7].id,
            reason="other",
            note=notes[i * 7],
        )
    # A public room Alice is not in: its read-only preview (messages, file names, name, topic).
    outside = rooms_services.room_create(creator=people[1], name=room_names[0][::-1], description=PAYLOADS[3])
    outside_file = uploads.attachment_upload(
        uploader=people[1],
        room_id=outside.id,
        upload=SimpleUploadedFile(PAYLOADS[4], b"text\n", content_type="text/plain"),
    )
    send_all(
        [services.SendRequest(sender=people[1], room_id=outside.id, body=text) for text in PAYLOADS[:30]]
        + [
            services.SendRequest(
                sender=people[1], room_id=outside.id, body="f", attachments=[outside_file.id]
            )
        ]
    )
    # Moderators' reasons, for the admin's moderation log.
    first_reports = list(MessageReport.objects.order_by("id").values_list("id", flat=True)[:3])
    for report_id, (_, reason) in zip(first_reports, short(500)[3:], strict=False):
        reports.reports_dismiss(actor=alice, report_ids=[report_id], reason=reason, via="admin")
    return {"alice": alice, "people": people, "rooms": rooms, "dms": dms, "sent": sent, "outside": outside}


def test_the_corpus_stays_text_on_every_page_that_shows_it(start_server, open_as, page_errors, corpus):
    assert len(PAYLOADS) >= 100
    # The corpus above was sent by the same people: with PostgreSQL + Redis their send budget is
    # shared with the server (one Redis), and the live sends below would go past it.
    server = start_server(extra_env={"SEND_RATE_LIMIT": "1000000"})
    page = open_as(server, "alice")
    page.context.add_init_script(INSTRUMENT)
    page.context.add_init_script(NOTIFICATIONS)
    page.context.grant_permissions(["notifications"], origin=server.url)
    watch = Watch(page_errors)
    rooms, people = corpus["rooms"], corpus["people"]

    page.goto(f"{server.url}/")
    watch.check(page, "home and sidebar")
    for room in rooms:  # the sidebar shows every payload-named room as text
        expect(page.locator(f"#sidebar-room-{room.id} .room-name")).to_have_text(room.name)

    for index, room in enumerate(rooms[:MESSAGE_ROOMS]):
        page.goto(f"{server.url}/r/{room.id}/")
        expect(page.locator("#composer-body")).to_be_enabled()
        assert room.name in page.title()
        bodies = page.locator("#messages li.message .message-body")
        expect(bodies.first).to_be_visible()
        shown = "\n".join(bodies.all_inner_texts())
        mine = PAYLOADS[index::MESSAGE_ROOMS]
        literal = [text for text in mine if text.strip() in shown]
        # Most payloads show exactly as typed (the rest went through Markdown: a link, bold...).
        assert len(literal) >= len(mine) // 2, (len(literal), len(mine))
        # "Who reacted" tooltips name the payload-named people.
        if index == 0:
            tooltip = page.locator("button.reaction").first.get_attribute("title")
            assert all(person.display_name in tooltip for person in people), tooltip
        watch.check(page, f"room {index} on load")
        if index:
            continue  # the panels below show the same people and kinds of text in every room

        page.locator("#members-toggle").click()
        expect(page.locator("#member-panel .member")).to_have_count(PEOPLE + 1)
        watch.check(page, f"room {index} member panel")

        page.locator("#messages .reply-count").first.click()
        expect(page.locator("#side-panel .message").first).to_be_visible()
        watch.check(page, f"room {index} thread")

        page.locator("#messages .edited").first.click()
        expect(page.locator("#side-panel .message-body").first).to_be_visible()
        watch.check(page, f"room {index} revisions")

    page.goto(f"{server.url}/rooms/{rooms[0].id}/settings/")
    expect(page.get_by_label("Topic")).to_have_value(rooms[0].topic)
    watch.check(page, "room settings")

    for dm in (corpus["dms"][0], corpus["dms"][-1]):  # a DM and a group DM
        page.goto(f"{server.url}/r/{dm.id}/")
        expect(page.locator("#messages li.message")).to_have_count(1)
        watch.check(page, f"DM {dm.id}")

    for words in ("onerror", "javascript"):
        page.goto(f"{server.url}/search/?q={words.replace(' ', '+')}")
        expect(page.locator("main .search-hit").first).to_be_visible()
        watch.check(page, f"search {words!r}")

    page.goto(f"{server.url}/r/{corpus['outside'].id}/")  # the preview of a room she is not in
    expect(page.locator(".room-preview li.message")).to_have_count(30)  # the newest 30
    expect(page.locator(".file-name")).to_have_count(1)
    watch.check(page, "public room preview")

    page.goto(f"{server.url}/rooms/browse/")
    watch.check(page, "browse rooms")

    page.goto(f"{server.url}/admin/messaging/messagereport/")
    expect(page.locator("#result_list tbody tr")).to_have_count(REPORTS)
    watch.check(page, "admin report list")
    page.locator("#result_list tbody tr a").first.click()
    watch.check(page, "admin report")
    for model in ("messaging/message", "rooms/room", "accounts/user", "accounts/moderationlogentry"):
        page.goto(f"{server.url}/admin/{model}/")
        expect(page.locator("#result_list")).to_be_visible()
        watch.check(page, f"admin {model} list")

    # The live path: mal0 types, sends, edits and replies through the page and its socket while
    # Alice watches with her tab hidden (so mentions of her are notified).
    mallory = open_as(server, "mal0")
    mallory.context.add_init_script(INSTRUMENT)
    room = rooms[0]
    for viewer in (page, mallory):
        viewer.goto(f"{server.url}/r/{room.id}/")
        expect(viewer.locator("#composer-body")).to_be_enabled()
    page.evaluate("() => { window.__hidden = true; document.dispatchEvent(new Event('visibilitychange')); }")
    composer = mallory.locator("#composer-body")
    composer.press_sequentially("hel")
    expect(page.locator("#typing-indicator")).to_contain_text(people[0].display_name)
    watch.check(page, "typing indicator")
    composer.fill("@mal")
    expect(mallory.locator("#mention-list [role=option]").first).to_be_visible()
    watch.check(mallory, "mention suggestions")

    before = page.locator("#messages li.message").count()
    live = [text for text in PAYLOADS if len(text) < 300][::9][:LIVE]
    for text in live:
        composer.fill(f"@alice {text}")
        composer.press("Enter")
        expect(composer).to_have_value("")
    expect(page.locator("#messages li.message")).to_have_count(before + len(live))
    expect(mallory.locator("#messages li.message:not(.pending)")).to_have_count(before + len(live))
    watch.check(page, "live messages")
    watch.check(mallory, "own sent messages")
    page.wait_for_function(f"() => window.__shown.length >= {len(live)}")
    shown = page.evaluate("() => window.__shown")
    assert {n["title"] for n in shown} == {f"{people[0].display_name} in {room.name}"}
    assert [n["body"] for n in shown] == [f"@alice {text}".strip() for text in live]

    # An edit through the page's form, and a reply through the Reply button.
    newest = mallory.locator("#messages li.message").last
    newest.get_by_role("button", name="Edit").click()
    edited = PAYLOADS[40]
    newest.get_by_label("Edit message").fill(edited)
    newest.get_by_role("button", name="Save").click()
    expect(page.locator("#messages li.message").last.locator(".message-body")).to_contain_text(edited)
    watch.check(page, "live edit")
    mallory.locator("#messages li.message").last.get_by_role("button", name="Reply").click()
    expect(mallory.locator("#reply-banner .reply-target")).to_have_text(people[0].display_name)
    composer.fill(PAYLOADS[41])
    composer.press("Enter")
    expect(page.locator("#messages li.message")).to_have_count(before + len(live) + 1)
    expect(page.locator("#messages li.message").last.locator(".reply-quote")).to_be_visible()
    watch.check(page, "live reply")
    watch.check(mallory, "own edit and reply")
    assert len(watch.views) >= 25
