"""The site's own pages: home, the staff sign-in, the error pages and the health check."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from forum import selectors
from forum.minutes import signing

logger = logging.getLogger(__name__)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", {"message": _("This page does not exist.")}, status=404)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # A session opens the one seat its join link was for (none once that link has ended).
    seat = selectors.session_seat(request.session)
    return render(request, "home.html", {"seats": [seat] if seat else []})


class StaffSignInForm(AuthenticationForm):
    """Staff accounts only: a seat holder's account has no password and signs in with its
    join link, never here."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not (user.is_staff or user.is_superuser):
            raise forms.ValidationError(
                _(
                    "This page is for the secretariat's staff accounts. Delegates open "
                    "their personal join link."
                ),
                code="not_staff",
            )


class StaffSignIn(LoginView):
    """The product's own sign-in page for the secretariat; it leads to /secretariat/ (or to
    the page named by `next` on this site)."""

    template_name = "sign_in.html"
    authentication_form = StaffSignInForm


sign_in = never_cache(StaffSignIn.as_view())


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The admin's own login page is not the way in: staff sign in on the product's page,
    which leads back to the admin page they asked for."""
    target = request.GET.get("next") or "/admin/"
    return redirect(f"{reverse('sign_in')}?{urlencode({'next': target}, safe='/')}")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent from another site, or without its token (an expired page): refused, in
    the reader's language, with nothing changed."""
    return render(
        request,
        "403.html",
        {
            "message": _(
                "This form came from another site or has expired, so nothing was done. "
                "Reload the page and try again."
            ),
            # Signing in would not help: the form itself is stale.
            "no_sign_in": True,
        },
        status=403,
    )


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    # The hubs' prefix: channels-redis lets one receive() of a process wait on Redis at a time,
    # for its own prefix only; under another prefix this one would queue behind an idle
    # hub's receive until its 2 s ran out, and report a healthy layer down.
    channel = await layer.new_channel(prefix="hub")
    await layer.send(channel, {"type": "healthz.ping"})
    await asyncio.wait_for(layer.receive(channel), timeout=2)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: database check failed: %s", exc)
        checks["database"] = "error"
    try:
        async_to_sync(_layer_roundtrip)()
        checks["channel_layer"] = "ok"
    except Exception as exc:  # noqa: BLE001
        logger.warning("healthz: channel layer check failed: %s", exc)
        checks["channel_layer"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503
    )


@require_GET
def signing_key_pem(request: HttpRequest) -> HttpResponse:
    """The secretariat's public key (PEM), at a stable address a committee can bookmark."""
    pem = signing.public_key_pem()
    if pem is None:
        message = _("No signing key is configured.")
        return render(request, "404.html", {"message": message}, status=404)
    return HttpResponse(pem, content_type="application/x-pem-file; charset=us-ascii")


@require_GET
def signing_key_page(request: HttpRequest) -> HttpResponse:
    """What the signing key is for, its fingerprint, and how to check a package with it."""
    return render(
        request,
        "signing_key.html",
        {"fingerprint": signing.key_fingerprint(), "pem_path": signing.PUBLIC_KEY_PATH},
    )
