"""Sync mode's pure parts under Node: the media timeline (pages, contiguous runs, bounds), the
init-segment test of the segment decoder, and the player's wall-clock bridge."""

import json
import subprocess

from tests.conftest import ROOT
from tests.node_tree import node_tree


def _node(script: str):
    prelude = (
        "import { MediaTimeline, PAGE_SAMPLES } from './extension/sync/media-timeline.js';"
        "import { contextTimeAt } from './extension/sync/synced-player.js';"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", prelude + script],
                         cwd=node_tree(), capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return json.loads(out.stdout)


def test_timeline_places_samples_and_knows_its_contiguous_runs():
    result = _node(
        "const t = new MediaTimeline(44100, 4);"
        "const ramp = (n, from) => { const a = new Float32Array(n);"
        " for (let i = 0; i < n; i++) a[i] = from + i; return [a, a]; };"
        "t.write(-10, ramp(PAGE_SAMPLES + 110, 0));"  # the first 10 samples are before 0: dropped
        "const out = [new Float32Array(5), new Float32Array(5)];"
        "t.read(PAGE_SAMPLES - 2, out);"
        "const end = t.filledFrom(0);"
        "const beyond = [new Float32Array(3), new Float32Array(3)]; t.read(end, beyond);"
        "t.write(3 * PAGE_SAMPLES, ramp(10, 0)); t.write(5 * PAGE_SAMPLES, ramp(10, 0));"  # a 5th page: one dropped
        "t.focus = 0; t.write(7 * PAGE_SAMPLES, ramp(10, 0));"
        "console.log(JSON.stringify({out: Array.from(out[0]), end, beyond: Array.from(beyond[1]),"
        " pages: [...t.pages.keys()].sort((a, b) => a - b), page: PAGE_SAMPLES}));"
    )
    page = result["page"]
    assert result["out"] == [page + 8, page + 9, page + 10, page + 11, page + 12]
    assert result["end"] == page + 100  # contiguous from 0 to the end of what was written
    assert result["beyond"] == [0, 0, 0]
    assert result["pages"] == [0, 1, 3, 7]  # bounded to 4 pages, the farthest from the focus dropped


def test_wall_time_maps_to_the_context_clock():
    result = _node(
        "console.log(JSON.stringify(["
        " contextTimeAt({contextTime: 10, performanceTime: 5000}, 1e12, 1e12 + 5250),"
        " contextTimeAt({contextTime: 10, performanceTime: 5000}, 1e12, 1e12 + 4900)]));"
    )
    assert abs(result[0] - 10.25) < 1e-9 and abs(result[1] - 9.9) < 1e-9


def test_firefox_output_timestamp_gives_the_performance_time_its_latency_back():
    """Firefox answers (currentTime - outputLatency, now - outputLatency): the pair is corrected to
    (currentTime - outputLatency, now), what Chrome answers and the spec describes."""
    script = (
        "import { outputTimestamp } from './extension/platform/firefox/output-timestamp.js';"
        "const stamp = {contextTime: 5.6137, performanceTime: 7976.5};"
        "const context = { outputLatency: 0.0345, getOutputTimestamp: () => stamp };"
        "console.log(JSON.stringify(outputTimestamp(context)));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    stamp = json.loads(out.stdout)
    assert stamp["contextTime"] == 5.6137
    assert abs(stamp["performanceTime"] - 8011.0) < 1e-9
