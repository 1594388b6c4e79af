"""The block model (forum/minutes/blocks.py) as Akoma Ntoso 3.0 elements, for formats/akn.py:
paragraphs <p>, lists <ol>/<ul> of <li> (a list's first number as the item's `value`), tables
<table>/<tr>/<th>/<td>, links <a href>, emphasis <b>/<i>, a quote a <blockContainer
class="quote">, a line break <eol/>; code and struck text, which AKN has no element for, are
<inline name="code"> and <inline name="strikethrough">. A block in another language than the
document's carries xml:lang. Every text is a text node: user text never becomes markup."""

from __future__ import annotations

import re

from lxml import etree

from forum.minutes.blocks import BREAK, runs_text

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_A = f"{{{AKN_NS}}}"
_P = _A + "p"
# Characters XML 1.0 forbids (C0 controls but tab, LF and CR; lone surrogates; U+FFFE/FFFF):
# lxml refuses them outright, so they are dropped from user text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MARKS = (("b", "b", {}), ("i", "i", {}))
_NAMED = (("s", "strikethrough"), ("code", "code"))


def clean(text: object) -> str:
    return _NOT_XML.sub("", str(text if text is not None else ""))


def element(parent, tag: str, text: object = None, **attrs) -> etree._Element:
    """An AKN child element; every text and attribute value passes through `clean`."""
    node = etree.SubElement(parent, _A + tag)
    for key, value in attrs.items():
        if value is not None:
            node.set(key, clean(value))
    if text is not None:
        node.text = clean(text)
    return node


def _append_text(node, text: str) -> None:
    """Text after node's last child (or in it, when it has none)."""
    text = clean(text)
    if len(node):
        node[-1].tail = (node[-1].tail or "") + text
    else:
        node.text = (node.text or "") + text


def _run(parent, run: dict) -> None:
    if run["text"] == BREAK:
        element(parent, "eol")
        return
    if not run["marks"] and "href" not in run:
        _append_text(parent, run["text"])
        return
    target = parent
    if run.get("href"):
        target = element(target, "a", href=run["href"])
    for mark, name in _NAMED:
        if mark in run["marks"]:
            target = element(target, "inline", name=name)
    for mark, tag, _attrs in _MARKS:
        if mark in run["marks"]:
            target = element(target, tag)
    if target is parent:
        _append_text(parent, run["text"])
    else:
        target.text = clean(run["text"])


def runs(parent, items: list[dict]) -> None:
    """Inline runs into `parent` (a p, li, td...): one <a> per run of a link, which keeps
    each run's marks inside it."""
    for run in items:
        _run(parent, run)


class BlockBuilder:
    """Adds blocks under an AKN element; tables and quotes get eIds under `base`, numbered in
    the order they come (the same blocks give the same eIds in every version)."""

    def __init__(self, base: str):
        self.base = base
        self.count = {"table": 0, "blockContainer": 0}

    def _eid(self, kind: str) -> str:
        self.count[kind] += 1
        return f"{self.base}__{kind}_{self.count[kind]}"

    def add(self, parent, blocks: list[dict], lang: str = "") -> None:
        for block in blocks:
            if block["type"] == "p" and not lang and "lang" not in block:
                runs(etree.SubElement(parent, _P), block["runs"])  # most of a long session
            else:
                self.block(parent, block, block.get("lang") or lang)

    def block(self, parent, block: dict, lang: str = "", in_list: bool = False) -> None:
        kind = block["type"]
        attrs = {XML_LANG: lang} if lang else {}
        if kind == "p":
            runs(element(parent, "p", **attrs), block["runs"])
        elif kind == "h":
            p = element(parent, "p", **{"class": f"heading{block['level']}", **attrs})
            runs(element(p, "b"), block["runs"])
        elif kind == "code":
            p = element(parent, "p", **{"class": "code", **attrs})
            code = element(p, "inline", name="code")
            for n, line in enumerate(block["text"].split("\n")):
                if n:
                    element(code, "eol")
                _append_text(code, line)
        elif kind == "hr":
            element(parent, "p", **{"class": "rule", **attrs})
        elif kind == "list":
            self._list(parent, block, attrs, lang)
        elif in_list:  # a list item holds no table or container: their text, as paragraphs
            self._flat(parent, block, attrs)
        elif kind == "quote":
            quote = element(parent, "blockContainer", eId=self._eid("blockContainer"))
            quote.set("class", "quote")
            for attr, value in attrs.items():
                quote.set(attr, value)
            self.add(quote, block["blocks"], lang)
            if not len(quote):
                element(quote, "p")
        else:
            self._table(parent, block, attrs)

    def _list(self, parent, block: dict, attrs: dict, lang: str) -> None:
        listed = element(parent, "ol" if block["ordered"] else "ul", **attrs)
        for number, item in enumerate(block["items"], start=block["start"]):
            li = element(listed, "li")
            if block["ordered"] and number == block["start"] and number != 1:
                li.set("value", str(number))  # where the numbering starts
            if len(item) == 1 and item[0]["type"] == "p" and not item[0].get("lang"):
                runs(li, item[0]["runs"])  # a tight item: its text, as HTML has it
                continue
            for sub in item:
                self.block(li, sub, sub.get("lang") or "", in_list=True)

    def _flat(self, parent, block: dict, attrs: dict) -> None:
        if block["type"] == "quote":
            for sub in block["blocks"]:
                self.block(parent, sub, sub.get("lang") or "", in_list=True)
            return
        for row in block["rows"]:
            text = " | ".join(" ".join(runs_text(cell).split()) for cell in row["cells"])
            element(parent, "p", text, **attrs)

    def _table(self, parent, block: dict, attrs: dict) -> None:
        table = element(parent, "table", eId=self._eid("table"), **attrs)
        for row in block["rows"]:
            tr = element(table, "tr")
            for cell, align in zip(row["cells"], block["align"], strict=True):
                extra = {"class": f"align-{align}"} if align else {}
                runs(element(element(tr, "th" if row["header"] else "td"), "p", **extra), cell)
