"""Keys in _locales/en that another locale lacks (or has with other placeholders), per locale,
with the English text to translate: the merge step after branches added `en` keys.

    .venv/bin/python scripts/missing_translations.py          # list; exit 1 if any is missing
    .venv/bin/python scripts/missing_translations.py --json   # {locale: {key: english}} to fill in

tests/structure/test_i18n.py fails on the same keys."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "extension" / "_locales"


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\$\d|\$[A-Za-z_]+\$", text))


def missing() -> dict[str, dict[str, str]]:
    english = json.loads((LOCALES / "en" / "messages.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {}
    for folder in sorted(p for p in LOCALES.iterdir() if p.name != "en"):
        other = json.loads((folder / "messages.json").read_text(encoding="utf-8"))
        todo = {
            key: entry["message"]
            for key, entry in english.items()
            if key not in other or _placeholders(other[key]["message"]) != _placeholders(entry["message"])
        }
        extra = sorted(set(other) - set(english))
        if todo or extra:
            out[folder.name] = {**todo, **{key: "(not in en: remove)" for key in extra}}
    return out


def main() -> int:
    found = missing()
    if "--json" in sys.argv[1:]:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    else:
        for locale, keys in found.items():
            print(f"{locale}: {len(keys)} to translate")
            for key, english in keys.items():
                print(f"  {key}: {english}")
        if not found:
            print("every locale has every key of en")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
