"""inference/live-priority.js under Node: while a live session holds the cores, an offline job's
model runs wait (one 'paused' for a pool's runs side by side, one 'resumed'), a run in flight is
not held, a waiting job can be cancelled, and nothing waits once every hold is released."""

import json
import subprocess

from tests.node_tree import NODE, node_tree

SCRIPT = """
import { givingWayToLive, holdForLive, liveHolds } from './extension/inference/live-priority.js';
const log = [];
const runner = {
  threads: 2,
  run: async (data) => { log.push(`run ${data[0]}`); return data; },
  runNamed: async () => { log.push('runNamed'); return {}; },
  release: async () => {},
};
const tick = () => new Promise((r) => setTimeout(r, 20));
const job = new AbortController();
const gated = givingWayToLive(runner, job.signal, (paused) => log.push(paused ? 'paused' : 'resumed'));
await gated.run([0]);                      // no live session: runs at once
const release = holdForLive();
const second = holdForLive();              // two holds (a restart overlapping the end): both must go
const a = gated.run([1]);
const b = gated.run([2]);                  // a pool's second worker waits beside the first
await tick();
log.push(`held ${liveHolds()}`);
release();
release();                                 // twice is once
await tick();
log.push(`one hold left ${liveHolds()}`);
second();
await Promise.all([a, b]);
await gated.runNamed({});
const other = new AbortController();
const cancelled = givingWayToLive(runner, other.signal, (paused) => log.push(paused ? 'paused 2' : 'resumed 2'));
const end = holdForLive();
const waiting = cancelled.run([3]).catch((e) => log.push(`refused: ${e.constructor.name}`));
await tick();
other.abort();
await waiting;
end();
await tick();
console.log(JSON.stringify({ log, threads: gated.threads, holds: liveHolds() }));
"""


def test_offline_runs_wait_for_live_and_can_be_cancelled_meanwhile():
    out = subprocess.run([*NODE, "--input-type=module", "-e", SCRIPT], cwd=node_tree(),
                         capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    result = json.loads(out.stdout)
    assert result["log"] == [
        "run 0",
        "paused",  # once for both waiting runs
        "held true",
        "one hold left true",  # the first session's double release left the second's hold
        "resumed",
        "run 1",
        "run 2",
        "runNamed",
        "paused 2",
        "refused: CancelledError",  # its run never reached the model
    ], result["log"]
    assert result["threads"] == 2 and result["holds"] is False
