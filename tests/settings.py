"""Settings for the test suite: the product's settings with a test-only secret."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("AUDIT_KEY", "tests-only-audit-key-not-for-production-use-0123456789")
os.environ.setdefault("DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

# The secretariat's signing set: the development one, made once under the test data directory
# (the same files for every test process, so packages one process signs verify in another).
if not os.environ.get("SIGNING_KEY") and not os.environ.get("SIGNING_KEY_FILE"):
    from forum.minutes import keys as _keys

    _signing, _created = _keys.ensure_development_set(
        os.path.join(os.environ["DATA_DIR"], "signing")
    )
    os.environ["SIGNING_KEY_FILE"] = str(_signing[_keys.DEVELOPMENT_KEY])
    os.environ["SIGNING_CERT_FILE"] = str(_signing[_keys.DEVELOPMENT_CERT])
    os.environ["SIGNING_CERT_KEY_FILE"] = str(_signing[_keys.DEVELOPMENT_CERT_KEY])

from forum.settings import *  # noqa: E402,F401,F403
from forum.settings import ROUNDTABLES  # noqa: E402

# Hubs stop as soon as their last socket leaves, so tests do not leak tasks across loops.
ROUNDTABLES = {**ROUNDTABLES, "HUB_IDLE_SECONDS": 0.0, "PRESENCE_DEBOUNCE_SECONDS": 0.05}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# An on-disk test database: an in-memory one hides connection-closing bugs across threads.
DATABASES["default"].setdefault("TEST", {})  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = os.path.join(  # noqa: F405
        os.environ["DATA_DIR"], f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite3"
    )

# `make test` runs the in-process suite a second time on PostgreSQL (TEST_DATABASE=postgres):
# SQLite ignores FOR UPDATE and serialises all writers, which hides real bugs.
if os.environ.get("TEST_DATABASE") == "postgres":
    import dj_database_url

    DATABASES["default"] = dj_database_url.parse(  # noqa: F405
        os.environ.get("POSTGRES_TEST_URL", "postgres://postgres@127.0.0.1:5432/test")
    )
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 1, "max_size": 10, "timeout": 10}}  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_roundtables_{os.getpid()}"}  # noqa: F405

# Generous limits so that tests about other things can post in bulk; the tests of the
# limits themselves set tight ones with the `settings` fixture.
ROUNDTABLES = {**ROUNDTABLES, "POST_BURST": 10_000, "FRAME_BURST": 10_000}
