"""The XSS corpus (tests/support/xss_corpus.py) comes back inert, on paper and in a real browser.

Unit: every vector goes through moderation.sanitize.render_markdown, and the output is
parsed the way a browser tokenises it (html.parser decodes entities in attribute values):
only allowed tags and attributes, every link with the product's rel, no comment or other
markup declaration, and no href whose scheme, once entities are decoded and the
whitespace and control characters a browser ignores are removed, is anything but http,
https or mailto (a relative URL takes the page's http(s) scheme; nh3 keeps those).

Browser: a real server (tests/support/browser.py), delegates post every vector over the websocket,
and another delegate's room page in Chromium shows them, with a trap installed before the
page loads: alert/confirm/prompt and the `__xss` function the vectors call report to the
test, dialogs and console errors are recorded, and every request the page makes is routed
(anything to another origin is recorded and refused).
"""

from __future__ import annotations

import html
import http.cookiejar
import json
import re
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import urlsplit

import nh3
import pytest
from markdown_it import MarkdownIt

from moderation import sanitize
from moderation.sanitize import render_markdown
from tests.support.browser import (
    ROOM,
    ROOM_PATH,
    join_over_http,
    launch_chromium,
    live_server,
    open_room,
)
from tests.support.xss_corpus import CORPUS, EVIL

VECTORS = [pytest.param(source, id=vid) for vid, source in CORPUS]
SAFE_SCHEMES = {"http", "https", "mailto"}
NEVER = {"img", "svg", "math", "script", "style", "iframe", "object", "embed", "form", "base"}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# What the WHATWG URL parser ignores: C0 controls and space at either end, tab/LF/CR anywhere.
_C0_AND_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_NEWLINE = re.compile("[\t\n\r]")


def effective_scheme(href: str) -> str:
    """The scheme a browser gives `href` (already entity-decoded) on an http(s) page."""
    url = _TAB_NEWLINE.sub("", href.strip(_C0_AND_SPACE))
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else "http"  # relative: the page's own scheme


