"""User-visible text lives in _locales: every key the code names exists in every locale."""

from __future__ import annotations

import json
import re

from tests.conftest import ROOT

EXTENSION = ROOT / "extension"
LOCALES = EXTENSION / "_locales"


def _messages(lang: str) -> dict[str, dict]:
    return json.loads((LOCALES / lang / "messages.json").read_text(encoding="utf-8"))


def _keys_used() -> dict[str, str]:
    used: dict[str, str] = {}
    for path in sorted(EXTENSION.rglob("*")):
        if path.suffix not in {".js", ".html"} or "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for key in re.findall(r"\bt\(\s*'([A-Za-z0-9_]+)'", text):
            used.setdefault(key, str(path.relative_to(ROOT)))
        for key in re.findall(r'data-i18n(?:-label|-title|-placeholder)?="([A-Za-z0-9_]+)"', text):
            used.setdefault(key, str(path.relative_to(ROOT)))
    return used


def test_every_key_the_code_names_is_in_english():
    english = _messages("en")
    missing = {key: where for key, where in _keys_used().items() if key not in english}
    assert not missing, missing


def test_every_locale_has_the_same_keys_and_placeholders_as_english():
    english = _messages("en")
    for folder in sorted(LOCALES.iterdir()):
        other = _messages(folder.name)
        assert set(other) == set(english), (folder.name, set(other) ^ set(english))
        for key, entry in english.items():
            assert other[key]["message"].strip(), (folder.name, key)
            assert sorted(re.findall(r"\$\d", other[key]["message"])) == sorted(
                re.findall(r"\$\d", entry["message"])
            ), (folder.name, key)
