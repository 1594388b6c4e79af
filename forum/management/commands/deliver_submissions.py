import argparse
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from forum.services.delivery import MAX_ATTEMPTS, Outcome, deliver_due

# The loop's pause between passes; module-level so a test can stop the loop.
sleep = time.sleep


def refresh_connections() -> None:
    """Drop a connection the database has dropped or that outlived CONN_MAX_AGE, as a request
    would, so a loop that runs for weeks survives a database restart. Never mid-transaction
    (a caller's, or a test's)."""
    if not connection.in_atomic_block:
        close_old_connections()


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}")
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


class Command(BaseCommand):
    help = (
        "Send the submission webhooks that are due (docs/webhooks.md): one pass by default, "
        "for cron; --loop keeps polling until interrupted. Prints a line per attempt."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=positive_int, default=50, help="attempts per pass (default 50)"
        )
        parser.add_argument(
            "--loop", action="store_true", help="keep polling until interrupted (Ctrl-C)"
        )
        parser.add_argument(
            "--interval",
            type=positive_int,
            default=None,
            help="seconds between passes with --loop (default 30)",
        )
        parser.add_argument(
            "--timeout", type=positive_int, default=10, help="seconds per HTTP request (default 10)"
        )

    def handle(self, *args, **opts):
        if opts["interval"] is not None and not opts["loop"]:
            raise CommandError("--interval only applies with --loop")
        limit, timeout = opts["limit"], opts["timeout"]
        if not opts["loop"]:
            self.report(deliver_due(limit=limit, timeout=timeout), quiet=False)
            return
        interval = opts["interval"] or 30
        self.stdout.write(f"delivering every {interval} s; Ctrl-C stops")
        try:
            while True:
                refresh_connections()
                outcomes = deliver_due(limit=limit, timeout=timeout)
                self.report(outcomes, quiet=True)
                # A full pass means more may be due already: go again without waiting.
                if len(outcomes) < limit:
                    sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def report(self, outcomes: list[Outcome], *, quiet: bool) -> None:
        for outcome in outcomes:
            self.stdout.write(line(outcome))
        if not outcomes:
            if not quiet:
                self.stdout.write("nothing due")
            return
        counts = {r: sum(o.result == r for o in outcomes) for r in ("delivered", "retry", "failed")}
        noun = "attempt" if len(outcomes) == 1 else "attempts"
        self.stdout.write(
            f"{len(outcomes)} {noun}: {counts['delivered']} delivered, "
            f"{counts['retry']} to retry, {counts['failed']} failed"
        )


def line(outcome: Outcome) -> str:
    answer = f"HTTP {outcome.status_code}" if outcome.status_code else outcome.error
    if outcome.status_code and outcome.result != "delivered" and outcome.error:
        answer = outcome.error
    answer = " ".join(answer.split())[:160]  # a receiver's error page, on one line
    if outcome.result == "retry":
        what = f"retry at {outcome.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}"
    else:
        what = "delivered" if outcome.result == "delivered" else "failed, no more attempts"
    return (
        f"{outcome.delivery} (#{outcome.pk}) to {outcome.host}, attempt "
        f"{outcome.attempt}/{MAX_ATTEMPTS}: {what} ({answer}, {outcome.duration_ms} ms)"
    )