class _Markup(HTMLParser):
    """Everything a browser would build from a fragment: elements, and anything else."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.end_tags: list[str] = []
        self.other: list[str] = []  # comments, declarations, processing instructions

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self.end_tags.append(tag)

    def handle_comment(self, data):
        self.other.append(f"<!--{data}-->")

    def handle_decl(self, decl):
        self.other.append(f"<!{decl}>")

    def handle_pi(self, data):
        self.other.append(f"<?{data}>")

    def unknown_decl(self, data):
        self.other.append(f"<![{data}]>")


def problems_in(output: str) -> list[str]:
    """Why `output` is not inert; empty when it is."""
    parser = _Markup()
    parser.feed(output)
    parser.close()
    found = [f"markup declaration {o!r}" for o in parser.other]
    for tag in parser.end_tags:
        if tag not in sanitize.ALLOWED_TAGS:
            found.append(f"end tag </{tag}>")
    for tag, attrs in parser.elements:
        if tag not in sanitize.ALLOWED_TAGS or tag in NEVER:
            found.append(f"element <{tag}>")
        allowed = sanitize.ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            found.append(f"<{tag}> repeats an attribute: {names}")
        for name, value in attrs:
            if name.startswith("on"):
                found.append(f"event handler {name}= on <{tag}>")
            elif name == "style":
                found.append(f"style= on <{tag}>")
            elif name not in allowed:
                found.append(f"attribute {name}= on <{tag}>")
            if name == "href" and effective_scheme(value or "") not in SAFE_SCHEMES:
                found.append(f"href {value!r} has scheme {effective_scheme(value or '')!r}")
        if tag == "a" and dict(attrs).get("rel") != sanitize.LINK_REL:
            found.append(f"<a> with rel={dict(attrs).get('rel')!r}")
    return found


# -- the corpus itself -----------------------------------------------------------------


def test_the_corpus_is_large_unique_and_covers_every_family():
    ids = [vid for vid, _ in CORPUS]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids), "vector ids repeat"
    families = {vid.split("-", 1)[0] for vid in ids}
    assert {
        "eh",
        "js",
        "ent",
        "ws",
        "data",
        "svg",
        "math",
        "css",
        "el",
        "br",
        "mx",
        "md",
    } <= families
    # Each vector that could run script names itself, so a fired trap says which one it was;
    # the others reach for another origin (EVIL), which the browser test watches.
    for vid, source in CORPUS:
        if vid.startswith(("eh-", "js-", "svg-", "math-", "el-", "mx-", "md-html", "md-code")):
            assert vid in source or EVIL in source or "vbscript" in source, vid


@pytest.mark.parametrize(
    "href,scheme",
    [
        ("javascript:x", "javascript"),
        (" \x01\x1f JaVa\tScr\nipt:x", "javascript"),
        ("java%09script:x", "http"),
        ("/rooms/", "http"),
        ("//127.0.0.1:9/x", "http"),
        ("#main", "http"),
        ("mailto:a@example.invalid", "mailto"),
        ("HTTPS://example.invalid", "https"),
    ],
)
def test_effective_scheme_follows_the_browsers_url_parser(href, scheme):
    assert effective_scheme(href) == scheme


def test_the_checker_catches_what_it_is_meant_to_catch():
    # The checker must be able to fail: each of these outputs is unsafe in its own way.
    for unsafe in (
        '<p><img src="x"></p>',
        '<p onclick="x()">a</p>',
        '<p style="color:red">a</p>',
        '<a href=" &#106;ava&#9;script:x" rel="nofollow noopener noreferrer">a</a>',
        '<a href="https://example.invalid">no rel</a>',
        "<svg></svg>",
        "<!-- hidden -->",
        '<a href="https://example.invalid" rel="nofollow noopener noreferrer" title="t" '
        'target="_blank">a</a>',
    ):
        assert problems_in(unsafe), unsafe
    assert problems_in(render_markdown("[ok](https://example.invalid/)")) == []


# -- unit: every vector through the real renderer -------------------------------------------


@pytest.mark.parametrize("source", VECTORS)
def test_every_vector_renders_inert(source):
    output = render_markdown(source)
    assert problems_in(output) == [], output


@pytest.mark.parametrize("source", VECTORS)
def test_every_vector_is_inert_even_if_the_parser_passed_raw_html(monkeypatch, source):
    # Defence in depth: with raw HTML switched on in Markdown, nh3 alone must still hold.
    monkeypatch.setattr(sanitize, "_markdown", MarkdownIt("commonmark"))
    output = render_markdown(source)
    assert problems_in(output) == [], output


@pytest.mark.parametrize("source", VECTORS)
def test_sanitised_output_does_not_change_when_sanitised_again(source):
    # A fragment that mutates when re-parsed is how mXSS starts; ours must be a fixed point.
    output = render_markdown(source)
    again = nh3.clean(
        output,
        tags=sanitize.ALLOWED_TAGS,
        attributes=sanitize.ALLOWED_ATTRIBUTES,
        url_schemes=sanitize.ALLOWED_URL_SCHEMES,
        link_rel=sanitize.LINK_REL,
        strip_comments=True,
    ).strip()
    assert again == output


def test_markup_in_vectors_is_shown_as_text_not_dropped():
    # The author's markup stays visible (escaped), so a reader sees what was attempted.
    output = render_markdown(dict(CORPUS)["eh-img-onerror"])
    assert html.unescape(output) == "<p><img src=x onerror=\"top.__xss('eh-img-onerror')\"></p>"


# -- browser: the room page in Chromium ----------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from live_server(tmp_path_factory)


@pytest.fixture(scope="module")
def chromium():
    yield from launch_chromium()


READER = "acad3"
SPEAKING_ROLES = {"chair", "moderator", "rapporteur", "delegate"}
POSTING_SECONDS = 60  # a bound, not an expectation: posting takes seconds
RENDER_TIMEOUT_MS = 30_000

# Installed in every frame before any of the page's scripts: whatever a vector would run
# reports to the test through an exposed function (and the console, for opaque frames).
TRAP = """
(() => {
  const report = (how, what) => {
    try { window.__xssReport(how, String(what)); } catch (e) {}
    try { console.error("XSS-TRAP " + how + " " + String(what)); } catch (e) {}
  };
  window.__xss = (id) => report("__xss", id);
  window.alert = (m) => report("alert", m);
  window.confirm = (m) => { report("confirm", m); return false; };
  window.prompt = (m) => { report("prompt", m); return null; };
  window.print = () => report("print", "");
  window.msgbox = (m) => report("msgbox", m);
})();
"""

# Checks the live DOM against the allow-list: strictly inside each intervention's body (the
# sanitised HTML), and for what no vector may add anywhere (handlers, frames, scripts, ...).
DOM_CHECK = """
({tags, attrs, rel, schemes}) => {
  const found = [];
  const html = "http://www.w3.org/1999/xhtml";
  for (const li of document.querySelectorAll("#stream li.intervention")) {
    const seq = li.dataset.seq;
    const bodies = li.querySelectorAll(":scope > div.body");
    if (bodies.length !== 1) { found.push(`${seq}: ${bodies.length} bodies`); continue; }
    for (const el of bodies[0].querySelectorAll("*")) {
      const tag = el.localName;
      if (el.namespaceURI !== html) found.push(`${seq}: foreign element ${tag}`);
      if (!tags.includes(tag)) found.push(`${seq}: element <${tag}>`);
      for (const a of el.attributes) {
        const ok = (attrs[tag] || []).includes(a.name) || (tag === "a" && a.name === "rel");
        if (!ok) found.push(`${seq}: <${tag} ${a.name}="${a.value}">`);
      }
      if (tag === "a") {
        if (el.getAttribute("rel") !== rel)
          found.push(`${seq}: <a rel="${el.getAttribute("rel")}">`);
        if (el.hasAttribute("href") && !schemes.includes(el.protocol))
          found.push(`${seq}: <a href="${el.getAttribute("href")}"> is ${el.protocol}`);
      }
    }
  }
  for (const el of document.querySelectorAll("#stream, #stream *")) {
    for (const a of el.attributes) {
      if (/^on/i.test(a.name)) found.push(`${el.localName}[${a.name}] in #stream`);
    }
  }
  const active = "iframe, frame, object, embed, img, svg, math, base, video, audio, style, "
    + "meta[http-equiv], link:not([rel=stylesheet]):not([rel=icon])";
  for (const el of document.querySelectorAll(active))
    found.push(`document holds <${el.localName}>`);
  const scripts = [...document.scripts]
    .filter((s) => !(s.type === "application/json" && !s.src))  // json_script data, not code
    .map((s) => s.getAttribute("src") || "inline");
  if (scripts.length !== 1 || !/\\/room\\/main\\.js$/.test(scripts[0]))
    found.push(`scripts: ${scripts}`);
  const sheets = [...document.querySelectorAll("link[rel=stylesheet]")].map((l) => l.href);
  if (!sheets.length || !sheets.every((h) => h.startsWith(location.origin)))
    found.push(`sheets: ${sheets}`);
  return found;
}
"""


def session_cookie(server, persona) -> str:
    """Follow the persona's join link; the Cookie header their browser would send."""
    jar = http.cookiejar.CookieJar()
    join_over_http(persona.link, jar)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    assert cookie, "the join link set no cookie"
    return cookie


