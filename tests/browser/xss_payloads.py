"""The XSS corpus: hostile strings put through every place Parley shows user text.

Each payload, if it ever ran, would call ``window.__xss(n)`` with its own number, and every
element it tries to create carries a ``data-xss`` attribute, so the browser test can say which
payload got through. ``#N#`` below stands for that number. Written for this suite (after the
families in OWASP's XSS filter evasion cheat sheet and the htmx security notes), not copied.
"""

from __future__ import annotations

# One family per block; the strings are templates, "#N#" is replaced by the payload's number.
_TEMPLATES: list[str] = [
    # --- script, img, svg, iframe, object, embed and friends
    "<script data-xss>__xss(#N#)</script>",
    "<SCRIPT data-xss>__xss(#N#)</SCRIPT>",
    "<script data-xss src=data:text/javascript,__xss(#N#)></script>",
    "<scr<script>ipt data-xss>__xss(#N#)</scr</script>ipt>",
    "<img data-xss src=x onerror=__xss(#N#)>",
    '<img data-xss src=x onerror="__xss(#N#)">',
    "<IMG DATA-XSS SRC=x OnErRoR=__xss(#N#)>",
    "<img data-xss src=x onerror=&#95;&#95;xss(#N#)>",
    '<img data-xss src="x` `<script>__xss(#N#)</script>"` `>',
    "<img data-xss/src=x/onerror=__xss(#N#)>",
    "<svg data-xss onload=__xss(#N#)>",
    "<svg data-xss><script>__xss(#N#)</script></svg>",
    "<svg data-xss><animate onbegin=__xss(#N#) attributeName=x dur=1s>",
    '<svg data-xss><a xlink:href="javascript:__xss(#N#)"><text x=20 y=20>x</text></a></svg>',
    "<math data-xss><mtext><table><mglyph><style><img src=x onerror=__xss(#N#)>",
    "<iframe data-xss src=javascript:__xss(#N#)></iframe>",
    '<iframe data-xss srcdoc="<script>parent.__xss(#N#)</script>"></iframe>',
    "<object data-xss data=javascript:__xss(#N#)></object>",
    '<embed data-xss src="javascript:__xss(#N#)">',
    "<body data-xss onload=__xss(#N#)>",
    "<details data-xss open ontoggle=__xss(#N#)>",
    "<video data-xss><source onerror=__xss(#N#)></video>",
    "<audio data-xss src=x onerror=__xss(#N#)>",
    "<input data-xss autofocus onfocus=__xss(#N#)>",
    "<marquee data-xss onstart=__xss(#N#)>x</marquee>",
    "<div data-xss style=\"background:url('javascript:__xss(#N#)')\">x</div>",
    "<style data-xss>@import 'javascript:__xss(#N#)';</style>",
    '<meta data-xss http-equiv="refresh" content="0;url=javascript:__xss(#N#)">',
    "<base data-xss href=javascript:__xss(#N#)//>",
    '<form data-xss action="javascript:__xss(#N#)"><button>go</button></form>',
    '<button data-xss formaction="javascript:__xss(#N#)">go</button>',
    '<a data-xss href="javascript:__xss(#N#)">click</a>',
    "<template data-xss><img src=x onerror=__xss(#N#)></template>",
    '<noscript><p title="</noscript><img data-xss src=x onerror=__xss(#N#)>">',
    "<!--<img data-xss src=x onerror=__xss(#N#)>-->",
    "<![CDATA[<img data-xss src=x onerror=__xss(#N#)>]]>",
    # --- breaking out of attributes, text and script contexts
    '"><img data-xss src=x onerror=__xss(#N#)>',
    "'><img data-xss src=x onerror=__xss(#N#)>",
    '" onmouseover="__xss(#N#)" data-xss="',
    "' onfocus='__xss(#N#)' autofocus data-xss='",
    "</title><img data-xss src=x onerror=__xss(#N#)>",
    "</textarea><img data-xss src=x onerror=__xss(#N#)>",
    "</script><script data-xss>__xss(#N#)</script>",
    "';__xss(#N#);//",
    '";__xss(#N#);//',
    "`${__xss(#N#)}`",
    "\\u003cimg data-xss src=x onerror=__xss(#N#)\\u003e",
    "&lt;img data-xss src=x onerror=__xss(#N#)&gt;",
    "&#60;img data-xss src=x onerror=__xss(#N#)&#62;",
    "%3Cimg%20data-xss%20src%3Dx%20onerror%3D__xss(#N#)%3E",
    # --- javascript:, data:, vbscript: URLs, plain and obfuscated
    "javascript:__xss(#N#)",
    "JaVaScRiPt:__xss(#N#)",
    " javascript:__xss(#N#)",
    "java\tscript:__xss(#N#)",
    "java\nscript:__xss(#N#)",
    "jav&#x09;ascript:__xss(#N#)",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;__xss(#N#)",
    "javascript&colon;__xss(#N#)",
    "data:text/html,<script>__xss(#N#)</script>",
    "data:text/html;base64,PHNjcmlwdD5fX3hzcygxKTwvc2NyaXB0Pg== xss#N#",
    "vbscript:msgbox(#N#) xss",
    "VBScript:__xss(#N#)",
    # --- markdown link and image tricks
    "[click](javascript:__xss(#N#))",
    "[click](JAVASCRIPT:__xss(#N#))",
    "[click](java\tscript:__xss(#N#))",
    "[click](&#106;avascript:__xss(#N#))",
    "[click]( javascript:__xss(#N#) )",
    "[click](<javascript:__xss(#N#)>)",
    "[click](javascript://%0a__xss(#N#))",
    "[click](data:text/html,<script>__xss(#N#)</script>)",
    "[click](vbscript:__xss(#N#))",
    '[click](https://example.com "title" onmouseover="__xss(#N#)")',
    '[click](https://example.com"onmouseover="__xss(#N#)")',
    "![img](javascript:__xss(#N#))",
    "![img](x onerror=__xss(#N#))",
    '![img"onerror="__xss(#N#)](https://example.com/a.png)',
    "<javascript:__xss(#N#)>",
    '<https://example.com/"onmouseover="__xss(#N#)>',
    "[ref][x#N#]\n\n[x#N#]: javascript:__xss(#N#)",
    "[a [b [c](javascript:__xss(#N#))]](https://example.com)",
    "[<img data-xss src=x onerror=__xss(#N#)>](https://example.com)",
    "**<img data-xss src=x onerror=__xss(#N#)>**",
    "`<img data-xss src=x onerror=__xss(#N#)>`",
    "```\n<script data-xss>__xss(#N#)</script>\n```",
    "> <svg data-xss onload=__xss(#N#)>",
    "- [x](javascript:__xss(#N#))\n- <b data-xss onclick=__xss(#N#)>b</b>",
    "www.example.com/<img data-xss src=x onerror=__xss(#N#)>",
    "https://example.com/?q=<script>__xss(#N#)</script>",
    "mailto:a@example.com?body=<img data-xss src=x onerror=__xss(#N#)>",
    "@room <img data-xss src=x onerror=__xss(#N#)>",
    "@<img data-xss src=x onerror=__xss(#N#)>",
    # --- htmx attributes: an element htmx would process if it reached the page
    '<div data-xss hx-get="/xss/#N#" hx-trigger="load">x</div>',
    '<button data-xss hx-post="/xss/#N#" hx-trigger="load">x</button>',
    '<div data-xss hx-on:htmx:load="__xss(#N#)">x</div>',
    '<div data-xss hx-on::after-request="__xss(#N#)" hx-get="/" hx-trigger="load">x</div>',
    '<div data-xss hx-vals=\'js:{a: __xss(#N#)}\' hx-get="/" hx-trigger="load">x</div>',
    '<div data-xss hx-trigger="load[__xss(#N#)]" hx-get="/">x</div>',
    '<div data-xss data-hx-get="/xss/#N#" data-hx-trigger="load">x</div>',
    '<div data-xss hx-swap-oob="true" id="messages">xss#N#</div>',
    '<a data-xss hx-boost="true" href="javascript:__xss(#N#)">x</a>',
    # --- template-like strings (Django, Jinja, Angular, Vue, htmx's own template syntax)
    "{{ __xss(#N#) }}",
    "{{constructor.constructor('__xss(#N#)')()}}",
    "{% debug %} xss#N#",
    "{{ request.user.password }} xss#N#",
    "${__xss(#N#)}",
    "#{__xss(#N#)}",
    "<%= __xss(#N#) %>",
    # --- bidi controls and other invisible characters
    "\u202e<img data-xss src=x onerror=__xss(#N#)>\u202c",
    "\u202ecod.exe xss#N#",
    "\u2066<svg data-xss onload=__xss(#N#)>\u2069",
    "<img data-xss src=x on\u200berror=__xss(#N#)>",
    "\u0000<img data-xss src=x onerror=__xss(#N#)>".replace("\u0000", "\ufeff"),
    # --- long strings
    "<img data-xss src=x onerror=__xss(#N#)>" + "A" * 3000,
    "A" * 2000 + "<svg data-xss onload=__xss(#N#)>" + "B" * 2000,
    "[" * 200 + "x](javascript:__xss(#N#))" + "]" * 200,
    "<" * 500 + "img data-xss src=x onerror=__xss(#N#)>",
    # --- file-name shaped
    "<img data-xss src=x onerror=__xss(#N#)>.png",
    '"><svg data-xss onload=__xss(#N#)>.txt',
    "../../<script>__xss(#N#)</script>.html",
    "report\u202efdp.exe xss#N#",
    "javascript:__xss(#N#).pdf",
]

# Longest text each place accepts (room names 80, topics 250, display names 64).
DISPLAY_NAME_MAX = 64
ROOM_NAME_MAX = 80


def payloads() -> list[str]:
    """Every payload, numbered from 0 (its number is its index)."""
    return [template.replace("#N#", str(number)) for number, template in enumerate(_TEMPLATES)]


def short(limit: int) -> list[tuple[int, str]]:
    """(number, payload) of the payloads of at most ``limit`` characters with no line breaks or
    tabs, for single-line fields."""
    return [
        (number, text)
        for number, text in enumerate(payloads())
        if len(text) <= limit and not any(c in text for c in "\n\t\r")
    ]
