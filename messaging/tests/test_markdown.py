"""Message bodies as HTML: the Markdown subset, nothing outside it, links, mentions, hostile input.

Safety is checked with a real HTML parser against an allow-list written out here (not imported),
so widening the module's allow-list has to be done in both places, on purpose.
"""

from __future__ import annotations

import gc
import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from messaging.markdown import render_html, render_plain

LINK = 'target="_blank" rel="noopener noreferrer nofollow ugc"'
TAGS = {"a", "blockquote", "br", "code", "em", "li", "ol", "p", "pre", "s", "span", "strong", "ul"}
ATTRIBUTES = {
    "a": {"href", "rel", "target"},
    "ol": {"start"},
    "span": {"class", "data-user-id"},
}
CLASSES = {"mention", "mention-room"}
SCHEMES = {"http", "https", "mailto"}
MENTIONS = {"alice": 7, "bob": 8}


class Parsed(HTMLParser):
    """Every element, attribute and text node of an HTML fragment, plus anything that is not one."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.other: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.other.append(f"comment {data}")

    def handle_decl(self, decl: str) -> None:
        self.other.append(f"declaration {decl}")

    def handle_pi(self, data: str) -> None:
        self.other.append(f"processing instruction {data}")

    def unknown_decl(self, data: str) -> None:
        self.other.append(f"declaration {data}")


def assert_only_allowed_markup(html: str) -> Parsed:
    parsed = Parsed(html)
    assert parsed.other == []
    for tag, attrs in parsed.elements:
        assert tag in TAGS, html
        assert set(attrs) <= ATTRIBUTES.get(tag, set()), html
        if tag == "a":
            assert attrs["rel"] == "noopener noreferrer nofollow ugc"
            assert attrs["target"] == "_blank"
            if "href" in attrs:
                href = attrs["href"] or ""
                assert urlsplit(href).scheme.lower() in SCHEMES, html
                assert href == href.strip() and href.isprintable(), html
                assert not href.startswith("//"), html
        if "class" in attrs:
            assert set((attrs["class"] or "").split()) <= CLASSES, html
        if "data-user-id" in attrs:
            assert (attrs["data-user-id"] or "").isdigit(), html
        if "start" in attrs:
            assert (attrs["start"] or "").isdigit(), html
    return parsed


def text_of(html: str) -> str:
    return "".join(Parsed(html).text)


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("**bold**", "<p><strong>bold</strong></p>"),
        ("__bold__", "<p><strong>bold</strong></p>"),
        ("*italic*", "<p><em>italic</em></p>"),
        ("_italic_", "<p><em>italic</em></p>"),
        ("***both***", "<p><em><strong>both</strong></em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("`x < y && z`", "<p><code>x &lt; y &amp;&amp; z</code></p>"),
        ("``a ` b``", "<p><code>a ` b</code></p>"),
        ("```python\nif a < b:\n    pass\n```", "<pre><code>if a &lt; b:\n    pass\n</code></pre>"),
        ("~~~\n**not bold**\n~~~", "<pre><code>**not bold**\n</code></pre>"),
        ("    indented = 1\n    code = 2", "<pre><code>indented = 1\ncode = 2\n</code></pre>"),
        ("> quoted\n> more", "<blockquote>\n<p>quoted<br>\nmore</p>\n</blockquote>"),
        (
            "> outer\n> > inner",
            "<blockquote>\n<p>outer</p>\n<blockquote>\n<p>inner</p>\n</blockquote>\n</blockquote>",
        ),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("* one\n+ two", "<ul>\n<li>one</li>\n</ul>\n<ul>\n<li>two</li>\n</ul>"),
        ("- one\n  - nested", "<ul>\n<li>one\n<ul>\n<li>nested</li>\n</ul>\n</li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("3) three\n4) four", '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>'),
        (
            "[the site](https://example.com/a?b=1&c=2)",
            f'<p><a href="https://example.com/a?b=1&amp;c=2" {LINK}>the site</a></p>',
        ),
        ("[write](mailto:team@example.com)", f'<p><a href="mailto:team@example.com" {LINK}>write</a></p>'),
        (
            "[**bold** link](http://example.com)",
            f'<p><a href="http://example.com" {LINK}><strong>bold</strong> link</a></p>',
        ),
        ("first line\nsecond line", "<p>first line<br>\nsecond line</p>"),
        ("para one\n\npara two", "<p>para one</p>\n<p>para two</p>"),
        ("\\*not italic\\*", "<p>*not italic*</p>"),
        ("", ""),
    ],
)
def test_renders_each_construct_of_the_subset(body: str, html: str) -> None:
    assert render_html(body) == html


@pytest.mark.parametrize(
    ("body", "html"),
    [
        (
            "see https://example.com/x",
            f'<p>see <a href="https://example.com/x" {LINK}>https://example.com/x</a></p>',
        ),
        ("HTTP://EXAMPLE.COM", f'<p><a href="HTTP://EXAMPLE.COM" {LINK}>HTTP://EXAMPLE.COM</a></p>'),
        (
            "go to www.example.com.",
            f'<p>go to <a href="http://www.example.com" {LINK}>www.example.com</a>.</p>',
        ),
        ("example.org", f'<p><a href="http://example.org" {LINK}>example.org</a></p>'),
        ("mail ann@example.com", f'<p>mail <a href="mailto:ann@example.com" {LINK}>ann@example.com</a></p>'),
        (
            "mailto:ann@example.com",
            f'<p><a href="mailto:ann@example.com" {LINK}>mailto:ann@example.com</a></p>',
        ),
        (
            "<https://example.com/a>",
            f'<p><a href="https://example.com/a" {LINK}>https://example.com/a</a></p>',
        ),
        (
            "https://example.com/pkg/__init__.py",
            f'<p><a href="https://example.com/pkg/__init__.py" {LINK}>https://example.com/pkg/__init__.py</a></p>',
        ),
        (
            "**https://example.com/a**",
            f'<p><strong><a href="https://example.com/a" {LINK}>https://example.com/a</a></strong></p>',
        ),
        (
            "(https://en.example.org/wiki/A_(b))",
            f'<p>(<a href="https://en.example.org/wiki/A_(b)" {LINK}>https://en.example.org/wiki/A_(b)</a>)</p>',
        ),
        ("`https://example.com`", "<p><code>https://example.com</code></p>"),
        (
            "[text](https://a.example) https://b.example",
            f'<p><a href="https://a.example" {LINK}>text</a> <a href="https://b.example" {LINK}>https://b.example</a></p>',
        ),
    ],
)
def test_links_bare_urls_and_email_addresses(body: str, html: str) -> None:
    assert render_html(body) == html


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("# Not a heading", "<p># Not a heading</p>"),
        ("### Nor this", "<p>### Nor this</p>"),
        ("Title\n=====", "<p>Title<br>\n=====</p>"),
        ("Title\n-----", "<p>Title<br>\n-----</p>"),
        ("---", "<p>---</p>"),
        ("***", "<p>***</p>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<p>| a | b |<br>\n|---|---|<br>\n| 1 | 2 |</p>"),
        ("<b>bold?</b>", "<p>&lt;b&gt;bold?&lt;/b&gt;</p>"),
        ("<div>\nblock\n</div>", "<p>&lt;div&gt;<br>\nblock<br>\n&lt;/div&gt;</p>"),
        ("<!-- hidden -->", "<p>&lt;!-- hidden --&gt;</p>"),
        ("&lt;b&gt;", "<p>&amp;lt;b&amp;gt;</p>"),
        ("&#60;b&#62; &amp; &copy;", "<p>&amp;#60;b&amp;#62; &amp;amp; &amp;copy;</p>"),
        ("[ref]\n\n[ref]: /x", "<p>[ref]</p>\n<p>[ref]: /x</p>"),
        ("term\n: definition", "<p>term<br>\n: definition</p>"),
        ("- [ ] task", "<ul>\n<li>[ ] task</li>\n</ul>"),
        ("H~2~O and 2^10^", "<p>H~2~O and 2^10^</p>"),
        ("==marked==", "<p>==marked==</p>"),
    ],
)
def test_everything_outside_the_subset_is_text(body: str, html: str) -> None:
    assert render_html(body) == html


@pytest.mark.parametrize(
    "body",
    [
        "![alt](https://example.com/i.png)",
        '![alt](https://example.com/i.png "title")',
        "![](data:image/png;base64,AAAA)",
    ],
)
def test_images_are_never_images(body: str) -> None:
    html = render_html(body)
    assert_only_allowed_markup(html)
    assert "<img" not in html
    assert text_of(html).startswith("!")


@pytest.mark.parametrize(
    "body",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html,<b>x</b>)",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "[x](ftp://example.com/f)",
        "[x](/relative/path)",
        "[x](relative.html)",
        "[x](//evil.example/x)",
        "[x](#fragment)",
        "[x](jav&#x09;ascript:alert(1))",
        "[x](https:evil.example)",
    ],
)
def test_unsafe_link_targets_keep_their_text_but_lose_the_link(body: str) -> None:
    html = render_html(body)
    assert "<a" not in html
    assert text_of(html) == body


def test_every_link_opens_in_a_new_tab_without_referrer_or_ranking() -> None:
    html = render_html("[a](https://a.example) https://b.example www.c.com d@e.org <https://f.example>")
    parsed = assert_only_allowed_markup(html)
    links = [attrs for tag, attrs in parsed.elements if tag == "a"]
    assert len(links) == 5
    assert {(a["rel"], a["target"]) for a in links} == {("noopener noreferrer nofollow ugc", "_blank")}


XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<<script>script>alert(1)<</script>/script>",
    "<img src=x onerror=alert(1)>",
    "<img/src/onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<iframe srcdoc='<script>alert(1)</script>'>",
    '<object data="data:text/html,<script>alert(1)</script>"></object>',
    "<embed src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<a href=https://ok.example onclick=alert(1)>x</a>",
    '<a href="https://ok.example" target="_self" rel="opener">x</a>',
    '<div hx-get="/admin/delete" hx-trigger="load">x</div>',
    '<button hx-on:click="alert(1)">x</button>',
    '<a href="https://ok.example" hx-on::before-request="alert(1)" hx-post="/x">x</a>',
    '<form hx-post="/x"><input autofocus onfocus=alert(1)></form>',
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<style>*{background:url(javascript:alert(1))}</style>",
    '<p style="position:fixed;top:0;left:0">cover</p>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:/">',
    "<template><img src=x onerror=alert(1)></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<span class="mention" data-user-id="1" onclick="alert(1)">@admin</span>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](jav&#x0A;ascript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](\x01javascript:alert(1))",
    "[x](javas%63ript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](//evil.example)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    '[x](https://ok.example "onmouseover=alert(1)")',
    '[x](https://ok.example "\\" onmouseover=\\"alert(1)")',
    "[x](https://ok.example 'x' onmouseover='alert(1)')",
    '[x](https://ok.example/" onmouseover="alert(1))',
    "[x](https://ok.example){onclick=alert(1)}",
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](https://ok.example/i.png)',
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "javascript:alert(1)",
    "javascript://example.com/%0Aalert(1)",
    'https://ok.example/"><script>alert(1)</script>',
    "www.ok.example/<img src=x onerror=alert(1)>",
    "x@ok.example<script>alert(1)</script>",
    "**<img src=x onerror=alert(1)>**",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "`</code><script>alert(1)</script>`",
    '```js" onload="alert(1)\nx\n```',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\<script>alert(1)\\</script>",
    "@alice<script>alert(1)</script>",
]


@pytest.mark.parametrize("body", XSS)
def test_hostile_input_yields_only_allow_listed_markup(body: str) -> None:
    for html in (render_html(body), render_html(body, mentions=MENTIONS, mention_room=True)):
        parsed = assert_only_allowed_markup(html)
        assert not any(
            tag == "span" and "mention" not in attrs.get("class", "") for tag, attrs in parsed.elements
        )


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        (
            '<span class="mention" data-user-id="1">@admin</span>',
            '<span class="mention" data-user-id="1">@admin</span>',
        ),
        ("&lt;script&gt;", "&lt;script&gt;"),
    ],
)
def test_html_in_a_message_is_shown_as_typed(body: str, text: str) -> None:
    html = render_html(body)
    assert Parsed(html).elements == [("p", {})]
    assert text_of(html) == text


@pytest.mark.parametrize(
    "control", ["\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c"]
)
def test_bidi_controls_survive_as_text(control: str) -> None:
    body = f"abc{control}fed.exe **x{control}y**"
    html = render_html(body)
    assert text_of(html) == f"abc{control}fed.exe x{control}y"
    assert render_plain(body) == f"abc{control}fed.exe x{control}y"


def test_a_long_word_is_kept_whole_for_css_to_wrap() -> None:
    word = "a" * 10_000
    assert render_html(word) == f"<p>{word}</p>"
    assert "\u200b" not in render_html(f"`{word}`\n\n```\n{word}\n```")


def test_returns_a_plain_str() -> None:
    assert type(render_html("**x**")) is str
    assert type(render_plain("**x**")) is str


@pytest.mark.parametrize(
    ("body", "html"),
    [
        ("hi @alice", '<p>hi <span class="mention" data-user-id="7">@alice</span></p>'),
        ("@Alice!", '<p><span class="mention" data-user-id="7">@Alice</span>!</p>'),
        ("thanks @bob.", '<p>thanks <span class="mention" data-user-id="8">@bob</span>.</p>'),
        (
            "(@alice, @bob)",
            '<p>(<span class="mention" data-user-id="7">@alice</span>, <span class="mention" data-user-id="8">@bob</span>)</p>',
        ),
        ("**@alice**", '<p><strong><span class="mention" data-user-id="7">@alice</span></strong></p>'),
        (
            "> @alice",
            '<blockquote>\n<p><span class="mention" data-user-id="7">@alice</span></p>\n</blockquote>',
        ),
        ("@room", '<p><span class="mention mention-room">@room</span></p>'),
        ("@carol", "<p>@carol</p>"),
        ("@alice_x", "<p>@alice_x</p>"),
        ("x@alice", "<p>x@alice</p>"),
        ("@@alice", "<p>@@alice</p>"),
        ("`@alice`", "<p><code>@alice</code></p>"),
        ("```\n@alice\n```", "<pre><code>@alice\n</code></pre>"),
        ("    @alice", "<pre><code>@alice\n</code></pre>"),
        ("[@alice](https://example.com)", f'<p><a href="https://example.com" {LINK}>@alice</a></p>'),
        (
            "https://example.com/@alice",
            f'<p><a href="https://example.com/@alice" {LINK}>https://example.com/@alice</a></p>',
        ),
        ("bob@alice.com", f'<p><a href="mailto:bob@alice.com" {LINK}>bob@alice.com</a></p>'),
        ("bob@alice", "<p>bob@alice</p>"),
    ],
)
def test_mentions_become_spans_only_for_known_names_outside_code_and_links(body: str, html: str) -> None:
    assert render_html(body, mentions=MENTIONS, mention_room=True) == html


def test_mentions_need_names_of_3_to_32_characters() -> None:
    names = {"al": 1, "a" * 32: 2, "b" * 33: 3}
    html = render_html(f"@al @al. @{'a' * 32} @{'b' * 33}", mentions=names)
    assert html == f'<p>@al @al. <span class="mention" data-user-id="2">@{"a" * 32}</span> @{"b" * 33}</p>'


def test_mentions_are_text_unless_asked_for() -> None:
    assert render_html("@alice @room") == "<p>@alice @room</p>"
    assert (
        render_html("@alice @room", mentions=MENTIONS)
        == '<p><span class="mention" data-user-id="7">@alice</span> @room</p>'
    )
    assert render_html("@room", mention_room=True) == '<p><span class="mention mention-room">@room</span></p>'


def test_mention_keys_are_matched_without_regard_to_case() -> None:
    assert (
        render_html("@ALICE", mentions={"Alice": 7})
        == '<p><span class="mention" data-user-id="7">@ALICE</span></p>'
    )


@pytest.mark.parametrize(
    ("body", "plain"),
    [
        ("**bold**, *it*, ~~gone~~ and `code`", "bold, it, gone and code"),
        ("[the site](https://example.com) and https://example.org", "the site and https://example.org"),
        ("# not a heading\n<b>raw</b> &amp;", "# not a heading\n<b>raw</b> &amp;"),
        ("- one\n- two\n\n1. three", "one\ntwo\nthree"),
        ("> quoted\n\nafter", "quoted\nafter"),
        ("```\nx = 1\n```\nafter", "x = 1\nafter"),
        ("first\nsecond", "first\nsecond"),
        ("@alice says hi", "@alice says hi"),
        ("", ""),
    ],
)
def test_render_plain_is_the_text_without_markup(body: str, plain: str) -> None:
    assert render_plain(body) == plain


BOMBS = {
    "10k nested quotes": ">" * 10_000,
    "10k nested quotes, spaced": "> " * 10_000 + "x",
    "quotes deepening line by line": "\n".join(">" * depth + " x" for depth in range(1, 141)),
    "10k nested bullets": "- " * 10_000 + "x",
    "10k nested numbers": "1. " * 10_000 + "x",
    "bullets indenting line by line": "\n".join("  " * depth + "- x" for depth in range(200)),
    "1 MB of *": "*" * 1_000_000,
    "1 MB of _": "_" * 1_000_000,
    "1 MB of * inside text": "a " + "*" * 1_000_000 + " b",
    "1 MB of ~ inside a word": "a" + "~" * 1_000_000,
    "10k [": "[" * 10_000,
    "10k ![": "![" * 5_000,
    "10k [ then ]": "[" * 5_000 + "]" * 5_000,
    "nested links": "[" * 600 + "a" + "](https://x.example)" * 600,
    "10k `": "`" * 10_000,
    "` after text": "a" + "`" * 10_000,
    "`a repeated": "`a" * 5_000,
    "backtick runs growing": "".join("`" * n + "a" for n in range(1, 140)),
    "backtick runs shrinking": " ".join("`" * n for n in range(140, 0, -1)),
    "10k-char word": "a" * 10_000,
    "10k-char URL": "https://example.com/" + "a" * 10_000,
    "10k-char www host": "www." + "a" * 10_000 + ".com",
    "10k-char e-mail name": "a" * 10_000 + "@example.com",
}


@pytest.mark.timeout(10)  # a guard against blow-ups, not a speed test
@pytest.mark.parametrize("body", BOMBS.values(), ids=BOMBS.keys())
def test_bombs_render_in_bounded_time_and_size(body: str) -> None:
    for render in (render_html, render_plain):
        started = time.process_time()
        output = render(body)
        assert time.process_time() - started < 1.0
        assert len(output) < 20 * len(body) + 1000
    assert_only_allowed_markup(render_html(body))


STORM_UNITS = [
    "*a",
    "_a_ ",
    "~~a",
    "[a](",
    "![",
    "*[",
    "`a",
    "<a",
    "a://",
    "http:// ",
    "http://a.co/",
    "<http://",
    "www.",
    "a.co ",
    "a@b.co ",
    '"a',
    "@alice.",
    "-\n+\n",
    "> a\n>\n",
    "a\n",
]


def cpu_seconds(body: str) -> float:
    """The least CPU time (not wall time: the machine is shared) of two renders, without GC pauses."""
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(2):
            started = time.process_time()
            render_html(body, mentions=MENTIONS)
            best = min(best, time.process_time() - started)
    finally:
        gc.enable()
    return best


@pytest.mark.timeout(10)  # a guard against blow-ups, not a speed test
@pytest.mark.parametrize("unit", STORM_UNITS)
def test_repeated_constructs_cost_linear_time(unit: str) -> None:
    """8x the input may cost 24x the time: linear work (8x) passes, quadratic (64x) cannot."""
    small = cpu_seconds(unit * (5_000 // len(unit)))
    large = cpu_seconds(unit * (40_000 // len(unit)))
    assert large < 24 * small + 0.05
