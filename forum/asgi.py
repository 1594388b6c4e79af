"""ASGI entry point: HTTP through Django, websockets through the room consumer."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "forum.settings")
# Django must be set up before the consumers (and the models they import) are loaded.
django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402

from realtime.origin import SiteOriginValidator  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from realtime.transport import SendBuffer  # noqa: E402

if settings.SERVE_STATIC:
    from forum.static_files import StaticFiles

    django_http = StaticFiles(django_http)

# A thousand sockets keep many long-lived objects, and with the default thresholds the
# fan-out's short-lived garbage set off a full collection every ~5 s that paused the whole
# process ~130 ms (p99 delivery 209 ms instead of ~80 ms; bench/README.md). Rarer young
# collections, and freezing what start-up allocated, keep those pauses off the hot path.
gc.set_threshold(int(os.environ.get("GC_THRESHOLD0", "100000")), 10, 10)
gc.freeze()

application = ProtocolTypeRouter(
    {
        "http": django_http,
        "websocket": SendBuffer(
            # Sessions only: the consumer finds the seat the session was signed in for, and its
            # room, in one database call (realtime/consumers.py: _join); AuthMiddleware would
            # take one more for a user the seat check does not need.
            SiteOriginValidator(SessionMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
