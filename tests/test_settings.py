"""forum/settings.py, imported in a fresh interpreter with a controlled environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

DUMP = """
import json
import forum.settings as s
db = s.DATABASES["default"]
layer = s.CHANNEL_LAYERS["default"]
print(json.dumps({
    "debug": s.DEBUG,
    "secret_key": s.SECRET_KEY,
    "engine": db["ENGINE"],
    "db_name": str(db["NAME"]),
    "db_host": db.get("HOST"),
    "db_port": db.get("PORT"),
    "db_user": db.get("USER"),
    "layer": layer["BACKEND"],
    "layer_config": layer.get("CONFIG", {}),
    "allowed_hosts": s.ALLOWED_HOSTS,
    "base_url": s.BASE_URL,
    "hub_poll_seconds": s.ROUNDTABLES["HUB_POLL_SECONDS"],
}, default=str))
"""


def run_settings(
    env: dict[str, str], code: str = "import forum.settings"
) -> subprocess.CompletedProcess:
    # A clean environment: only what the test names (and PATH).
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(tmp_path: Path, **env: str) -> dict:
    env = {
        "SECRET_KEY": "a-test-secret-that-is-long-enough-0123456789",
        "AUDIT_KEY": "a-test-audit-key-that-is-long-enough-0123456789",
        "DATA_DIR": str(tmp_path),
        **env,
    }
    result = run_settings(env, DUMP)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refusal(result: subprocess.CompletedProcess) -> str:
    """The last line of the traceback: the exception and its message."""
    assert result.returncode != 0, "settings imported although they should have been refused"
    return result.stderr.strip().splitlines()[-1]


def test_without_secret_key_and_debug_off_the_settings_refuse_to_load():
    result = run_settings({"DEBUG": "0"})
    last = refusal(result)
    assert "ImproperlyConfigured" in last
    assert "SECRET_KEY" in last


def test_debug_is_off_by_default_so_a_missing_secret_key_is_refused():
    last = refusal(run_settings({}))
    assert "ImproperlyConfigured" in last and "SECRET_KEY" in last


def test_a_blank_secret_key_counts_as_missing():
    last = refusal(run_settings({"DEBUG": "0", "SECRET_KEY": "   "}))
    assert "SECRET_KEY" in last


def test_the_development_key_itself_is_refused_when_debug_is_off():
    # Someone who copied the key out of the source must not get a production that signs with it.
    from forum.settings import DEV_SECRET_KEY

    last = refusal(run_settings({"DEBUG": "0", "SECRET_KEY": DEV_SECRET_KEY}))
    assert "SECRET_KEY" in last


def test_debug_on_allows_the_development_key(tmp_path):
    settings = load(tmp_path, DEBUG="1", SECRET_KEY="")
    assert settings["debug"] is True
    assert settings["secret_key"].startswith("dev-only")


def test_without_audit_key_and_debug_off_the_settings_refuse_to_load(tmp_path):
    env = {"DEBUG": "0", "SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path)}
    last = refusal(run_settings(env))
    assert "ImproperlyConfigured" in last and "AUDIT_KEY" in last


@pytest.mark.parametrize(
    "key", ["   ", "short-key", "dev-only-insecure-audit-key-do-not-use-in-production"]
)
def test_a_blank_short_or_development_audit_key_is_refused_when_debug_is_off(tmp_path, key):
    env = {"DEBUG": "0", "SECRET_KEY": "x" * 50, "AUDIT_KEY": key, "DATA_DIR": str(tmp_path)}
    last = refusal(run_settings(env))
    assert "AUDIT_KEY" in last


def test_debug_on_allows_the_development_audit_key_and_old_keys_are_a_list(tmp_path):
    code = DUMP.replace(
        '"debug": s.DEBUG,', '"debug": s.DEBUG, "audit": [s.AUDIT_KEY, s.AUDIT_OLD_KEYS],'
    )
    env = {"DEBUG": "1", "DATA_DIR": str(tmp_path), "AUDIT_OLD_KEYS": " old-one , old-two,"}
    result = run_settings(env, code)
    assert result.returncode == 0, result.stderr
    key, old = json.loads(result.stdout)["audit"]
    assert key.startswith("dev-only") and old == ["old-one", "old-two"]


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_a_bad_boolean_in_debug_is_refused_with_a_clear_message(tmp_path, value):
    last = refusal(
        run_settings({"DEBUG": value, "SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path)})
    )
    assert "ImproperlyConfigured" in last
    assert "DEBUG" in last
    assert "boolean" in last
    assert value in last


@pytest.mark.parametrize(
    "value,expected", [("1", True), ("true", True), ("Yes", True), ("off", False), ("0", False)]
)
def test_debug_accepts_the_usual_spellings_of_a_boolean(tmp_path, value, expected):
    assert load(tmp_path, DEBUG=value)["debug"] is expected


def test_a_bad_integer_is_refused_with_a_message_naming_the_variable(tmp_path):
    env = {"SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path), "CONN_MAX_AGE": "forever"}
    last = refusal(run_settings(env))
    assert "ImproperlyConfigured" in last and "CONN_MAX_AGE" in last


def test_a_bad_number_in_hub_poll_seconds_is_refused_with_a_message_naming_the_variable(tmp_path):
    env = {"SECRET_KEY": "x" * 50, "DATA_DIR": str(tmp_path), "HUB_POLL_SECONDS": "often"}
    last = refusal(run_settings(env))
    assert "ImproperlyConfigured" in last and "HUB_POLL_SECONDS" in last


def test_without_redis_url_the_in_memory_channel_layer_is_used(tmp_path):
    settings = load(tmp_path)
    assert settings["layer"] == "channels.layers.InMemoryChannelLayer"


def test_with_redis_url_the_pooled_redis_channel_layer_is_used(tmp_path):
    settings = load(tmp_path, REDIS_URL="redis://127.0.0.1:6379/15")
    assert settings["layer"] == "realtime.layers.PooledRedisChannelLayer"
    config = settings["layer_config"]
    assert config["hosts"] == ["redis://127.0.0.1:6379/15"]
    assert config["max_connections"] >= 1


def test_the_pooled_layer_class_can_be_imported_from_its_setting():
    from django.utils.module_loading import import_string

    from realtime.layers import PooledRedisChannelLayer

    assert import_string("realtime.layers.PooledRedisChannelLayer") is PooledRedisChannelLayer


def test_a_blank_redis_url_means_in_memory(tmp_path):
    assert load(tmp_path, REDIS_URL="  ")["layer"] == "channels.layers.InMemoryChannelLayer"


def test_a_postgres_database_url_selects_the_postgresql_engine(tmp_path):
    settings = load(tmp_path, DATABASE_URL="postgres://roundtables@127.0.0.1:5432/roundtables_prod")
    assert settings["engine"] == "django.db.backends.postgresql"
    assert settings["db_name"] == "roundtables_prod"
    assert settings["db_host"] == "127.0.0.1"
    assert str(settings["db_port"]) == "5432"
    assert settings["db_user"] == "roundtables"


def test_without_database_url_an_sqlite_file_under_data_dir_is_used(tmp_path):
    settings = load(tmp_path)
    assert settings["engine"] == "django.db.backends.sqlite3"
    assert Path(settings["db_name"]).parent == tmp_path
    assert tmp_path.is_dir()


def test_allowed_hosts_and_base_url_come_from_the_environment(tmp_path):
    settings = load(
        tmp_path,
        ALLOWED_HOSTS="rt.example.org, www.rt.example.org ,",
        BASE_URL="https://rt.example.org/",
    )
    assert settings["allowed_hosts"] == ["rt.example.org", "www.rt.example.org"]
    assert settings["base_url"] == "https://rt.example.org"


def test_the_defaults_serve_localhost_only(tmp_path):
    settings = load(tmp_path)
    assert set(settings["allowed_hosts"]) == {"127.0.0.1", "localhost", "[::1]"}
    assert settings["base_url"] == "http://127.0.0.1:8000"
