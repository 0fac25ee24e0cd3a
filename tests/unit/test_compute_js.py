"""inference/compute.js and gpu-fallback.js under Node: which backend each setting picks for each
adapter, and a WebGPU session that fails to start, or fails in the middle of a job, hands the job
to WASM with the reason (the e2e tests reach the no-adapter and software-adapter cases only)."""

import json
import subprocess

from tests.node_tree import NODE, node_tree

SCRIPT = """
import { chooseCompute, probeGpu } from './extension/inference/compute.js';
import { createFallbackRunner } from './extension/inference/gpu-fallback.js';
const adapter = (info) => ({ gpu: { requestAdapter: async () => info && { info } } });
const hardware = adapter({ vendor: 'nvidia', architecture: 'ampere' });
const swiftshader = adapter({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true });
const llvmpipe = adapter({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' });
const choices = {};
for (const [name, nav] of Object.entries({ hardware, swiftshader, llvmpipe, none: adapter(null), absent: {} })) {
  for (const setting of ['auto', 'gpu', 'cpu']) {
    choices[`${name}/${setting}`] = await chooseCompute(setting, () => probeGpu(nav));
  }
}
const log = [];
const fake = (name, fail = () => false) => ({
  threads: name === 'gpu' ? 1 : 2,
  run: async (data) => {
    if (fail(data)) throw new Error(`${name} lost`);
    log.push(`${name}:${data[0]}`);
    return data.map((x) => x * 2);
  },
  runNamed: async () => ({}),
  release: async () => { log.push(`${name}:released`); },
});
const onGpu = { backend: 'webgpu', adapter: 'nvidia ampere' };
// a run fails part-way: patches 0 and 1 on the GPU, 2 fails there, 2 and 3 on WASM
const midway = await createFallbackRunner(onGpu, async () => fake('gpu', (d) => d[0] === 2), async () => fake('wasm'));
const outputs = [];
for (const p of [0, 1, 2, 3]) outputs.push(Array.from(await midway.run(new Float32Array([p]), [1])));
const refused = async () => { throw new Error('no shader f16'); };
const notCreated = await createFallbackRunner(onGpu, refused, async () => fake('wasm'));
const healthy = await createFallbackRunner(onGpu, async () => fake('gpu'), async () => fake('wasm'));
await healthy.run(new Float32Array([7]), [1]);
console.log(JSON.stringify({ choices, outputs, log, midway: [midway.compute, midway.threads],
  notCreated: notCreated.compute, healthy: healthy.compute }));
"""


def test_settings_pick_the_backend_and_failures_fall_back_to_wasm():
    out = subprocess.run([*NODE, "--input-type=module", "-e", SCRIPT], cwd=node_tree(),
                         capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    result = json.loads(out.stdout)
    choices = result["choices"]
    assert choices["hardware/auto"] == {"backend": "webgpu", "adapter": "nvidia ampere"}
    assert choices["hardware/gpu"] == choices["hardware/auto"]
    for software in ("swiftshader", "llvmpipe"):
        assert choices[f"{software}/auto"]["backend"] == "wasm"
        assert "software" in choices[f"{software}/auto"]["reason"], choices
        assert choices[f"{software}/gpu"]["backend"] == "webgpu"
    assert choices["none/gpu"] == {"backend": "wasm", "reason": "no WebGPU adapter (requestAdapter() = null)"}
    assert choices["absent/auto"] == {"backend": "wasm", "reason": "this browser has no WebGPU"}
    assert all(choices[f"{name}/cpu"] == {"backend": "wasm"} for name in ("hardware", "swiftshader", "none"))

    assert result["outputs"] == [[0], [2], [4], [6]]  # every patch answered, in order
    assert result["log"][:2] == ["gpu:0", "gpu:1"] and "wasm:2" in result["log"] and "wasm:3" in result["log"]
    assert "gpu:released" in result["log"]
    compute, threads = result["midway"]
    assert (
        compute["backend"] == "wasm"
        and compute["reason"] == "WebGPU failed during the job, finished on the CPU: gpu lost"
    )
    assert threads == 2
    assert result["notCreated"] == {"backend": "wasm", "reason": "WebGPU could not load the model: no shader f16"}
    assert result["healthy"] == {"backend": "webgpu", "adapter": "nvidia ampere"}
