from django.core.management.base import BaseCommand, CommandError

from forum.management.commands.deliver_submissions import positive_int, refresh_connections
from forum.services.mail import MAX_ATTEMPTS, Outcome, send_due

from . import deliver_submissions


class Command(BaseCommand):
    help = (
        "Send the e-mail that is due from the outbox (EMAIL_URL, or .eml files under "
        "var/mail/ when it is not set): one pass by default, for cron; --loop keeps polling "
        "until interrupted. Prints a line per attempt."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=positive_int, default=50, help="messages per pass (default 50)"
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

    def handle(self, *args, **opts):
        if opts["interval"] is not None and not opts["loop"]:
            raise CommandError("--interval only applies with --loop")
        limit = opts["limit"]
        if not opts["loop"]:
            self.report(send_due(limit=limit), quiet=False)
            return
        interval = opts["interval"] or 30
        self.stdout.write(f"sending every {interval} s; Ctrl-C stops")
        try:
            while True:
                refresh_connections()
                outcomes = send_due(limit=limit)
                self.report(outcomes, quiet=True)
                # A full pass means more may be due already: go again without waiting.
                if len(outcomes) < limit:
                    deliver_submissions.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def report(self, outcomes: list[Outcome], *, quiet: bool) -> None:
        for outcome in outcomes:
            self.stdout.write(line(outcome))
        if not outcomes:
            if not quiet:
                self.stdout.write("nothing due")
            return
        counts = {r: sum(o.result == r for o in outcomes) for r in ("sent", "retry", "failed")}
        noun = "attempt" if len(outcomes) == 1 else "attempts"
        self.stdout.write(
            f"{len(outcomes)} {noun}: {counts['sent']} sent, "
            f"{counts['retry']} to retry, {counts['failed']} failed"
        )


def line(outcome: Outcome) -> str:
    if outcome.result == "retry":
        what = f"retry at {outcome.next_attempt_at:%Y-%m-%d %H:%M:%S %Z}"
    else:
        what = "sent" if outcome.result == "sent" else "failed, no more attempts"
    answer = f" ({outcome.error})" if outcome.error else ""
    return (
        f"message #{outcome.pk} to {outcome.recipient}, attempt {outcome.attempt}/{MAX_ATTEMPTS}: "
        f"{what}{answer}, {outcome.duration_ms} ms"
    )
