"""Every minutes format: the registry. It imports each format; no format imports it."""

from __future__ import annotations

from collections.abc import Callable

from forum.minutes.formats.akn import render_akn_minutes
from forum.minutes.formats.docx import render_docx_minutes
from forum.minutes.formats.html import render_html_minutes
from forum.minutes.formats.json import render_json_minutes
from forum.minutes.formats.markdown import render_markdown_minutes
from forum.minutes.formats.pdf import render_pdf_minutes, start_pdf_minutes


def exports() -> dict:
    """Format -> (renderer, content type): the contract's six minutes formats.

    The PDF, DOCX and AKN renderers live in their own modules (and import this one)."""

    return {
        "md": (render_markdown_minutes, "text/markdown; charset=utf-8"),
        "html": (render_html_minutes, "text/html; charset=utf-8"),
        "pdf": (render_pdf_minutes, "application/pdf"),
        "docx": (
            render_docx_minutes,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "json": (render_json_minutes, "application/json"),
        "akn.xml": (render_akn_minutes, "application/akn+xml"),
    }


def render_formats(
    doc: dict, formats: tuple[str, ...], meanwhile: Callable[[], object] | None = None
) -> dict[str, bytes]:
    """The document in each of `formats`, as bytes. The PDF is typeset in typst's own process
    while `meanwhile` (a package's leak check) and the other formats run here, so a package
    takes about as long as its PDF, the slowest part, rather than the sum of them all."""
    renderers = exports()
    pending = start_pdf_minutes(doc) if "pdf" in formats else None
    if meanwhile is not None:
        meanwhile()
    out = {}
    for fmt in formats:
        if fmt != "pdf":
            data = renderers[fmt][0](doc)
            out[fmt] = data if isinstance(data, bytes) else data.encode("utf-8")
    if pending is not None:
        out["pdf"] = pending.result()
    return {fmt: out[fmt] for fmt in formats}
