"""shared/names.js (file names from untrusted titles and URLs), run under Node."""

import json
import subprocess

import pytest

from tests.conftest import ROOT

CASES = {
    "../../etc/passwd": "_.._etc_passwd",  # no separator left: cannot leave the download folder
    'a/b\\c:d*e?f"g<h>i|j': "a_b_c_d_e_f_g_h_i_j",
    "bell\x07and\nnewline": "bell_and_newline",
    "  .hidden.  ": "hidden",
    "CON": "track_CON",
    "lpt1.wav": "track_lpt1.wav",
    "": "track",
    "...": "track",
    "x" * 300: "x" * 120,
    "Señor – “Live”": "Señor – “Live”",
}


def _node(expression: str):
    script = f"import('./extension/shared/names.js').then((m) => console.log(JSON.stringify({expression})))"
    out = subprocess.run(["node", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_safe_file_name():
    results = _node(f"{json.dumps(list(CASES))}.map(m.safeFileName)")
    assert dict(zip(CASES, results, strict=True)) == CASES


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://cdn.example/music/My%20Song.mp3?token=1", "My Song"),
        ("https://example.org/", "example.org"),
        ("not a url", "audio"),
    ],
)
def test_name_from_url(url, name):
    assert _node(f"m.nameFromUrl({json.dumps(url)})") == name
