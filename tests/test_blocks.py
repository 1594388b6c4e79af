"""The block model (forum/minutes/blocks.py): sanitised HTML as a tree of plain data that every
renderer walks, keeping what speakers wrote (tables, numbered lists, links, quotes, code)."""

from __future__ import annotations

import json

from forum.minutes.blocks import blocks_text, html_blocks, plain_text
from moderation.sanitize import render_markdown


def blocks_of(markdown: str) -> list[dict]:
    return html_blocks(render_markdown(markdown))


def run(text: str, *marks: str, href: str = "") -> dict:
    out: dict = {"text": text, "marks": sorted(marks)}
    if href:
        out["href"] = href
    return out


def test_a_paragraph_keeps_its_emphasis_links_code_and_line_breaks_as_runs():
    blocks = blocks_of(
        "A **bold** *it* ~~gone~~ `x < y` [site **b**](https://e.org/a?b=1&c=2)  \nnext"
    )
    assert blocks == [
        {
            "type": "p",
            "runs": [
                run("A "),
                run("bold", "b"),
                run(" "),
                run("it", "i"),
                run(" "),
                run("gone", "s"),
                run(" "),
                run("x < y", "code"),
                run(" "),
                run("site ", href="https://e.org/a?b=1&c=2"),
                run("b", "b", href="https://e.org/a?b=1&c=2"),
                run("\n"),
                run("next"),
            ],
        }
    ]


def test_marks_are_sorted_and_nested_marks_combine():
    [block] = blocks_of("***both*** and **bold `code`**")
    assert block["runs"][0] == run("both", "b", "i")
    assert block["runs"][0]["marks"] == ["b", "i"]
    assert block["runs"][-1] == run("code", "b", "code")


def test_typed_markup_stays_literal_text():
    [block] = blocks_of('<b>raw</b> & <font size=99> "quoted"')
    assert block["runs"] == [run('<b>raw</b> & <font size=99> "quoted"')]


def test_a_three_by_three_table_is_a_table_with_a_header_row_and_equal_rows():
    [table] = blocks_of("| a | b | c |\n|---|---|---|\n| 1 | **2** | 3 |\n| x | y |")
    assert table["type"] == "table"
    assert len(table["align"]) == 3
    assert [row["header"] for row in table["rows"]] == [True, False, False]
    assert [len(row["cells"]) for row in table["rows"]] == [3, 3, 3]
    assert table["rows"][1]["cells"][1] == [run("2", "b")]
    assert table["rows"][2]["cells"][2] == []  # padded to the table's width


def test_cell_alignment_is_read_per_column():
    fragment = (
        '<table><tr><th align="right">a</th><th>b</th></tr>'
        '<tr><td>1</td><td align="center">2</td></tr></table>'
    )
    [table] = html_blocks(fragment)
    assert table["align"] == ["right", "center"]


def test_ordered_lists_keep_their_start_and_nested_lists_stay_inside_their_item():
    [numbered] = blocks_of("3. three\n4. four\n   - nested\n   - more\n")
    assert numbered["type"] == "list" and numbered["ordered"] and numbered["start"] == 3
    assert numbered["items"][0] == [{"type": "p", "runs": [run("three")]}]
    four, nested = numbered["items"][1]
    assert four == {"type": "p", "runs": [run("four")]}
    assert nested["type"] == "list" and not nested["ordered"] and nested["start"] == 1
    assert [item[0]["runs"] for item in nested["items"]] == [[run("nested")], [run("more")]]


def test_a_loose_list_item_holds_several_paragraphs():
    [bullets] = blocks_of("- one\n\n  more of one\n\n- two\n")
    assert [len(item) for item in bullets["items"]] == [2, 1]


def test_quotes_code_headings_and_rules_are_blocks():
    blocks = blocks_of(
        "> quoted\n> > deeper\n\n```\n  code <b>\n\n  after\n```\n\n---\n\n### Head *x*"
    )
    assert blocks == [
        {
            "type": "quote",
            "blocks": [
                {"type": "p", "runs": [run("quoted")]},
                {"type": "quote", "blocks": [{"type": "p", "runs": [run("deeper")]}]},
            ],
        },
        {"type": "code", "text": "  code <b>\n\n  after"},
        {"type": "hr"},
        {"type": "h", "level": 3, "runs": [run("Head "), run("x", "i")]},
    ]


def test_spaces_collapse_and_no_line_starts_or_ends_with_one():
    [block] = html_blocks("<p>  a \n  <em> b </em>  <br>  c  </p>")
    assert block["runs"] == [run("a "), run("b", "i"), run("\n"), run("c")]


def test_empty_paragraphs_and_empty_input_give_no_blocks():
    assert html_blocks("") == []
    assert html_blocks("<p> </p><p><br></p>") == []
    assert plain_text("") == ""


def test_a_language_marks_each_top_level_block():
    blocks = html_blocks(render_markdown("Hola\n\n- uno"), lang="es")
    assert [block["lang"] for block in blocks] == ["es", "es"]
    assert "lang" not in blocks[1]["items"][0][0]
    assert "lang" not in html_blocks("<p>x</p>")[0]


def test_the_tree_is_plain_json_data():
    blocks = blocks_of("| a | b |\n|---|---|\n| [x](https://e.org) | y |\n\n2. z\n\n> q")
    assert json.loads(json.dumps(blocks)) == blocks


def test_stray_or_unclosed_markup_still_gives_blocks():
    assert blocks_text(html_blocks("<li>alone</li><td>cell</td></p>text<ul>x<li>y")) == (
        "alone\ncell\ntext\n- x\n- y"
    )


def test_plain_text_keeps_list_numbers_table_cells_quotes_and_nesting():
    blocks = blocks_of(
        "Intro\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n3. three\n   - sub\n4. four\n\n> said\n\n---"
    )
    assert blocks_text(blocks) == ("Intro\na | b\n1 | 2\n3. three\n   - sub\n4. four\n> said\n---")


def test_plain_text_for_letters_indents_every_line():
    assert plain_text(render_markdown("**Do** this:\n\n1. a\n2. b"), indent="  ") == (
        "  Do this:\n  1. a\n  2. b"
    )
