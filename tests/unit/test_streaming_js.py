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
// Masks that depend on the input (a chunking error shows), complementary across the two stems.
const runner = {
  run: async (data, dims) => {
    const [P, C, T, F] = dims;
    const out = new Float32Array(P * 2 * C * T * F);
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < C * T * F; i++) {
        const m = data[p * C * T * F + i] / (data[p * C * T * F + i] + 0.5);
        out[(p * 2) * C * T * F + i] = m;
        out[(p * 2 + 1) * C * T * F + i] = 1 - m;
      }
    }
    return out;
  },
};
const stems = [[[], []], [[], []]];
for await (const block of spectralBlocks(new SampleWindow(chunks()), descriptor, runner, () => {})) {
  block.forEach((channels, s) => channels.forEach((c, ch) => stems[s][ch].push(...c)));
}
fs.writeFileSync('stems.f32', new Float32Array(stems.flat(2)));
"""


def _stems(tmp_path, sizes: list[int]) -> np.ndarray:
    subprocess.run(["node", "check.mjs", json.dumps(sizes)], cwd=tmp_path, check=True)
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
