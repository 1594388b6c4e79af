"""EMAIL_URL: one setting for the SMTP server, read by forum/settings.py.

    smtp://host:25                  plain SMTP (a relay on the same network)
    smtp+tls://user:pass@host:587   STARTTLS (submission port)
    smtp+ssl://user:pass@host:465   TLS from the first byte (SMTPS)

User and password are percent-decoded (an "@" in a user name is written %40). A URL this does
not understand stops the start with a message that names the problem: a typo must not turn
into mail silently written to files.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

# scheme: (STARTTLS, TLS from the start, default port)
SCHEMES = {
    "smtp": (False, False, 25),
    "smtp+tls": (True, False, 587),
    "smtp+ssl": (False, True, 465),
}


class EmailUrlError(ValueError):
    pass


def parse_email_url(url: str) -> dict:
    """Django's EMAIL_* settings for `url`; raises EmailUrlError naming what is wrong."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise EmailUrlError(
            "EMAIL_URL must start with smtp://, smtp+tls:// or smtp+ssl://"
            + (f", not {scheme}://" if scheme else "")
        )
    try:
        port = parts.port
    except ValueError:
        raise EmailUrlError("EMAIL_URL has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise EmailUrlError("EMAIL_URL names no host (smtp+tls://user:pass@host:587)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EmailUrlError("EMAIL_URL takes no path, query or fragment after host:port")
    tls, ssl, default_port = SCHEMES[scheme]
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or default_port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
    }
