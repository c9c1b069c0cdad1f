"""The Chinese catalogues agree with each other and with their sources.

Django merges every app's catalogue and the project's into one table per language: when two catalogues
translate the same English text differently, one of them silently wins everywhere (the project's, then the
app listed first in INSTALLED_APPS), so a word another app meant differently shows the wrong Chinese —
"title" as a contact's 职务 on a risk case, "order" as a stage's 顺序 on a sales order. A text that means
different things in different places takes a context (`pgettext_lazy("risk case", "title")`,
`{% translate "Title" context "risk case" %}`); a text that means the same takes the same translation.
"""

from __future__ import annotations

import gettext
import shutil
import subprocess
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

LANGUAGE = "zh_Hans"


def _catalogues() -> list[tuple[str, Path]]:
    """(name, .po path) in Django's precedence order: the project's first, then the apps in INSTALLED_APPS order."""
    found: list[tuple[str, Path]] = []
    for locale_path in settings.LOCALE_PATHS:
        po = Path(locale_path) / LANGUAGE / "LC_MESSAGES" / "django.po"
        if po.exists():
            found.append(("project", po))
    for config in apps.get_app_configs():
        if not config.name.startswith("kamguard."):
            continue
        po = Path(config.path) / "locale" / LANGUAGE / "LC_MESSAGES" / "django.po"
        if po.exists():
            found.append((config.label, po))
    return found


def _table(mo: Path) -> dict[str, str]:
    with mo.open("rb") as handle:
        translations = gettext.GNUTranslations(handle)
    return {key: value for key, value in translations._catalog.items()  # type: ignore[attr-defined]
            if isinstance(key, str) and key}


def test_the_catalogues_are_found() -> None:
    names = [name for name, _po in _catalogues()]
    assert "project" in names and "customers" in names and "risk" in names


def test_no_text_is_translated_two_ways() -> None:
    seen: dict[str, tuple[str, str]] = {}
    clashes: list[str] = []
    for name, po in _catalogues():
        for key, value in _table(po.with_suffix(".mo")).items():
            if key in seen and seen[key][1] != value:
                context, _sep, text = key.rpartition("\x04")
                label = f"{text!r}" + (f" (context {context!r})" if context else "")
                clashes.append(f"{label}: {seen[key][0]} says {seen[key][1]!r}, {name} says {value!r}")
            seen.setdefault(key, (name, value))
    assert not clashes, (
        "The same English text is translated differently by two catalogues; the first one wins everywhere. "
        "Give one of them a context (pgettext) if the meanings differ, or the same translation:\n  "
        + "\n  ".join(clashes))


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (gettext) is not installed")
def test_every_compiled_catalogue_matches_its_source(tmp_path: Path) -> None:
    stale: list[str] = []
    for name, po in _catalogues():
        fresh = tmp_path / f"{name}.mo"
        subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(po)], check=True)
        if _table(fresh) != _table(po.with_suffix(".mo")):
            stale.append(str(po))
    assert not stale, "Compile these catalogues again (msgfmt -o django.mo django.po):\n  " + "\n  ".join(stale)
