"""The keyed MAC that seals audit entries, and the keys it uses.

Pure functions over plain values (no models), so that moderation/audit.py and the migration
that sealed the chains written before keys share one definition. docs/protocol.md describes
the serialisation for anyone who wants to check a chain with their own tools.

- An entry's MAC is HMAC-SHA256, under the key named by its `key_id`, of the canonical JSON
  of its fields (`seal_content`). Its `reason` and `data` enter as keyed digests of their
  own (`field_digest`), not as themselves: erasing an identity from an entry replaces the
  text by the digest it had, and the chain still verifies. Only a holder of the key can
  compute a digest, so only a holder of the key can erase, and a digest left in the
  database confirms no guess at the text it stood for.
- The key comes from the environment (settings.AUDIT_KEY), never from the database. A key is
  named by `key_id`, a fingerprint that tells nothing of the key; earlier keys stay in
  settings.AUDIT_OLD_KEYS so that the entries they sealed still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

ERASABLE = ("reason", "data")
# What an erased field holds once its text is gone (audit.audit_erase writes it).
ERASED_VALUES = {"reason": "", "data": {}}


class UnknownKey(Exception):
    """An entry names a key this server does not hold."""


def key_id(key: str) -> str:
    """A key's public name: 16 hex digits of a hash of it (reveals nothing of the key)."""
    return hashlib.sha256(b"roundtables-audit-key-id:" + key.encode()).hexdigest()[:16]


def current_key_id() -> str:
    return key_id(settings.AUDIT_KEY)


def keys() -> dict[str, bytes]:
    """Every key this server verifies with, by id: AUDIT_KEY and AUDIT_OLD_KEYS."""
    return {key_id(key): key.encode() for key in [*settings.AUDIT_OLD_KEYS, settings.AUDIT_KEY]}


def key_for(kid: str) -> bytes:
    try:
        return keys()[kid]
    except KeyError:
        raise UnknownKey(kid) from None


def canonical(value) -> str:
    """The one JSON spelling the MACs cover: sorted keys, no spaces, UTF-8 as itself."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def field_digest(key: bytes, name: str, value) -> str:
    """The keyed digest of an erasable field (`reason` or `data`) that an entry's MAC covers."""
    return _hmac(key, f"{name}\0{canonical(value)}")


def seal_content(key: bytes, content: dict) -> str:
    """The MAC of an entry (`content` as audit.py builds it) or of a head."""
    return _hmac(key, canonical(content))


def timestamp(moment: datetime) -> str:
    """One spelling whatever the database hands back: UTC, always with microseconds."""
    if timezone.is_aware(moment):
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return moment.isoformat(timespec="microseconds")


def entry_mac(entry, key: bytes, seq: int) -> str:
    """The MAC of an audit entry (a model instance, current or historical) at `seq`."""
    erased = entry.erased or {}
    content = {
        "room": entry.room_id,
        "seq": seq,
        "created_at": timestamp(entry.created_at),
        "action": entry.action,
        "actor_role": entry.actor_role,
        "actor_public_id": entry.actor_public_id,
        "actor_seat": entry.actor_seat_id,
        "target": entry.target,
        # As digests: erasing the text keeps what the MAC covers.
        **{name: _covered(entry, erased, key, name) for name in ERASABLE},
        "prev_hash": entry.prev_hash,
        "key": entry.key_id,
    }
    return seal_content(key, content)


def _covered(entry, erased: dict, key: bytes, name: str) -> str:
    """What the MAC covers of an erasable field: the keyed digest of its text.

    An erased field stands for the digest kept in `erased` only while it holds the erased
    value itself; anything written into it later is digested as it stands, and no longer
    matches (only the original text would, and that is no forgery). Dropping the `erased`
    mark makes the empty value itself the text, which does not match either.
    """
    value = getattr(entry, name)
    if name in erased and value == ERASED_VALUES[name] and type(value) is type(ERASED_VALUES[name]):
        return erased[name]
    return field_digest(key, name, value)


def head_content(room_id: int, count: int, last_hash: str, kid: str) -> dict:
    return {"room": room_id, "count": count, "last_hash": last_hash, "key": kid}
