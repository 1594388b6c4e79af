"""User text to safe HTML: the one place that decides what markup survives.

Markdown is parsed by markdown-it-py's `js-default` preset (raw HTML disabled), then the
HTML goes through nh3, which binds the maintained Rust sanitiser ammonia. bleach, the
usual choice, was deprecated in 2023 and is no longer maintained; swapping sanitisers
means changing this file only.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("js-default")

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"


_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def plain_input(text: str) -> str:
    """Typed text as we store it: LF line breaks (browsers send CRLF), and no control
    characters or lone surrogates (no reader sees them, and PostgreSQL refuses NUL)."""
    return _UNSTORABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def render_markdown(source: str) -> str:
    """Render untrusted Markdown to HTML that is safe to insert into any page."""
    html = _markdown.render(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
