"""The block model (forum/minutes/blocks.py) as WordprocessingML, for the Word rendering
(formats/docx.py): what a speaker wrote stays what a secretary edits naturally. Lists are Word
lists (a numbering definition each, restarting at the list's own start, never typed "1."),
tables are tables with a repeated header row, links are hyperlinks (an external relationship),
and a block in another language than the document's says so (w:lang; right to left for Arabic).

XML is written as text and parsed once per batch: thousands of interventions go in at once (see
formats/docx.py). User text only ever becomes escaped character data."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from forum.minutes.blocks import BREAK
from forum.minutes.formats.common import RIGHT_TO_LEFT

MONO = "Courier New"
LINK_COLOR = "0563C1"
STEP = 360  # twips a list level indents (a quarter inch), and a quote
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Word's own names of the list levels' formats, cycled as lists nest.
_ORDERED = ("decimal", "lowerLetter", "lowerRoman")
_BULLETS = ("\u2022", "\u25e6", "\u25aa")


def clean(text: object) -> str:
    """User text that XML can carry (Word refuses control characters)."""
    return _NOT_XML.sub("", str(text if text is not None else ""))


def lang_props(lang: str) -> str:
    """A run's language; a right-to-left one also reads right to left, an East Asian one is
    named for Word's East Asian font slot."""
    if not lang:
        return ""
    if lang in RIGHT_TO_LEFT:
        return f'<w:rtl/><w:lang w:val="{lang}" w:bidi="{lang}"/>'
    if lang in {"zh", "ja", "ko"}:
        return f'<w:lang w:val="{lang}" w:eastAsia="{lang}"/>'
    return f'<w:lang w:val="{lang}"/>'


def run_xml(text: str, props: str = "") -> str:
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(clean(text))}</w:t></w:r>'


class Numbering:
    """The document's numbering part: two abstract definitions (ordered, bulleted) added
    once, and one numbering instance per list, starting at the list's own number."""

    def __init__(self, document):
        self.part = document.part.numbering_part
        root = self.part.element
        abstract = [int(a.get(qn("w:abstractNumId"))) for a in root.findall(qn("w:abstractNum"))]
        nums = [int(n.get(qn("w:numId"))) for n in root.findall(qn("w:num"))]
        first = max(abstract, default=-1) + 1
        self.abstract = {True: first, False: first + 1}
        self.next_id = max(nums, default=0) + 1
        self.pending: list[str] = []
        for ordered, abstract_id in self.abstract.items():
            definition = parse_xml(_abstract_xml(abstract_id, ordered))
            # abstractNum elements come before every num (the schema's order).
            existing = root.findall(qn("w:abstractNum"))
            if existing:
                existing[-1].addnext(definition)
            else:
                root.insert(0, definition)

    def new(self, ordered: bool, level: int, start: int) -> int:
        num_id = self.next_id
        self.next_id += 1
        self.pending.append(
            f'<w:num {nsdecls("w")} w:numId="{num_id}">'
            f'<w:abstractNumId w:val="{self.abstract[ordered]}"/>'
            f'<w:lvlOverride w:ilvl="{level}"><w:startOverride w:val="{start}"/></w:lvlOverride>'
            "</w:num>"
        )
        return num_id

    def flush(self) -> None:
        """Writes the instances made so far (after the definitions, in order)."""
        if self.pending:
            batch = parse_xml(f"<w:numbering {nsdecls('w')}>{''.join(self.pending)}</w:numbering>")
            for num in list(batch):
                self.part.element.append(num)
            self.pending = []


def _abstract_xml(abstract_id: int, ordered: bool) -> str:
    levels = []
    for level in range(9):
        if ordered:
            fmt, text = _ORDERED[level % 3], f"%{level + 1}."
        else:
            fmt, text = "bullet", _BULLETS[level % 3]
        levels.append(
            f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{fmt}"/>'
            f'<w:lvlText w:val="{text}"/><w:lvlJc w:val="left"/>'
            f'<w:pPr><w:ind w:left="{STEP * (level + 1)}" w:hanging="{STEP}"/></w:pPr></w:lvl>'
        )
    kind = "hybridMultilevel"
    return (
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">'
        f'<w:multiLevelType w:val="{kind}"/>{"".join(levels)}</w:abstractNum>'
    )


