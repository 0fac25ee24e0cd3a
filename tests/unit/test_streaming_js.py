"""The streamed spectral path (inference/samples.js + families/spectral-masks.js spectralBlocks) under Node: however the
decoded input arrives in chunks, the stems are the same, and complementary masks give the input
back (the STFT/iSTFT pair reconstructs it), to the last sample."""

import json
import subprocess

import numpy as np
import pytest

from tests.node_tree import staged_script

SCRIPT = """
import { SampleWindow } from './inference/samples.js';
import { spectralBlocks } from './inference/families/spectral-masks.js';
import fs from 'node:fs';
const x = new Float32Array(fs.readFileSync('x.f32').buffer.slice(0));
const n = x.length / 2;
const sizes = JSON.parse(process.argv[2]);  // chunk lengths, cycled
async function* chunks() {
  for (let at = 0, i = 0; at < n; i++) {
    const size = Math.min(sizes[i % sizes.length], n - at);
    yield [x.slice(at, at + size), x.slice(n + at, n + at + size)];
    at += size;
  }
}
const descriptor = {
  stems: ['a', 'b'], nbChannels: 2, maskExtension: 'average',
  stft: { nFft: 256, nHop: 64, nbFrames: 16, nbBins: 64 },
};
// Masks that depend on the input (a chunking error shows) and on the whole patch (stale padding
// shows), complementary across the two stems. With 'recycle', run() hands out buffers that
// recycle() took back, poisoned: masks read after being handed back would show.
const recycling = process.argv[3] === 'recycle';
/** @type {Float32Array[]} */
const spare = [];
const runner = {
  run: async (data, dims) => {
    const [P, C, T, F] = dims;
    const size = P * 2 * C * T * F;
    const reused = spare.findIndex((a) => a.length === size);
    const out = reused >= 0 ? spare.splice(reused, 1)[0] : new Float32Array(size);
    for (let p = 0; p < P; p++) {
      let mean = 0;
      for (let i = 0; i < C * T * F; i++) mean += data[p * C * T * F + i] / (C * T * F);
      for (let i = 0; i < C * T * F; i++) {
        const m = data[p * C * T * F + i] / (data[p * C * T * F + i] + 0.5 + mean);
        out[(p * 2) * C * T * F + i] = m;
        out[(p * 2 + 1) * C * T * F + i] = 1 - m;
      }
    }
    return out;
  },
  recycle: recycling ? (result) => spare.push(result.fill(NaN)) : undefined,
};
const stems = [[[], []], [[], []]];
for await (const block of spectralBlocks(new SampleWindow(chunks()), descriptor, runner, () => {})) {
  block.forEach((channels, s) => channels.forEach((c, ch) => stems[s][ch].push(...c)));
}
fs.writeFileSync('stems.f32', new Float32Array(stems.flat(2)));
"""


def _stems(tmp_path, sizes: list[int], recycle: bool = False) -> np.ndarray:
    args = ["recycle"] if recycle else []
    subprocess.run(["node", "check.mjs", json.dumps(sizes), *args], cwd=tmp_path, check=True)
    return np.fromfile(tmp_path / "stems.f32", np.float32).reshape(2, 2, -1)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return staged_script(tmp_path_factory.mktemp("stage"), SCRIPT)


@pytest.mark.parametrize("length", [5000, 2048 * 4 + 37])
def test_stems_do_not_depend_on_how_the_input_is_chunked(staged, length):
    rng = np.random.default_rng(length)
    x = (rng.standard_normal((2, length)) * 0.1).astype(np.float32)
    x.tofile(staged / "x.f32")
    whole = _stems(staged, [length])
    assert whole.shape == (2, 2, length)
    # The input is given back by the two stems' sum (complementary masks; 'average' extension).
    assert np.max(np.abs(whole.sum(axis=0) - x)) < 1e-5
    assert np.max(np.abs(whole[0])) > 0.01 and np.max(np.abs(whole[1])) > 0.01  # both stems carry signal
    for sizes in ([1], [63, 64, 65], [1000], [3001, 7]):
        chunked = _stems(staged, sizes)
        np.testing.assert_array_equal(chunked, whole, err_msg=f"chunks of {sizes}")


