"""Refusals with a stable, machine-readable code.

Services raise ServiceError; the websocket turns it into an `error` frame, views into a
page, management commands into CommandError. The code strings are public (docs/protocol.md).
"""

from __future__ import annotations

from django.utils.translation import gettext as _


class ServiceError(Exception):
    def __init__(self, code: str, message: str, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


class NotFound(ServiceError):
    def __init__(self, message: str | None = None):
        super().__init__("not_found", message or _("Not found."))


class Forbidden(ServiceError):
    def __init__(self, message: str | None = None):
        super().__init__("forbidden", message or _("You may not do that in this room."))
