"""shared/store.js under Node, on a fake IndexedDB whose transactions are never answered (seen in
Firefox on a full disk, where a job then stayed "running" for ever): every call must still end,
with an error the user can read. Timers run 1000x faster so the minute-long bound takes 60 ms."""

import json
import subprocess

import pytest

from tests.node_tree import NODE, node_tree

SCRIPT = """
const realSetTimeout = globalThis.setTimeout;
globalThis.setTimeout = (fn, ms = 0, ...rest) => realSetTimeout(fn, ms / 1000, ...rest);
const ANSWER_ABORT = %(answer_abort)s;
const transaction = () => {
  const tx = { error: null, objectStore: () => ({ put: () => ({}), delete: () => ({}), get: () => ({}) }) };
  tx.abort = () => { if (ANSWER_ABORT) realSetTimeout(() => tx.onabort?.(), 1); };
  return tx;
};
const database = { transaction, close() {} };
globalThis.indexedDB = {
  open() {
    const request = { result: database };
    realSetTimeout(() => request.onsuccess?.(), 1);
    return request;
  },
};
Object.defineProperty(globalThis, 'navigator', {
  value: { storage: { estimate: () => new Promise(() => {}) } },  // unanswered too
});
const store = await import('./extension/shared/store.js');
const calls = {
  putChunk: () => store.putChunk('job', 'vocals', 0, new Blob([new Uint8Array(8)])),
  getInput: () => store.getInput('job'),
  deleteJobData: () => store.deleteJobData('job'),
};
const outcomes = {};
const guard = realSetTimeout(() => { console.log(JSON.stringify({ hung: true, outcomes })); process.exit(0); }, 5000);
for (const [name, call] of Object.entries(calls)) {
  outcomes[name] = await call().then(() => 'resolved', (e) => `rejected: ${e.message}`);
}
clearTimeout(guard);
console.log(JSON.stringify({ hung: false, outcomes }));
"""


@pytest.mark.parametrize("answer_abort", [True, False], ids=["abort-answered", "abort-unanswered"])
def test_a_transaction_the_browser_never_answers_fails_instead_of_hanging(answer_abort):
    script = SCRIPT % {"answer_abort": json.dumps(answer_abort)}
    out = subprocess.run(
        [*NODE, "--input-type=module", "-e", script],
        cwd=node_tree(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result = json.loads(out.stdout)
    assert not result["hung"], result
    for name, outcome in result["outcomes"].items():
        assert outcome == "rejected: Storage did not answer: try again, or restart the browser if it goes on.", name
