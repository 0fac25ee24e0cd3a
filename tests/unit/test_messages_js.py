"""shared/messages.js's sender checks, run under Node: who the background obeys."""

import json
import subprocess

from tests.conftest import ROOT

OWN = "demixer@example"
RECORDER = {"jobId": "j1", "tabId": 5, "frameId": 0}
PAGE_SCRIPT = {"id": OWN, "url": "https://site.example/watch", "tab": {"id": 5}, "frameId": 0}


def _node(expression: str):
    script = f"import('./extension/shared/messages.js').then((m) => console.log(JSON.stringify({expression})))"
    out = subprocess.run(["node", "-e", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_only_the_recorder_holding_the_token_in_its_tab_and_frame_is_obeyed():
    cases = {
        "the recorder": (PAGE_SCRIPT, RECORDER, True),
        "unknown token": (PAGE_SCRIPT, None, False),
        "another tab": ({**PAGE_SCRIPT, "tab": {"id": 6}}, RECORDER, False),
        "another frame": ({**PAGE_SCRIPT, "frameId": 3}, RECORDER, False),
        "another extension": ({**PAGE_SCRIPT, "id": "evil@example"}, RECORDER, False),
        "no tab (an extension page)": ({"id": OWN, "url": "moz-extension://x/popup.html"}, RECORDER, False),
    }
    calls = ",".join(
        f"m.isRecorderSender({json.dumps(sender)}, {json.dumps(OWN)}, {json.dumps(rec) if rec else 'undefined'})"
        for sender, rec, _ in cases.values()
    )
    results = _node(f"[{calls}]")
    assert dict(zip(cases, results, strict=True)) == {name: want for name, (_, _, want) in cases.items()}


def test_a_page_content_script_is_not_an_own_sender():
    """Everything but the recorder's two messages needs isOwnSender, which a page never is."""
    own = json.dumps("moz-extension://uuid/")
    popup = {"id": OWN, "url": "moz-extension://uuid/popup/popup.html"}
    results = _node(
        f"[m.isOwnSender({json.dumps(PAGE_SCRIPT)}, {json.dumps(OWN)}, {own}),"
        f" m.isOwnSender({json.dumps(popup)}, {json.dumps(OWN)}, {own}), m.RECORDER_MESSAGES]"
    )
    assert results == [False, True, ["record-chunk", "record-end"]]
