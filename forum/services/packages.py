"""The submission package's download link: signed, no account needed, valid for 90 days.

Submissions hand it to the committee and the webhook delivery sends it; both import it from here."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.urls import reverse

from forum.models import (
    Submission,
)

PACKAGE_SALT = "roundtables.submission-package"


PACKAGE_LINK_DAYS = 90


def package_key(submission: Submission) -> str:
    return signing.dumps({"s": submission.public_id}, salt=PACKAGE_SALT, compress=True)


def package_key_valid(submission: Submission, key: str) -> bool:
    try:
        data = signing.loads(key, salt=PACKAGE_SALT, max_age=dt.timedelta(days=PACKAGE_LINK_DAYS))
    except signing.BadSignature:
        return False
    return data.get("s") == submission.public_id


def package_url(submission: Submission) -> str:
    """The package's download link for the committee: signed, no account needed, 90 days."""
    path = reverse("submission_package", args=[submission.public_id])
    return f"{settings.BASE_URL}{path}?key={package_key(submission)}"