class Poster:
    """One seat's websocket: consents, then posts and waits for the answer."""

    def __init__(self, server, persona):
        from websockets.sync.client import connect

        self.name = persona.email.split("@")[0]
        self._connection = connect(
            f"ws://127.0.0.1:{server.port}/ws/rooms/{ROOM}/",
            origin=server.base_url,
            additional_headers={"Cookie": session_cookie(server, persona)},
            proxy=None,
            max_queue=None,
            open_timeout=10,
        )
        self.ws = self._connection.__enter__()  # the client is a context manager
        self.not_before = 0.0  # monotonic time before which a post would be rate limited
        welcome = self.frame_of("welcome")
        if welcome["you"].get("rule") == "chatham-house" and not welcome["you"].get("consented"):
            self.ws.send(json.dumps({"type": "consent", "rule": "chatham-house"}))
            self.frame_of("consented")

    def frame_of(self, frame_type: str, client_id: str | None = None) -> dict:
        """The next frame of `frame_type` (or an error for `client_id`); events pass by."""
        deadline = time.monotonic() + 15
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"{self.name}: no {frame_type} frame within 15 s"
            frame = json.loads(self.ws.recv(timeout=left))
            if frame["type"] == frame_type and (
                client_id is None or frame.get("client_id") == client_id
            ):
                return frame
            if frame["type"] == "error":
                if client_id is not None and frame.get("client_id") == client_id:
                    return frame
                raise AssertionError(f"{self.name}: unexpected error {frame}")

    def post(self, vid: str, body: str) -> int | None:
        """The seq of the posted vector, or None if it was rate limited (retry later)."""
        client_id = str(uuid.uuid4())
        self.ws.send(json.dumps({"type": "post", "client_id": client_id, "body": body}))
        frame = self.frame_of("ack", client_id)
        if frame["type"] == "ack":
            # A held vector would never reach the reader: the corpus must not trip the guard.
            assert not frame.get("held"), f"{self.name}: vector {vid} was held: {frame}"
            return frame["seq"]
        if frame.get("retry_after") is not None and frame["code"] in {"rate_limited", "muted"}:
            self.not_before = time.monotonic() + float(frame["retry_after"])
            return None
        raise AssertionError(f"{self.name}: vector {vid} refused: {frame}")

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def post_every_vector(server, posters: list[Poster]) -> dict[int, str]:
    """Spread the corpus over the posters, waiting out rate limits; returns seq -> vector id."""
    todo = list(CORPUS)
    seqs: dict[int, str] = {}
    deadline = time.monotonic() + POSTING_SECONDS
    turn = 0
    while todo:
        assert time.monotonic() < deadline, f"{len(todo)} vectors still unposted"
        ready = [p for p in posters if p.not_before <= time.monotonic()]
        if not ready:
            time.sleep(max(0.05, min(p.not_before for p in posters) - time.monotonic()))
            continue
        poster = ready[turn % len(ready)]
        turn += 1
        vid, body = todo[0]
        seq = poster.post(vid, body)
        if seq is not None:
            seqs[seq] = vid
            todo.pop(0)
    return seqs


