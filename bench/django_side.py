"""Run inside `manage.py shell -c` by bench/servers.py: setup work done faster than over
HTTP, through the product's own code.

- `post_events`: the resume benchmark's backlog, posted through the real service
  (`intervention_post`: validation, Markdown, sanitising, the event log), one after the
  other, with the post rate limit lifted by the caller's environment (POST_BURST).
- `sign_in_all`: what the join page's button does for each seat (forum/room/views.py `join`):
  the token's seat, then `seat_sign_in` on a request with a fresh session, and the
  session saved as SessionMiddleware saves it. 5,000 seats take seconds this way instead
  of minutes of HTTP requests; the sessions are the same rows.
"""

from __future__ import annotations

import json
import uuid
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest

from forum.services.interventions import intervention_post
from forum.services.seats import seat_by_token
from forum.services.sessions import seat_sign_in

BATCH = 500


def post_events(token: str, count: int) -> None:
    seat = seat_by_token(token)
    if seat is None:
        raise SystemExit("post_events: unknown join token")
    done = 0
    while done < count:
        # Each post is its own (nested) transaction as in the consumer; committing a batch
        # at a time only saves the SQLite file a sync per post.
        with transaction.atomic():
            for _ in range(min(BATCH, count - done)):
                done += 1
                body = (
                    f"Resume benchmark intervention {done} of {count}: a statement of "
                    "ordinary length, so that the replay carries frames of the usual size."
                )
                intervention_post(seat_id=seat.pk, client_id=uuid.uuid4(), body=body)
    print(f"posted {done}")


def sign_in_all(tokens_file: str) -> None:
    with open(tokens_file) as f:
        tokens = json.load(f)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    with transaction.atomic():
        for token in tokens:
            seat = seat_by_token(token)
            if seat is None:
                raise SystemExit("sign_in_all: unknown join token")
            request = HttpRequest()
            request.session = store()
            seat_sign_in(request=request, seat=seat)
            request.session.save()
            keys.append(request.session.session_key)
    print(json.dumps(keys))
