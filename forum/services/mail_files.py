"""The embedded default's mail server: each message written as one .eml file under
DATA_DIR/mail (settings.EMAIL_FILE_PATH), which any mail program opens. Django's own file
backend appends every message of a connection to one .log file, which no mail program reads."""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class EmlFileBackend(BaseEmailBackend):
    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            path = self.directory / eml_name(message)
            # Written aside then renamed: a reader of the directory never sees half a message.
            partial = path.with_suffix(".part")
            partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
            partial.replace(path)
        return len(email_messages)


def eml_name(message) -> str:
    """<UTC time>-<hash of the Message-ID>.eml: the files sort by time, and the outbox page's
    message (which shows its Message-ID) can be matched to its file."""
    message_id = message.extra_headers.get("Message-ID", "") or str(id(message))
    digest = hashlib.sha256(message_id.encode()).hexdigest()[:12]
    return f"{timezone.now():%Y%m%d-%H%M%S}-{digest}.eml"
