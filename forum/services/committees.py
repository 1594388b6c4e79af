"""The committee registry: the bodies a round table's outcomes are submitted to."""

from __future__ import annotations

from django.db import transaction

from forum.models import Committee, User
from moderation.permissions import StaffAction, require_secretariat

COMMITTEE_FIELDS = ("name", "rigo", "working_languages", "address", "accepts", "webhook_url")


@transaction.atomic
def committee_save(*, actor: User, committee: Committee, data: dict) -> Committee:
    """Apply `data` (the committee form's fields) to `committee`, new or stored, and save it.

    A non-empty `webhook_secret` replaces the secret; `clear_webhook_secret` removes it;
    otherwise the secret stays. The model's own validation runs first (URL schemes, a secret
    with every webhook, unique names): a refusal raises ValidationError with each field's
    messages and saves nothing (the instance keeps the refused values; reload it to show
    what is stored). Refusals: Forbidden (not the secretariat), ValidationError."""
    require_secretariat(actor, StaffAction.SUBMISSIONS)
    for name in COMMITTEE_FIELDS:
        setattr(committee, name, data[name])
    if data.get("webhook_secret"):
        committee.webhook_secret = data["webhook_secret"]
    elif data.get("clear_webhook_secret"):
        committee.webhook_secret = ""
    committee.full_clean()
    committee.save()
    return committee