class Guard:
    """What the reader's page did that it should not have: set up before the page loads."""

    def __init__(self, server):
        self.origin = server.base_url
        self.fired: list[str] = []
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.foreign_requests: list[str] = []  # subresources for another origin: refused
        self.navigations: list[str] = []  # link clicks: answered 204, so the page stays
        self.loading = True  # the page's own load and reloads may navigate

    def install(self, page) -> None:
        page.expose_function("__xssReport", lambda how, what: self.fired.append(f"{how}({what})"))
        page.add_init_script(TRAP)
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.page_errors.append(str(err)))
        page.route("**/*", self._route)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _route(self, route) -> None:
        request = route.request
        same_origin = request.url.startswith(self.origin + "/")
        if request.is_navigation_request() and not (same_origin and self.loading):
            self.navigations.append(request.url)
            route.fulfill(status=204)  # a 204 answer to a navigation leaves the page as it is
        elif same_origin:
            route.continue_()
        else:
            self.foreign_requests.append(f"{request.resource_type} {request.url}")
            route.abort()

    def assert_clean(self) -> None:
        assert self.fired == [], f"vectors ran: {self.fired}"
        assert self.dialogs == [], f"dialogs opened: {self.dialogs}"
        assert self.foreign_requests == [], f"requests to other origins: {self.foreign_requests}"
        assert self.page_errors == [], f"uncaught errors: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        bad = [url for url in self.navigations if urlsplit(url).scheme not in {"http", "https"}]
        assert bad == [], f"navigations outside http(s): {bad}"


