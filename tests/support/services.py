"""Services the suite needs (Redis, PostgreSQL, Chromium): skip with the reason, or fail
when CI=true."""

from __future__ import annotations

import os

import pytest

CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(service: str, available: bool, reason: str) -> None:
    """Skip with a one-line reason when a real service is absent; fail instead under CI."""
    if available:
        return
    if CI:
        pytest.fail(f"{service} is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"{service} not available: {reason}")
