"""Where a live hop's time goes (extension/inference/live-timing.js, under Node): the per-hop
figures the health reports and the bench records, which tell an underrun from one long hop apart
from one from a queue."""

import json
import subprocess

from tests.conftest import ROOT

SCRIPT = """
import { createHopLog } from './extension/inference/live-timing.js';
const log = createHopLog();
const empty = log.stats();
for (const [processS, startLagS, slackS] of JSON.parse(process.argv[1])) log.add(processS, startLagS, slackS);
console.log(JSON.stringify([empty, log.stats()]));
"""


def stats(hops):
    out = subprocess.run(["node", "--input-type=module", "-e", SCRIPT, json.dumps(hops)], cwd=ROOT,
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout)


def test_hop_figures_median_tail_and_late_hops():
    # 20 hops of 0.4 s with slack 0.5 s, then one of 1.2 s that came in 0.1 s late and a queued
    # one that started with 0.3 s waiting and was 0.05 s late.
    hops = [[0.4, 0.0, 0.5]] * 20 + [[1.2, 0.0, -0.1], [0.45, 0.3, -0.05]]
    empty, got = stats(hops)
    assert empty == {"hops": 0, "processP50S": 0, "processP95S": 0, "processMaxS": 0, "startLagMaxS": 0,
                     "slackMinS": 0, "lateHops": 0}  # fmt: skip
    assert got == {"hops": 22, "processP50S": 0.4, "processP95S": 0.45, "processMaxS": 1.2, "startLagMaxS": 0.3,
                   "slackMinS": -0.1, "lateHops": 2}  # fmt: skip
