"""moderation.sanitize.render_markdown: Markdown in, HTML that is safe in any page out."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from moderation import sanitize
from moderation.sanitize import render_markdown

DANGEROUS_TAGS = {
    "script",
    "style",
    "iframe",
    "img",
    "object",
    "embed",
    "svg",
    "form",
    "input",
    "link",
    "meta",
}
REL = "nofollow noopener noreferrer"


class _Elements(HTMLParser):
    """Every start tag of a fragment with its attributes: what a browser would build."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_safe(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag in sanitize.ALLOWED_TAGS, f"<{tag}> survived in {html!r}"
        assert tag not in DANGEROUS_TAGS
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} survived in {html!r}"
            assert name != "style", f"style attribute survived in {html!r}"
            if name == "href":
                scheme = (value or "").split(":", 1)[0].lower() if ":" in (value or "") else ""
                assert scheme in {"", "http", "https", "mailto"}, f"href {value!r} survived"


RAW_HTML_ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<style>body { display: none }</style>",
    '<iframe src="https://evil.example/"></iframe>',
    "<img src=x onerror=alert(1)>",
    '<a href="https://example.org" onclick="steal()" style="color:red">click</a>',
    '<p onmouseover="alert(1)" style="position:fixed">hover</p>',
    "<svg onload=alert(1)>",
    "<object data=x></object><embed src=x>",
    "<div><script>alert(1)</script></div>",
    "text <b onclick=x>bold</b> text",
]


@pytest.mark.parametrize("source", RAW_HTML_ATTACKS)
def test_raw_html_is_escaped_as_text_not_turned_into_elements(source):
    html = render_markdown(source)
    assert_safe(html)
    # js-default disables raw HTML: the author's markup is shown as text, not dropped silently.
    assert [tag for tag, _ in elements(html)] == ["p"]
    assert "&lt;" in html


def test_the_markdown_parser_is_the_js_default_preset_without_raw_html():
    assert sanitize._markdown.options["html"] is False
    assert sanitize._markdown.options["linkify"] is False


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script><p>kept</p>",
        '<p onclick="x()" onmouseover="y()" style="color:red">kept</p>',
        '<a href="javascript:alert(1)">kept</a>',
        '<a href="data:text/html,<script>alert(1)</script>">kept</a>',
        '<iframe src="https://evil.example/"></iframe><p>kept</p>',
        '<img src="x" onerror="alert(1)"><p>kept</p>',
        "<style>p { color: red }</style><p>kept</p>",
    ],
)
def test_the_allow_list_drops_dangerous_markup_even_if_the_parser_let_raw_html_through(
    monkeypatch, source
):
    # Defence in depth: nh3 must hold on its own, whatever the Markdown layer emits.
    monkeypatch.setattr(sanitize, "_markdown", MarkdownIt("commonmark"))
    html = render_markdown(source)
    assert_safe(html)
    assert "kept" in html
    assert "<script" not in html and "<style" not in html and "<iframe" not in html
    assert "<img" not in html
    assert "onclick" not in html and "onerror" not in html and "style=" not in html
    assert "javascript:" not in html and "data:" not in html


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](  javascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<javascript:alert(1)>",
        "[x][ref]\n\n[ref]: javascript:alert(1)",
        "[x](ftp://files.example.org/a)",
    ],
)
def test_links_with_dangerous_or_unknown_schemes_lose_their_target(source):
    html = render_markdown(source)
    assert_safe(html)
    assert all("href" not in attrs for _, attrs in elements(html))


@pytest.mark.parametrize(
    "source,href",
    [
        ("[site](http://example.org/a?b=1)", "http://example.org/a?b=1"),
        ("[site](https://example.org/)", "https://example.org/"),
        ("<https://example.org/auto>", "https://example.org/auto"),
        ("[write](mailto:secretariat@example.org)", "mailto:secretariat@example.org"),
    ],
)
def test_http_https_and_mailto_links_are_kept_with_a_safe_rel(source, href):
    html = render_markdown(source)
    assert_safe(html)
    links = [attrs for tag, attrs in elements(html) if tag == "a"]
    assert len(links) == 1
    assert links[0]["href"] == href
    assert links[0]["rel"] == REL


def test_a_link_title_is_kept_and_a_rel_set_by_the_author_is_replaced():
    html = render_markdown('[site](https://example.org "The site")')
    (attrs,) = [a for tag, a in elements(html) if tag == "a"]
    assert attrs["title"] == "The site"
    assert attrs["rel"] == REL


def test_markdown_images_never_survive():
    html = render_markdown("before ![tracking pixel](https://evil.example/p.png) after")
    assert "<img" not in html
    assert "before" in html and "after" in html


def test_emphasis_strong_and_inline_code_render():
    html = render_markdown("*soft* **hard** `code <b>`")
    assert "<em>soft</em>" in html
    assert "<strong>hard</strong>" in html
    assert "<code>code &lt;b&gt;</code>" in html


def test_bulleted_and_numbered_lists_render():
    html = render_markdown("- one\n- two\n\n1. first\n2. second")
    assert [tag for tag, _ in elements(html)] == ["ul", "li", "li", "ol", "li", "li"]
    assert "<li>two</li>" in html and "<li>second</li>" in html


def test_a_fenced_code_block_keeps_its_text_escaped_and_loses_its_class():
    html = render_markdown("```html\n<script>alert(1)</script>\n```")
    assert html.startswith("<pre><code>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "class=" not in html


def test_blockquotes_and_tables_render_without_style_attributes():
    html = render_markdown("> quoted\n\n| a | b |\n|---|:-:|\n| 1 | 2 |")
    tags = [tag for tag, _ in elements(html)]
    assert "blockquote" in tags and "table" in tags and "td" in tags
    assert_safe(html)


def test_plain_text_is_wrapped_in_a_paragraph_and_entities_are_escaped():
    assert render_markdown('Tom & Jerry say "hi"') in {
        '<p>Tom &amp; Jerry say "hi"</p>',
        "<p>Tom &amp; Jerry say &quot;hi&quot;</p>",
    }


def test_empty_input_gives_empty_output():
    assert render_markdown("") == ""
