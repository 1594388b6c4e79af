"""A contribution's attachment: which kind it is (PDF or DOCX, by its bytes, not its name) and
its text, by place, for the leak check and the word count.

Pure: bytes in, parts out. A part is {"place": "page" | "paragraph" | "table" | "header" |
"footer" | "properties" | "hidden", "number": N or None, "text": ...}; the moderators read a
match's place as "attachment, page 2". The document's properties (author, title, ...) are a
part of their own: a file's author field names its writer more often than its text does. So
is what a reader does not see but a downloaded file still carries ("hidden"): the authors and
text of comments, tracked changes and annotations, notes, and metadata beyond the core
properties (a DOCX's app and custom properties, a PDF's XMP).
"""

from __future__ import annotations

import html
import io
import re
import zipfile

from django.utils.translation import gettext as _

MAX_BYTES = 10 * 1024 * 1024
# A DOCX is a ZIP: what it may unpack to, and how many PDF pages are read, so that a small
# file cannot make the server inflate or parse without end.
MAX_UNPACKED = 100 * 1024 * 1024
MAX_PAGES = 1000


class AttachmentError(ValueError):
    """The file is not one the product takes; the message says why, in the reader's words."""


def attachment_kind(data: bytes) -> str:
    """ "pdf" or "docx", from the file's own bytes; AttachmentError otherwise."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return "docx"
        except zipfile.BadZipFile:
            pass
    raise AttachmentError(_("The attachment must be a PDF or a DOCX (Word) file."))


def extract_parts(data: bytes, kind: str) -> list[dict]:
    """The text of the file by place; AttachmentError when it cannot be read."""
    try:
        return _pdf_parts(data) if kind == "pdf" else _docx_parts(data)
    except AttachmentError:
        raise
    except Exception:  # noqa: BLE001 - any parser failure means an unreadable file
        raise AttachmentError(
            _("The attachment could not be read; save it again as PDF or DOCX and retry.")
        ) from None


def _part(place: str, number: int | None, text: str) -> dict | None:
    text = " ".join((text or "").split())
    return {"place": place, "number": number, "text": text} if text else None


def _properties(values) -> dict | None:
    return _part("properties", None, " · ".join(str(v) for v in values if v))


def _pdf_parts(data: bytes) -> list[dict]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise AttachmentError(_("The attachment is a protected PDF; send it without a password."))
    if len(reader.pages) > MAX_PAGES:
        raise AttachmentError(
            _("The attachment has more than %(pages)s pages.") % {"pages": MAX_PAGES}
        )
    meta = reader.metadata or {}
    parts = [_properties(meta.get(key) for key in ("/Author", "/Title", "/Subject", "/Creator"))]
    parts += [_part("page", n, page.extract_text()) for n, page in enumerate(reader.pages, 1)]
    parts.append(_part("hidden", None, " · ".join(_pdf_hidden(reader, meta))))
    return [p for p in parts if p]


def _pdf_hidden(reader, meta) -> list[str]:
    """The Info dictionary's other strings, the XMP metadata's text, and every annotation's
    author (/T) and text (/Contents)."""
    shown = {str(meta.get(key)) for key in ("/Author", "/Title", "/Subject", "/Creator")}
    found = [str(v) for v in meta.values()]
    xmp = reader.xmp_metadata
    if xmp is not None:
        xml = xmp.stream.get_data().decode("utf-8", "replace")
        found += [html.unescape(s) for s in _XML_TEXT.findall(xml)]
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            found += [str(annotation[k]) for k in ("/T", "/Contents") if k in annotation]
    # What the properties part holds already (XMP repeats the author) is not said twice.
    return [s for s in found if s.strip() and s not in shown]


def _docx_parts(data: bytes) -> list[dict]:
    import docx

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
            raise AttachmentError(_("The attachment unpacks to more than 100 MiB."))
    document = docx.Document(io.BytesIO(data))
    core = document.core_properties
    parts = [_properties((core.author, core.last_modified_by, core.title, core.subject))]
    parts += [_part("paragraph", n, p.text) for n, p in enumerate(document.paragraphs, 1)]
    for n, table in enumerate(document.tables, 1):
        cells = (cell.text for row in table.rows for cell in row.cells)
        parts.append(_part("table", n, " ".join(cells)))
    for section in document.sections:
        parts.append(_part("header", None, " ".join(p.text for p in section.header.paragraphs)))
        parts.append(_part("footer", None, " ".join(p.text for p in section.footer.paragraphs)))
    parts.append(_part("hidden", None, " · ".join(_docx_hidden(data))))
    return [p for p in parts if p]


# Text nodes of an XML part, and the attributes that name a person in WordprocessingML
# (w:author of comments and tracked changes, w:initials, w15:userId of people.xml).
_XML_TEXT = re.compile(r">([^<>]*[^\s<>][^<>]*)<")
_PERSON_ATTRIBUTES = re.compile(r'\b(?:author|initials|userId)="([^"]*)"')
# Parts whose whole text a reader of the document body never sees.
_HIDDEN_TEXT_PARTS = re.compile(
    r"word/(comments[A-Za-z]*|footnotes|endnotes|people)\.xml|docProps/(app|custom)\.xml"
)


def _docx_hidden(data: bytes) -> list[str]:
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if not name.endswith(".xml"):
                continue
            xml = archive.read(name).decode("utf-8", "replace")
            found += _PERSON_ATTRIBUTES.findall(xml)
            if _HIDDEN_TEXT_PARTS.fullmatch(name):
                found += _XML_TEXT.findall(xml)
    return [html.unescape(s) for s in found if s.strip()]


def place_label(where: str, place: str | None = None, number: int | None = None) -> str:
    """Where a match is, in the reader's language: "the text", "the executive summary",
    "attachment, page 2", "attachment, document properties"."""
    if where == "body":
        return _("the text")
    if where == "summary":
        return _("the executive summary")
    label = {
        "page": _("attachment, page %(number)s"),
        "paragraph": _("attachment, paragraph %(number)s"),
        "table": _("attachment, table %(number)s"),
        "header": _("attachment, page header"),
        "footer": _("attachment, page footer"),
        "properties": _("attachment, document properties (author, title)"),
        "hidden": _("attachment, comments, notes, tracked changes or metadata"),
    }.get(place or "", _("attachment"))
    return label % {"number": number} if "%(number)s" in label else label
