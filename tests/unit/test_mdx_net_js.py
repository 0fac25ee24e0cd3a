"""The MDX-Net family's browser pipeline (``inference/families/mdx-net.js``) against its native
twin (``builder/mdx_chunks.py``) under Node, on real music: with the same pointwise stand-in
core on both sides at 1e-5 of full scale, for each n_fft UVR uses (so PFFFT's 5120-, 6144- and
7680-point transforms are held to numpy's), denoise off and on; and with a random-weight
MDX-Net graph run by onnxruntime-web (the extension's) against onnxruntime's Python build."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from builder import families
from builder.audio_io import to_stereo
from builder.mdx_chunks import MdxParams, separate_mdx
from builder.validate import sdr_db
from models.spec import MdxSpec, ModelFamily, ModelSpec, StftSpec
from tests.node_tree import NODE, ROOT, staged_script
from tests.unit.test_mdx_net import random_graph

pytestmark = pytest.mark.slow  # stages the extension
ORT = ROOT / "node_modules" / "onnxruntime-web" / "dist" / "ort.node.min.mjs"
TOLERANCE = 1e-5  # of full scale
GAIN, SQUARE = 0.3, 0.02  # the stand-in core: out = GAIN x + SQUARE x |x| (odd, so denoise keeps it)

SCRIPT = """
import { SampleWindow } from './inference/samples.js';
import { familyBlocks } from './inference/families/index.js';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
const [GAIN, SQUARE] = JSON.parse(fs.readFileSync('core.json', 'utf8'));
const [model, ortPath] = process.argv.slice(2);
const descriptor = JSON.parse(fs.readFileSync('descriptor.json', 'utf8'));
const x = new Float32Array(fs.readFileSync('x.f32').buffer.slice(0));
const n = x.length / 2;
async function* chunks() {  // as decode.js delivers them: a few seconds at a time
  for (let at = 0; at < n; at += 100000) {
    const end = Math.min(n, at + 100000);
    yield [x.slice(at, end), x.slice(n + at, n + end)];
  }
}
let runner;
if (model === 'standin') {
  runner = { runNamed: async ({ input }) => ({ output: input.data.map((v) => GAIN * v + SQUARE * v * Math.abs(v)) }) };
} else {
  const ort = await import(pathToFileURL(ortPath).href);
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(fs.readFileSync(model));
  runner = {
    runNamed: async (feeds) => {
      const tensors = Object.fromEntries(Object.entries(feeds).map(
        ([k, v]) => [k, new ort.Tensor('float32', v.data, v.dims)]));
      const out = await session.run(tensors);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data]));
    },
  };
}
const samples = new SampleWindow(chunks());
let held = 0;
const stems = descriptor.stems.map(() => [[], []]);
for await (const block of familyBlocks(descriptor)(samples, descriptor, runner, () => {})) {
  held = Math.max(held, samples.chunks.reduce((k, c) => k + c.channels[0].length, 0));
  block.forEach((channels, s) => channels.forEach((c, ch) => { for (const v of c) stems[s][ch].push(v); }));
}
fs.writeFileSync('stems.f32', new Float32Array(stems.flat(2)));
fs.writeFileSync('held.json', JSON.stringify(held));
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    path = staged_script(tmp_path_factory.mktemp("mdx-js"), SCRIPT)
    (path / "core.json").write_text(json.dumps([GAIN, SQUARE]))
    return path


def _spec(n_fft: int, dim_f: int, dim_t: int, denoise: bool) -> ModelSpec:
    return ModelSpec("random-mdx", ("vocals", "instrumental"), family=ModelFamily.MDX_NET,
                     stft=StftSpec(n_fft, 1024, dim_f, dim_t), mdx=MdxSpec(1.021, denoise))  # fmt: skip


def _descriptor(spec: ModelSpec) -> dict:
    family = families.get(ModelFamily.MDX_NET)
    return family.descriptor(spec, families.mdx_net.descriptor_fields(spec))


def _browser_stems(staged, waveform: np.ndarray, spec: ModelSpec, model: str = "standin") -> tuple[np.ndarray, int]:
    np.ascontiguousarray(waveform.T, np.float32).tofile(staged / "x.f32")
    (staged / "descriptor.json").write_text(json.dumps(_descriptor(spec)))
    subprocess.run([*NODE, "check.mjs", model, str(ORT)], cwd=staged, check=True, timeout=600)
    stems = np.fromfile(staged / "stems.f32", np.float32).reshape(2, 2, -1).transpose(0, 2, 1)
    return stems, json.loads((staged / "held.json").read_text())


def _standin(x: np.ndarray) -> np.ndarray:
    return (np.float32(GAIN) * x + np.float32(SQUARE) * x * np.abs(x)).astype(np.float32)


@pytest.mark.parametrize(("n_fft", "dim_f", "denoise"), [(5120, 2048, False), (6144, 3072, False),
                                                          (7680, 3072, False), (7680, 3072, True)])  # fmt: skip
def test_mdx_net_twin_on_real_music(staged, excerpt, n_fft, dim_f, denoise):
    waveform = to_stereo(excerpt).astype(np.float32)
    spec = _spec(n_fft, dim_f, 256, denoise)
    params = families.mdx_net.params_of(spec)
    native = separate_mdx(waveform, params, _standin)
    ours, held = _browser_stems(staged, waveform, spec)
    error = float(np.max(np.abs(ours - native)))
    print(f"mdx-net n_fft {n_fft} denoise {denoise}: browser vs native max |error| {error:.1e}, "
          f"held {held} samples (chunk {params.chunk})")  # fmt: skip
    assert ours.shape == native.shape == (2, *waveform.shape)
    assert np.max(np.abs(native[0])) > 0.05
    assert error <= TOLERANCE
    assert held <= params.chunk + 2 * 100_000 < len(waveform)  # one chunk and the decoded chunks under it


def test_mdx_net_random_graph_in_onnxruntime_web_matches_native(staged, excerpt, tmp_path):
    """The random net through the extension's runtime: what the page's import will run."""
    from builder.runtime import open_session

    waveform = to_stereo(excerpt[: 6 * 44100]).astype(np.float32)
    dim_t = 64  # a short chunk (1.5 s), so that 6 s take several
    graph = random_graph(7680, 3072, excerpt, tmp_path / "mdx.onnx", dim_t=dim_t)
    spec = _spec(7680, 3072, dim_t, False)
    session = open_session(graph, 0)
    native = separate_mdx(waveform, MdxParams(7680, 3072, dim_t, 1.021),
                          lambda x: session.run(None, {"input": x})[0])  # fmt: skip
    ours, _ = _browser_stems(staged, waveform, spec, str(graph))
    sdrs = [sdr_db(native[s], ours[s]) for s in range(2)]
    print(f"mdx-net random graph, onnxruntime-web vs onnxruntime: SDR {sdrs[0]:.1f} / {sdrs[1]:.1f} dB")
    assert np.std(native[0]) > 0.03 * np.std(waveform)
    assert min(sdrs) >= 60.0
