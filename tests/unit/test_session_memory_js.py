"""inference/model-runner.js sessionOptions (issue #17 item 6, the Firefox 60-minute peak): a WASM
session of the shipped int8 model keeps its weights as int8 and dequantizes them at each run, so
its onnxruntime heap after a run is well below that of a session that folds them into fp32 at
load (the WebGPU options), and its masks are bit-identical. Under Node, with the onnxruntime-web
the extension vendors (same npm package); one process per session, since a process has one
onnxruntime instance and one heap."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from models.catalog import DEFAULT_MODEL
from models.spec import Precision
from tests.node_tree import ROOT, staged_script

pytestmark = pytest.mark.slow

ORT = ROOT / "node_modules" / "onnxruntime-web" / "dist" / "ort.node.min.mjs"

# One 512-frame patch of spectrogram-like magnitudes (mostly small, a few large), fixed seed.
SCRIPT = """
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [ortPath, options, modelPath, outPath] = process.argv.slice(2);
let memory;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (source, imports) => {
  const made = await instantiate(source, imports);
  const exported = Object.values((made.instance ?? made).exports);
  const imported = Object.values(imports ?? {}).flatMap((names) => Object.values(names));
  memory = [...exported, ...imported].find((value) => value instanceof WebAssembly.Memory) ?? memory;
  return made;
};
const ort = await import(pathToFileURL(ortPath).href);
const { sessionOptions } = await import('./inference/model-runner.js');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
// 'folded': the WebGPU session's options on the WASM provider
const chosen = options === 'wasm' ? sessionOptions('wasm') :
  { ...sessionOptions('wasm'), extra: sessionOptions('webgpu').extra };
const session = await ort.InferenceSession.create(readFileSync(modelPath), chosen);
const dims = [1, 2, 512, 1024];
const data = new Float32Array(dims.reduce((a, b) => a * b));
let seed = 1;
for (let i = 0; i < data.length; i++) {
  seed = (seed * 16807) % 2147483647;
  data[i] = (seed / 2147483647) ** 4 * 3;
}
const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
writeFileSync(outPath, outputs[session.outputNames[0]].data);
console.log(JSON.stringify({ heapMB: memory.buffer.byteLength / 2 ** 20, extra: chosen.extra }));
"""


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    return staged_script(tmp_path_factory.mktemp("stage"), SCRIPT)


def _session(staged: Path, options: str, model: Path, out: Path) -> tuple[dict, np.ndarray]:
    done = subprocess.run(["node", "check.mjs", str(ORT), options, str(model), str(out)], cwd=staged, check=True,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1]), np.fromfile(out, dtype=np.float32)


def test_wasm_sessions_keep_int8_weights_unfolded(staged, built, tmp_path):
    model = next((built / "models").glob(f"{DEFAULT_MODEL}-{Precision.INT8_WEIGHTS.value}-*.onnx"))
    unfolded, masks = _session(staged, "wasm", model, tmp_path / "wasm.f32")
    folded, folded_masks = _session(staged, "folded", model, tmp_path / "folded.f32")
    print(f"onnxruntime heap after one patch: WASM options {unfolded['heapMB']:.0f} MB, "
          f"folded {folded['heapMB']:.0f} MB")  # fmt: skip
    assert folded["extra"] != unfolded["extra"]
    assert masks.size == folded_masks.size == 2 * 2 * 512 * 1024 and np.abs(masks).max() > 0
    assert np.array_equal(masks, folded_masks)
    # Folding adds the weights' fp32 copies (~79 MB) and drops the int8 ones (~22); measured
    # 229 against 272 MB with onnxruntime-web 1.30 (the heap grows in steps, hence the margin).
    assert unfolded["heapMB"] <= folded["heapMB"] - 30, (unfolded, folded)
