"""shared/names.js (file names from untrusted titles and URLs), run under Node."""

import json
import subprocess

import pytest

from tests.conftest import DATA, ROOT

CASES = json.loads((DATA / "file-names.json").read_text())["cases"]  # shared with test_names.py


def _node(expression: str):
    script = f"import('./extension/shared/names.js').then((m) => console.log(JSON.stringify({expression})))"
    out = subprocess.run(["node", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_safe_file_name():
    results = _node(f"{json.dumps([name for name, _, _ in CASES])}.map(m.safeFileName)")
    wrong = [(why, expected, got) for (_, expected, why), got in zip(CASES, results, strict=True) if got != expected]
    assert not wrong


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://cdn.example/music/My%20Song.mp3?token=1", "My Song"),
        ("https://example.org/", "example.org"),
        ("not a url", "audio"),
        ("https://example.org/song%E2%80%AEgnp.exe.mp3", "songgnp.exe"),  # U+202E: would display "songexe.png"
    ],
)
def test_name_from_url(url, name):
    assert _node(f"m.nameFromUrl({json.dumps(url)})") == name
