"""Daphne's own /static/ (SERVE_STATIC), answering 404 to any path it will not serve.

Django's handler answers 500 to a path that resolves outside the static directories
(`/static/%2e%2e/forum/settings.py`: SuspiciousFileOperation is raised outside the request
handling that would turn it into a 400). Such a path names no file of ours: 404.
"""

from __future__ import annotations

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.http import Http404


class StaticFiles(ASGIStaticFilesHandler):
    def serve(self, request):
        try:
            return super().serve(request)
        except (SuspiciousOperation, ValueError, OSError) as exc:
            # ValueError: a NUL byte in the path; OSError: a name the file system refuses.
            raise Http404("No such static file.") from exc
