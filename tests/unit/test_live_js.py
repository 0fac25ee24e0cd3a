"""extension/inference/live-separator.js (one hop per call, under Node) against its twin
builder/live.py (whole stream at once), on real music, with the same deterministic mask core on
both sides: masks that depend on the whole window (each bin against its mean over the window's
frames), so that a window, hop, look-ahead or alignment error shows."""

import json
import subprocess

import numpy as np
import pytest

from builder import families
from builder.live import live_timing, separate_live
from models import catalog
from models.spec import LiveSpec, MaskExtension
from tests.node_tree import staged_script

SPEC = catalog.get(catalog.DEFAULT_MODEL).spec

SCRIPT = """
import { createLiveSeparator } from './inference/live-separator.js';
import fs from 'node:fs';
const x = new Float32Array(fs.readFileSync('x.f32').buffer.slice(0));
const descriptor = JSON.parse(process.argv[2]);
const n = x.length / 2;
// The stand-in core of the Python side (window_core in test_live_js.py), in float64.
const runner = {
  run: async (data, dims) => {
    const [P, C, T, F] = dims;
    const out = new Float32Array(P * 2 * C * T * F);
    for (let p = 0; p < P; p++) {
      for (let c = 0; c < C; c++) {
        const base = (p * C + c) * T * F;
        for (let k = 0; k < F; k++) {
          let sum = 0;
          for (let t = 0; t < T; t++) sum += data[base + t * F + k];
          const mean = sum / T;
          for (let t = 0; t < T; t++) {
            const v = data[base + t * F + k];
            const m = v / (v + mean + 1e-3);
            out[((p * 2) * C + c) * T * F + t * F + k] = m;
            out[((p * 2 + 1) * C + c) * T * F + t * F + k] = 1 - m;
          }
        }
      }
    }
    return out;
  },
};
const live = createLiveSeparator(descriptor, runner);
const hop = live.hopSamples;
const calls = Math.ceil(n / hop);
const stems = new Float32Array(2 * 2 * calls * hop);
for (let k = 0; k < calls; k++) {
  const input = [0, 1].map((c) => {
    const block = new Float32Array(hop);
    block.set(x.subarray(c * n + k * hop, Math.min(c * n + (k + 1) * hop, (c + 1) * n)));
    return block;
  });
  const out = await live.process(input);
  out.forEach((channels, s) => channels.forEach((samples, c) => stems.set(samples, ((s * 2 + c) * calls + k) * hop)));
}
live.dispose();
fs.writeFileSync('stems.f32', stems);
fs.writeFileSync('timing.json', JSON.stringify({ hopSamples: live.hopSamples, latencySamples: live.latencySamples }));
"""


def window_core(magnitude: np.ndarray) -> np.ndarray:
    """(p, ch, T, F) -> (p, 2, ch, T, F): each bin against its mean over the window."""
    m64 = magnitude.astype(np.float64)
    mask = m64 / (m64 + m64.mean(axis=2, keepdims=True) + 1e-3)
    return np.stack([mask, 1 - mask], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def staged(tmp_path_factory, excerpt):
    path = staged_script(tmp_path_factory.mktemp("stage"), SCRIPT)
    np.ascontiguousarray(excerpt[: 8 * 44100].T).astype(np.float32).tofile(path / "x.f32")
    return path


@pytest.mark.parametrize(
    ("live", "extension"),
    [(LiveSpec(256, 32, 32), MaskExtension.ZEROS), (LiveSpec(128, 16, 0), MaskExtension.AVERAGE),
     (LiveSpec(64, 8, 40), MaskExtension.ZEROS)],  # look-ahead longer than a hop
)  # fmt: skip
def test_js_live_separator_equals_the_python_reference(staged, excerpt, live, extension):
    x = excerpt[: 8 * 44100]
    family = families.get(SPEC.family)
    fields = families.spectral_masks.descriptor_fields(SPEC)
    descriptor = {**family.descriptor(SPEC, fields), "live": live.descriptor(), "maskExtension": extension.value}
    subprocess.run(["node", "check.mjs", json.dumps(descriptor)], cwd=staged, check=True, timeout=120)
    timing = json.loads((staged / "timing.json").read_text())
    expected_timing = live_timing(SPEC, live)
    assert (timing["hopSamples"], timing["latencySamples"]) == (expected_timing.hop_samples,
                                                               expected_timing.latency_samples)  # fmt: skip
    expected = separate_live(x, SPEC, live, window_core, mask_extension=extension)  # (stems, samples, ch)
    ours = np.fromfile(staged / "stems.f32", np.float32).reshape(2, 2, -1).transpose(0, 2, 1)
    assert ours.shape == expected.shape
    assert np.max(np.abs(expected)) > 0.1  # real music reached the output
    error = np.max(np.abs(ours - expected))
    print(f"{live}, {extension}: max |JS - Python| = {error:.2e}")
    assert error < 1e-5
