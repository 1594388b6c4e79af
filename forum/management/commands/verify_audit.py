import re
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from forum.models import RoundTable
from moderation.audit import RecordedHead, audit_verify
from moderation.models import GENESIS_HASH

HEX = re.compile(r"[0-9a-f]{64}")
SLUG = re.compile(r"[-a-zA-Z0-9_]+")
CURRENT = object()  # `--head` given without a value: print the current head


class Command(BaseCommand):
    help = (
        "Verify the keyed MAC chain of a round table's audit log. Prints the number of entries, "
        "or the first entry that was altered, inserted or removed (and exits with status 1). "
        "--head alone prints the chain's current head; --head HEX checks a head printed in the "
        "adopted minutes or a submission manifest (nothing before it was rewritten). "
        "--record-heads FILE appends the current head to FILE (kept outside the database); "
        "--heads FILE checks the log against every head of the round table recorded there."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the round table's slug")
        parser.add_argument(
            "--head",
            metavar="HEX",
            nargs="?",
            const=CURRENT,
            help="alone: print the chain's current head; with the 64 hex digits of a MAC printed "
            "in a document: check that the log still holds that entry",
        )
        parser.add_argument(
            "--record-heads",
            metavar="FILE",
            help="append 'SLUG SEQ MAC TIME' (the current head) to FILE once the log verifies",
        )
        parser.add_argument(
            "--heads",
            metavar="FILE",
            help="check the log against every head of this round table recorded in FILE: it must "
            "be at least that long and still hold each of those entries",
        )

    def handle(self, *args, **opts):
        slug = opts["slug"]
        anchor = opts["head"]
        show_head = anchor is CURRENT
        if show_head:
            anchor = None
        elif anchor is not None:
            anchor = anchor.strip().lower()
            if not HEX.fullmatch(anchor):
                raise CommandError(f"--head takes the 64 hex digits of a MAC, not {opts['head']!r}")
        recorded = read_heads(opts["heads"], slug) if opts["heads"] else None
        room = RoundTable.objects.filter(slug=slug).first()
        if room is None:
            raise CommandError(f"there is no round table with the slug {slug!r}")
        report = audit_verify(room, anchor=anchor, recorded=recorded)
        if not report.ok:
            raise CommandError(f"audit log of {slug}: {report.problem}")
        noun = "entry" if report.entries == 1 else "entries"
        line = f"audit log of {slug}: {report.entries} {noun}, chain intact"
        if report.anchor_seq is not None:
            line += (
                f"; the head {anchor} is entry {report.anchor_seq}: nothing up to it was rewritten"
            )
        self.stdout.write(line)
        if recorded is not None:
            if recorded:
                heads = "head" if report.recorded == 1 else "heads"
                self.stdout.write(
                    f"{report.recorded} recorded {heads} of {slug} still in the log "
                    f"(the latest: entry {report.recorded_seq}), from {opts['heads']}"
                )
            else:
                self.stdout.write(f"no head of {slug} recorded in {opts['heads']}")
        if show_head:
            self.stdout.write(f"head of {slug}: entry {report.head_seq}, {report.head_mac}")
        if opts["record_heads"]:
            record_head(opts["record_heads"], slug, report.head_seq, report.head_mac)
            self.stdout.write(
                f"recorded the head of {slug} (entry {report.head_seq}) in {opts['record_heads']}"
            )


def read_heads(path: str, slug: str) -> list[RecordedHead]:
    """The heads of `slug` recorded in `path`: one 'SLUG SEQ MAC TIME' per line ('#' starts a
    comment). Every line is checked, those of other round tables too."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read the heads file {path}: {exc}") from None
    heads = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split()
        problem = None
        if len(parts) != 4:
            problem = "expected 'SLUG SEQ MAC TIME' (four fields separated by spaces)"
        elif not SLUG.fullmatch(parts[0]):
            problem = f"{parts[0]!r} is not a slug"
        elif not (parts[1].isascii() and parts[1].isdigit()):
            problem = f"the entry number {parts[1]!r} is not a whole number"
        elif not HEX.fullmatch(parts[2]):
            problem = f"{parts[2]!r} is not the 64 hex digits of a MAC"
        elif int(parts[1]) == 0 and parts[2] != GENESIS_HASH:
            problem = "entry 0 (an empty log) has the MAC of 64 zeros"
        if problem:
            raise CommandError(f"{path}, line {number}: {problem}")
        if parts[0] == slug:
            heads.append(RecordedHead(seq=int(parts[1]), mac=parts[2], at=parts[3]))
    return heads


def record_head(path: str, slug: str, seq: int, mac: str) -> None:
    at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{slug} {seq} {mac} {at}\n")
    except OSError as exc:
        raise CommandError(f"cannot append to the heads file {path}: {exc}") from None
