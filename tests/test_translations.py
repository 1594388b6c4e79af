"""Every interface string exists in Spanish, French and Portuguese.

The strings are gathered the way `make messages` gathers them (Django's makemessages, which
runs GNU xgettext over the code and templates) into a fresh catalog template in a scratch copy
of the sources; each catalog under locale/ must translate every one of them, none fuzzy, and
the compiled .mo files Django reads must say the same as the .po files.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.test import Client

from tests.support.services import require

REPO = Path(__file__).resolve().parent.parent
LANGUAGES = ("es", "fr", "pt")
SOURCES = ("forum", "realtime", "moderation", "templates", "manage.py")


def catalog(language: str) -> polib.POFile:
    return polib.pofile(str(REPO / "locale" / language / "LC_MESSAGES" / "django.po"))


@pytest.fixture(scope="module")
def interface_strings(tmp_path_factory) -> set[tuple[str, str]]:
    require(
        "GNU gettext",
        shutil.which("xgettext") is not None,
        "xgettext is missing (apt-get install gettext)",
    )
    scratch = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(
                source, scratch / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(source, scratch / name)
    (scratch / "locale").mkdir()
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "forum.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "xx", "--keep-pot", "--no-location"],
        cwd=scratch,
        env=env,
        check=True,
        capture_output=True,
    )
    pot = polib.pofile(str(scratch / "locale" / "django.pot"))
    return {(entry.msgctxt or "", entry.msgid) for entry in pot}


def test_the_interface_has_strings_to_translate(interface_strings):
    msgids = {msgid for _, msgid in interface_strings}
    for expected in (
        "Round tables",
        "Minutes",
        "What became of the recommendations",
        "Chatham House Rule",
    ):
        assert expected in msgids


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_interface_string_is_translated(interface_strings, language):
    entries = {(entry.msgctxt or "", entry.msgid): entry for entry in catalog(language)}
    missing = sorted(msgid for key in interface_strings if key not in entries for msgid in [key[1]])
    assert not missing, (
        f"{language}: {len(missing)} strings missing from the catalog, e.g. {missing[:5]}"
    )
    untranslated, fuzzy = [], []
    for key in interface_strings:
        entry = entries[key]
        texts = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(text.strip() for text in texts):
            untranslated.append(entry.msgid)
        if "fuzzy" in entry.flags:
            fuzzy.append(entry.msgid)
    assert not untranslated, (
        f"{language}: {len(untranslated)} untranslated, e.g. {sorted(untranslated)[:5]}"
    )
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy, e.g. {sorted(fuzzy)[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogs_match_the_sources(language):
    with open(REPO / "locale" / language / "LC_MESSAGES" / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in catalog(language).translated_entries():
        if entry.msgid_plural:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        assert compiled._catalog.get(key) == entry.msgstr, (
            f"{language}: run `make messages` ({entry.msgid!r})"
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"),
    [("es", "Idioma"), ("fr", "Langue"), ("pt", "Idioma"), ("en", "Language")],
)
def test_the_switcher_changes_the_interface_language(language, words):
    client = Client()
    response = client.post("/i18n/setlang/", {"language": language, "next": "/"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert f'<html lang="{language}">' in page and words in page
