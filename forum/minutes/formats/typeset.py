"""Typeset the minutes' JSON with typst, in a process of its own:

    python -m forum.minutes.formats.typeset STANDARDS FONTS < minutes.json > minutes.pdf

STANDARDS is a comma-separated list of typst's PDF standards ("a-2a,ua-1"), FONTS "system"
(typst's own fonts and those of pdf_fonts.FONT_DIRS) or "embedded" (typst's own only). Exit 0
with the PDF on stdout, or 1 with typst's message on stderr.

Why a process: typst memoizes everything it computes, process-wide, and the `typst` package
keeps it for ten compilations: a few hundred megabytes for long minutes, so a server that
renders ten versions would hold gigabytes. A process of its own gives it all back when it
ends, and lets the caller stop one that runs too long. No Django here: only typst and the
font folders.
"""

from __future__ import annotations

import sys
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().with_name("typesetting")
TEMPLATE = TEMPLATE_DIR / "minutes.typ"


def typeset(minutes: str, standards: list[str], system_fonts: bool) -> bytes:
    import typst

    from forum.minutes.formats.pdf_fonts import typst_fonts

    compiler = typst.Compiler(
        root=str(TEMPLATE_DIR), font_paths=typst_fonts(system_fonts), ignore_system_fonts=True
    )
    return compiler.compile(
        input=str(TEMPLATE),
        format="pdf",
        sys_inputs={"minutes": minutes},
        pdf_standards=standards,
    )


def main(argv: list[str]) -> int:
    import typst

    standards, fonts = argv
    minutes = sys.stdin.buffer.read().decode("utf-8")
    try:
        pdf = typeset(minutes, [s for s in standards.split(",") if s], fonts == "system")
    except typst.TypstError as error:
        sys.stderr.write(str(error))
        return 1
    sys.stdout.buffer.write(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