class BlockWriter:
    """Blocks to WordprocessingML paragraphs and tables; `styles` maps the template's style
    names to their ids (python-docx looks a name up by scanning every style)."""

    def __init__(self, document, styles: dict[str, str], numbering: Numbering):
        # Hyperlinks are relationships of the main document part.
        self.part = document.part
        self.styles = styles
        self.numbering = numbering

    # -- runs --------------------------------------------------------------------------------

    def runs(self, runs: list[dict], lang: str = "", bold: bool = False, mono: bool = False) -> str:
        out = []
        i = 0
        while i < len(runs):
            href = runs[i].get("href")
            if not href:
                out.append(self._run(runs[i], lang, bold, mono))
                i += 1
                continue
            j = i
            while j < len(runs) and runs[j].get("href") == href:
                j += 1
            rid = self.part.relate_to(href, RT.HYPERLINK, is_external=True)
            inner = "".join(self._run(r, lang, bold, mono, link=True) for r in runs[i:j])
            out.append(f'<w:hyperlink r:id="{rid}" w:history="1">{inner}</w:hyperlink>')
            i = j
        return "".join(out)

    def _run(self, run: dict, lang: str, bold: bool, mono: bool, link: bool = False) -> str:
        if run["text"] == BREAK:
            return "<w:r><w:br/></w:r>"
        marks = run["marks"]
        props = ""  # in the order the schema gives rPr's children
        if mono or "code" in marks:
            props += f'<w:rFonts w:ascii="{MONO}" w:hAnsi="{MONO}" w:cs="{MONO}"/>'
        props += "<w:b/>" if bold or "b" in marks else ""
        props += "<w:i/>" if "i" in marks else ""
        props += "<w:strike/>" if "s" in marks else ""
        if link:
            props += f'<w:color w:val="{LINK_COLOR}"/><w:u w:val="single"/>'
        props += lang_props(lang)
        return run_xml(run["text"], props)

    # -- blocks ------------------------------------------------------------------------------

    def blocks(self, blocks: list[dict], base: int = 0, style: str = "", lang: str = "") -> str:
        """`style` is the paragraphs' style name ("" for Normal), `base` their left indent in
        twips (0: the style's), `lang` the language the blocks are in when it differs from
        the document's (a block's own "lang" wins)."""
        return "".join(self._block(b, base, style, b.get("lang") or lang) for b in blocks)

    def _paragraph(
        self, runs: str, style: str, lang: str, *, ind: str = "", numpr: str = "", border: str = ""
    ) -> str:
        ppr = f'<w:pStyle w:val="{self.styles[style]}"/>' if style else ""
        ppr += numpr + border  # in the schema's order: pStyle, numPr, pBdr, bidi, ind, jc
        ppr += "<w:bidi/>" if lang in RIGHT_TO_LEFT else ""
        ppr += ind
        return f"<w:p>{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}{runs}</w:p>"

    def _block(self, block: dict, base: int, style: str, lang: str, depth: int = 0) -> str:
        kind = block["type"]
        ind = f'<w:ind w:left="{base}"/>' if base else ""
        if kind == "p":
            return self._paragraph(self.runs(block["runs"], lang), style, lang, ind=ind)
        if kind == "h":
            name = f"Heading {min(block['level'], 6)}"
            return self._paragraph(self.runs(block["runs"], lang), name, lang, ind=ind)
        if kind == "code":
            runs: list[dict] = []
            for n, line in enumerate(block["text"].split("\n")):
                runs += [{"text": BREAK, "marks": []}] if n else []
                runs += [{"text": line, "marks": []}] if line else []
            return self._paragraph(self.runs(runs, lang, mono=True), style, lang, ind=ind)
        if kind == "hr":
            border = (
                '<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="auto"/></w:pBdr>'
            )
            return self._paragraph("", style, lang, ind=ind, border=border)
        if kind == "quote":
            return "".join(
                self._block(b, base + STEP, "Quote", b.get("lang") or lang) for b in block["blocks"]
            )
        if kind == "table":
            return self._table(block, base, lang)
        return self._list(block, base, style, lang, depth)

    def _list(self, block: dict, base: int, style: str, lang: str, depth: int) -> str:
        """One Word list: the items' first paragraphs numbered (or bulleted) by a numbering
        instance of their own; an item's further blocks indented under it; a nested list one
        level down."""
        level = min(depth, 8)
        num_id = self.numbering.new(block["ordered"], level, block["start"])
        left = base + STEP * (level + 1)
        numpr = f'<w:numPr><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'
        hanging = f'<w:ind w:left="{left}" w:hanging="{STEP}"/>'
        out = []
        for item in block["items"]:
            if not item or item[0]["type"] != "p":
                item = [{"type": "p", "runs": []}, *item]  # the number needs a paragraph
            first, *rest = item
            first_lang = first.get("lang") or lang
            runs = self.runs(first["runs"], first_lang)
            out.append(
                self._paragraph(runs, "List Paragraph", first_lang, numpr=numpr, ind=hanging)
            )
            for sub in rest:
                sub_lang = sub.get("lang") or lang
                if sub["type"] == "list":
                    out.append(self._list(sub, base, style, sub_lang, depth + 1))
                else:
                    out.append(self._block(sub, left, style, sub_lang))
        return "".join(out)

    def _table(self, block: dict, base: int, lang: str) -> str:
        width = len(block["align"])
        grid = "".join("<w:gridCol/>" for _ in range(width))
        props = f'<w:tblStyle w:val="{self.styles["Table Grid"]}"/>'
        props += "<w:bidiVisual/>" if lang in RIGHT_TO_LEFT else ""
        props += '<w:tblW w:w="0" w:type="auto"/>'
        props += f'<w:tblInd w:w="{base}" w:type="dxa"/>' if base else ""
        props += '<w:tblLook w:val="04A0"/>'
        rows = []
        for row in block["rows"]:
            head = "<w:trPr><w:tblHeader/></w:trPr>" if row["header"] else ""
            cells = []
            for cell, align in zip(row["cells"], block["align"], strict=True):
                jc = f'<w:jc w:val="{align}"/>' if align else ""
                runs = self.runs(cell, lang, bold=row["header"])
                paragraph = self._paragraph(runs, "", lang, ind=jc)  # jc follows ind
                cells.append(
                    f'<w:tc><w:tcPr><w:tcW w:w="0" w:type="auto"/></w:tcPr>{paragraph}</w:tc>'
                )
            rows.append(f"<w:tr>{head}{''.join(cells)}</w:tr>")
        # Word joins adjacent tables into one: an empty paragraph keeps them apart.
        table = f"<w:tblPr>{props}</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}"
        return f"<w:tbl>{table}</w:tbl><w:p/>"


def body_elements(xml: str):
    """Parsed body content (paragraphs and tables) from WordprocessingML text."""
    return list(parse_xml(f"<w:body {nsdecls('w', 'r')}>{xml}</w:body>"))
