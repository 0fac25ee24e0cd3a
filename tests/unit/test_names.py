"""builder/names.py: the Python twin of the extension's file-name rule, on the shared table."""

import json

import pytest

from builder.names import graphemes, safe_file_name
from tests.conftest import DATA

CASES = json.loads((DATA / "file-names.json").read_text())["cases"]  # shared with test_names_js.py


@pytest.mark.parametrize(("name", "expected"), [(n, e) for n, e, _ in CASES], ids=[why for _, _, why in CASES])
def test_safe_file_name(name, expected):
    assert safe_file_name(name) == expected


def test_graphemes_keep_marks_flags_and_emoji_sequences_whole():
    text = "q\u0301\U0001f1eb\U0001f1f7\U0001f1e9\U0001f468\u200d\U0001f469\u2764\ufe0f\U0001f44d\U0001f3fd"
    assert graphemes(text) == ["q\u0301", "\U0001f1eb\U0001f1f7", "\U0001f1e9", "\U0001f468\u200d\U0001f469",
                               "\u2764\ufe0f", "\U0001f44d\U0001f3fd"]  # fmt: skip