def wait_for_every_vector(page, seqs: dict[int, str]) -> None:
    page.wait_for_function(
        """seqs => seqs.every(
             (s) => document.querySelector(`#stream li.intervention[data-seq="${s}"] .body`))""",
        arg=sorted(seqs),
        timeout=RENDER_TIMEOUT_MS,
    )
    shown = page.eval_on_selector_all(
        "#stream li.intervention", "els => els.map((el) => Number(el.dataset.seq))"
    )
    assert set(seqs) <= set(shown)
    assert len(shown) == len(set(shown)), "an intervention is shown twice"


def dom_problems(page, seqs: dict[int, str]) -> list[str]:
    found = page.evaluate(
        DOM_CHECK,
        {
            "tags": sorted(sanitize.ALLOWED_TAGS),
            "attrs": {tag: sorted(names) for tag, names in sanitize.ALLOWED_ATTRIBUTES.items()},
            "rel": sanitize.LINK_REL,
            "schemes": [f"{s}:" for s in sorted(SAFE_SCHEMES)],
        },
    )
    # Name the vector behind each problem found in an intervention.
    named = []
    for problem in found:
        head, _, rest = problem.partition(": ")
        named.append(
            f"{seqs[int(head)]}: {rest}" if head.isdigit() and int(head) in seqs else problem
        )
    return named


def walk_links(page, guard: Guard) -> int:
    """Scroll to, hover and click every link in the stream; hover every intervention."""
    from playwright.sync_api import expect

    guard.loading = False
    # force: whatever covers an element (an overlay a vector made) gets the pointer instead,
    # as it would a person's, rather than the walk waiting for it to go away.
    for item in page.locator("#stream li.intervention").all():
        item.scroll_into_view_if_needed()
        item.hover(force=True)
    links = [a for a in page.locator("#stream li.intervention .body a").all() if a.is_visible()]
    for link in links:
        link.scroll_into_view_if_needed()
        link.hover(force=True)
        link.click(force=True, no_wait_after=True)
        page.evaluate("() => 0")  # a round trip, so a click's effects have been dispatched
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    assert urlsplit(page.url).path == ROOM_PATH, f"a click navigated away: {page.url}"
    return len(links)


@pytest.mark.browser
def test_no_vector_runs_in_the_room_page_of_another_delegate(chromium, server):
    from playwright.sync_api import expect

    reader = server.personas[READER]
    posters_personas = [
        p for key, p in server.personas.items() if key != READER and p.role in SPEAKING_ROLES
    ]
    guard = Guard(server)
    page = open_room(chromium, reader, prepare=guard.install)
    posters: list[Poster] = []
    try:
        posters = [Poster(server, persona) for persona in posters_personas]
        seqs = post_every_vector(server, posters)
        assert sorted(seqs.values()) == sorted(vid for vid, _ in CORPUS)

        wait_for_every_vector(page, seqs)
        problems = dom_problems(page, seqs)
        assert not problems, "\n".join(problems)
        clicked = walk_links(page, guard)
        # The control vectors (ok-*) keep their links, so the walk really clicked something.
        assert clicked >= sum(1 for vid, _ in CORPUS if vid.startswith("ok-"))
        # Every navigation a click started went to an http(s) URL, and none left the page.
        assert any(url.startswith(EVIL) for url in guard.navigations), guard.navigations
        problems = dom_problems(page, seqs)
        assert not problems, "\n".join(problems)
        guard.assert_clean()

        # The same page again from the replay: the vectors arrive as history this time.
        guard.loading = True
        page.reload()
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")
        wait_for_every_vector(page, seqs)
        problems = dom_problems(page, seqs)
        assert not problems, "\n".join(problems)
        guard.assert_clean()
    finally:
        for poster in posters:
            poster.close()
        page.context.close()
