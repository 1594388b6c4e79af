from django.apps import AppConfig
from django.core.signals import request_finished
from django.db import connections


def close_request_connections(**kwargs) -> None:
    """Under ASGI every HTTP request runs its sync code in a thread of its own, which ends
    with the request: close what it opened, whatever CONN_MAX_AGE says. The websocket
    path's one database thread sends no request_finished and keeps its connection."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close()


class ForumConfig(AppConfig):
    name = "forum"
    verbose_name = "Round tables"

    def ready(self) -> None:
        request_finished.connect(
            close_request_connections, dispatch_uid="roundtables-close-request-connections"
        )
