"""Live (issue #33): the playback worklet (extension/inference/live-worklets.js, under Node with a
stand-in AudioWorkletGlobalScope). From the first frame of the tab it plays the original as it
comes; once the stems of the frames due at `delay` are written it cross-fades to them (equal
power), and plays source frame m - delay at render frame m from then on; it never renders
silence for sound; the capture skips the stream's leading zeros."""

import json
import subprocess

import numpy as np

from tests.conftest import ROOT

SCRIPT = """
const processors = {};
globalThis.AudioWorkletProcessor = class {};
globalThis.registerProcessor = (name, cls) => { processors[name] = cls; };
await import('./extension/inference/live-worklets.js');
const { HEALTH } = await import('./extension/inference/live-buffers.js');
const [quanta, stemsReadyAt, leadZeros] = JSON.parse(process.argv[1]);
const Q = 128, hop = 256, latency = 64, delay = 1024, fade = 256, nbStems = 2, nbSlots = 16;
const capacity = nbSlots * hop;
const shared = {
  ring: new SharedArrayBuffer(2 * capacity * 4), state: new SharedArrayBuffer(4),
  stems: new SharedArrayBuffer(nbStems * 2 * capacity * 4), stamps: new SharedArrayBuffer(nbSlots * 4),
  gains: new SharedArrayBuffer(nbStems * 4), health: new SharedArrayBuffer(HEALTH.LENGTH * 4),
};
new Float32Array(shared.gains).set([1, 1]);
const capture = new processors['demixer-capture']({ processorOptions: {
  ring: shared.ring, state: shared.state, capacity, leadFrames: 4 * Q } });
const playback = new processors['demixer-playback']({ processorOptions: {
  stems: shared.stems, stamps: shared.stamps, gains: shared.gains, health: shared.health, record: null,
  captureState: shared.state, nbStems, capacity, hop, latency, delay, fade } });
const stems = new Float32Array(shared.stems), stamps = new Int32Array(shared.stamps);
// The tab: source frame f is 1 + f / 1e4 (left) after `leadZeros` quanta of zeros.
const source = (n) => (n < leadZeros * Q ? 0 : 1 + (n - leadZeros * Q) / 1e4);
// Stems: vocals 0.25 of the source, accompaniment 0.75 (they sum to it), written for every block
// once the render clock reaches stemsReadyAt.
const out = [];
let written = 0;
for (let q = 0; q < quanta; q++) {
  const input = [0, 1].map(() => Float32Array.from({ length: Q }, (_, i) => source(q * Q + i)));
  const mid = [new Float32Array(Q), new Float32Array(Q)];
  capture.process([input], [mid]);
  const captured = Atomics.load(new Int32Array(shared.state), 0);
  if (q * Q >= stemsReadyAt) {
    for (; (written + 1) * hop <= captured; written++) {
      for (let j = 0; j < hop; j++) {
        const f = written * hop - latency + j;
        if (f < 0) continue;
        const x = 1 + f / 1e4;
        for (let s = 0; s < 2; s++) for (let c = 0; c < 2; c++)
          stems[s * capacity * 2 + (f % capacity) * 2 + c] = (s === 0 ? 0.25 : 0.75) * x;
      }
      Atomics.store(stamps, written % nbSlots, written + 1);
    }
  }
  const o = [new Float32Array(Q), new Float32Array(Q)];
  playback.process([mid], [o]);
  out.push(...o[0]);
}
console.log(JSON.stringify({ out, switched: Atomics.load(new Int32Array(shared.health), HEALTH.SWITCHED),
  underruns: Atomics.load(new Int32Array(shared.health), HEALTH.UNDERRUNS) }));
"""

Q, DELAY, FADE = 128, 1024, 256


def play(quanta: int, stems_ready_at: int, lead_zeros: int = 0):
    args = json.dumps([quanta, stems_ready_at, lead_zeros])
    out = subprocess.run(["node", "--input-type=module", "-e", SCRIPT, args], cwd=ROOT, check=True,
                         capture_output=True, text=True)  # fmt: skip
    result = json.loads(out.stdout)
    return np.array(result["out"]), result["switched"], result["underruns"]


def source(frames):
    return 1 + np.arange(frames) / 1e4


def test_the_original_plays_as_it_comes_then_cross_fades_to_the_delayed_stems():
    out, switched, underruns = play(64, stems_ready_at=3000)
    # Before the stems: the original of the same render frame (the tab never goes silent).
    assert switched > 0 and switched % Q == 0 and switched >= 3000
    assert np.allclose(out[:switched], source(switched), atol=1e-6)
    # After the fade: source frame m - delay at render frame m (the stems summed: the original).
    m = np.arange(switched + FADE, len(out))
    assert np.allclose(out[m], 1 + (m - DELAY) / 1e4, atol=1e-6)
    # The fade: equal power between the two timelines, never below either's level here.
    x = (np.arange(FADE) + 0.5) / FADE
    m = switched + np.arange(FADE)
    expected = np.cos(0.5 * np.pi * x) * (1 + m / 1e4) + np.sin(0.5 * np.pi * x) * (1 + (m - DELAY) / 1e4)
    assert np.allclose(out[m], expected, atol=1e-5)
    assert out.min() > 0.9 and underruns == 0


def test_stems_ready_from_the_start_switch_as_soon_as_the_delay_is_filled():
    _, switched, _ = play(32, stems_ready_at=0)
    assert switched == DELAY  # the first render quantum whose delayed frames exist


def test_the_streams_leading_zeros_are_skipped_for_a_while():
    out, switched, _ = play(48, stems_ready_at=0, lead_zeros=2)
    assert np.all(out[: 2 * Q] == 0)  # nothing of the tab yet: nothing counted
    assert np.allclose(out[2 * Q : 2 * Q + DELAY], source(DELAY), atol=1e-6)  # frame 0 is the first sound
    assert switched == DELAY
