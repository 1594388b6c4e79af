"""Which web pages may open the room websocket: the site's own, by scheme, host and port.

A browser sends the page's origin with every websocket handshake, and the session cookie
with it whatever page asks; checking the host alone would let any page served from an
allowed host on another port or scheme (a development server, a plain-HTTP mirror of an
HTTPS site) speak in a delegate's name. An origin is accepted when it is

- one of the site's configured origins: BASE_URL's, and each of CSRF_TRUSTED_ORIGINS
  (`https://*.example.org` takes the subdomains of example.org, as for Django's CSRF check);
- or the socket's own origin: the handshake's Host header with the socket's scheme (`ws`
  goes with `http`, `wss` with `https`), the host being one of ALLOWED_HOSTS;

and the handshake's Host is one of ALLOWED_HOSTS in any case. Anything else, a missing
Origin included, is refused at the handshake (HTTP 403).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
PAGE_SCHEMES = {"ws": "http", "wss": "https"}

Origin = tuple[str, str, int]  # (scheme, host, port)


def parse_origin(value: str) -> Origin | None:
    """(scheme, host, port) of an origin or URL, with the scheme's default port filled in;
    None for anything else (no scheme or host, a bad port, "null")."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def configured_origins() -> list[Origin]:
    values = [settings.BASE_URL, *settings.CSRF_TRUSTED_ORIGINS]
    return [origin for origin in map(parse_origin, values) if origin is not None]


def _matches(origin: Origin, allowed: Origin) -> bool:
    scheme, host, port = allowed
    if (origin[0], origin[2]) != (scheme, port):
        return False
    if host.startswith("*."):
        return origin[1].endswith(host[1:])
    return origin[1] == host


def origin_allowed(
    origin_header: str | None, host_header: str | None, socket_scheme: str = "ws"
) -> bool:
    """Whether a handshake with these Origin and Host headers may open a socket."""
    host_header = (host_header or "").strip().lower()
    domain, _port = split_domain_port(host_header)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    origin = parse_origin(origin_header) if origin_header else None
    if origin is None:
        return False
    if any(_matches(origin, allowed) for allowed in configured_origins()):
        return True
    own = parse_origin(f"{PAGE_SCHEMES.get(socket_scheme, 'http')}://{host_header}")
    return own is not None and origin == own


class SiteOriginValidator:
    """ASGI middleware: open the websocket only for the site's own pages (origin_allowed)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        headers = {}
        for name, value in scope.get("headers") or ():
            headers.setdefault(name.lower(), value.decode("latin1"))
        if origin_allowed(headers.get(b"origin"), headers.get(b"host"), scope.get("scheme", "ws")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