@pytest.mark.parametrize("length", [5000, 2048 * 4 + 37])
def test_a_runner_that_reuses_its_mask_buffers_gives_the_same_stems(staged, length):
    """worker-pool.js hands out the masks' buffers again once spectralBlocks recycles them: it must
    be done reading them by then (the fake runner poisons them with NaN when they come back)."""
    rng = np.random.default_rng(length)
    x = (rng.standard_normal((2, length)) * 0.1).astype(np.float32)
    x.tofile(staged / "x.f32")
    np.testing.assert_array_equal(_stems(staged, [1000], recycle=True), _stems(staged, [1000]))


PADDING = """
import { SpectralChunker } from './inference/families/spectral-masks.js';
const stft = { nFft: 256, nHop: 64, nbFrames: 16, nbBins: 64 };
const chunker = await SpectralChunker.create(stft, 2, 2, 'average');
const spectrum = (nbFrames, v) => [0, 1].map(() => ({
  re: new Float32Array(nbFrames * 129).fill(v), im: new Float32Array(nbFrames * 129) }));
const full = chunker.magnitudePatches(spectrum(32, 1), 32);
chunker.recycleInput(full.data);
const last = chunker.magnitudePatches(spectrum(19, 2), 19);
let zeros = 0;
for (const v of last.data) zeros += v === 0 ? 1 : 0;
console.log(JSON.stringify({ reused: last.data === full.data, dims: last.dims, zeros,
  values: [...new Set(last.data)].sort() }));
"""


def test_a_reused_input_buffer_gets_zeros_past_the_tracks_end(tmp_path):
    """The last chunk's patches reuse an earlier chunk's buffer: its padding frames must be zeros
    again (the U-Net sees them), not the earlier chunk's magnitudes."""
    staged = staged_script(tmp_path, PADDING)
    out = json.loads(
        subprocess.run(["node", "check.mjs"], cwd=staged, check=True, capture_output=True, text=True).stdout
    )
    assert out["reused"] and out["dims"] == [2, 2, 16, 64]
    assert out["values"] == [0, 2]
    assert out["zeros"] == 2 * (32 - 19) * 64  # channels x padding frames x bins


READ_AGAIN = """
import { SampleWindow } from './inference/samples.js';
async function* chunks() {
  yield [new Float32Array([1, 2, 3]), new Float32Array([4, 5, 6])];
  yield [new Float32Array([7, 8]), new Float32Array([9, 10])];
}
const w = new SampleWindow(chunks());
await w.ensure(Infinity);
const first = w.read(-2, 7, 2);
const fresh = first.map((c) => [...c]);
first.forEach((c) => c.fill(99));  // the caller's old values
const again = w.read(-2, 7, 2, first);
const againValues = again.map((c) => [...c]);
w.discardBefore(3);
const later = w.read(1, 7, 2, again.map((c) => c.fill(99)).map((c) => c.subarray(0, 6)));
console.log(JSON.stringify({ reused: again === first, fresh, again: againValues,
  later: later.map((c) => [...c]) }));
"""


def test_a_read_into_an_earlier_reads_arrays_gives_zeros_outside_the_track(tmp_path):
    """spectralBlocks hands each chunk's samples back for the next read: what the track does not
    cover (before 0, past its end, and before the chunks still held) must be zeros again."""
    staged = staged_script(tmp_path, READ_AGAIN)
    out = json.loads(
        subprocess.run(["node", "check.mjs"], cwd=staged, check=True, capture_output=True, text=True).stdout
    )
    assert out["fresh"] == [[0, 0, 1, 2, 3, 7, 8, 0, 0], [0, 0, 4, 5, 6, 9, 10, 0, 0]]
    assert out["reused"] and out["again"] == out["fresh"]
    # samples 1 and 2 were dropped with their chunk: zeros, as a new array would have them
    assert out["later"] == [[0, 0, 7, 8, 0, 0], [0, 0, 9, 10, 0, 0]]
