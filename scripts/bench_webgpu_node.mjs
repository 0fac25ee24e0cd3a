// @ts-check
/**
 * Times the extension's model on onnxruntime-web's WebGPU provider against its WASM provider, in
 * one Node process, for a machine with a GPU but no browser that can reach it (a headless server).
 * WebGPU comes from Dawn (the `webgpu` package: Chromium's WebGPU implementation built for Node),
 * so this is the provider and the GPU the extension would use in Chromium there, without Chromium's
 * GPU process in between (which adds one IPC hop per command buffer).
 *
 *   npm install --no-save webgpu@0.6.2
 *   node scripts/bench_webgpu_node.mjs MODEL.onnx [--seconds 179.5] [--rounds 3] [--threads 2]
 *     [--model NAME=FILE ...] [--out FILE.json]
 *
 * The runs are those the extension makes for a track of `seconds` (families/spectral-masks.js:
 * PATCHES_PER_CHUNK patches of 512 frames per run, the last patch cut to the 64-frame multiple
 * that covers the track's end), on fixed pseudo-random spectrogram-like magnitudes: the kernels'
 * time does not depend on the values. Every configuration runs once per round, alternated
 * (reversed every other round); the report gives each round's seconds, the median, and the
 * WebGPU ÷ WASM ratio per round. Before timing, each WebGPU output is compared with the WASM
 * output of the same model (max |diff| and signal-to-error dB over the masks).
 */
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '179.5' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    model: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
  },
});
/** @type {[string, string][]} */
const models = [
  ...positionals.map((file) => /** @type {[string, string]} */ (['model', file])),
  ...values.model.map((spec) => /** @type {[string, string]} */ (spec.split('=', 2))),
];
const rounds = Number(values.rounds);
// onnxruntime-web sizes its WASM thread pool once, when the build first initializes: one count per process.
const threads = Number(values.threads);

// The extension's shapes (model.json of spleeter-2stems): 512 frames of 1024 bins per patch,
// 2 channels, 4096-point STFT hopping 1024 at 44.1 kHz; 2 patches per run.
const T = 512;
const F = 1024;
const C = 2;
const PATCHES_PER_RUN = 2;
const nbFrames = Math.floor((Number(values.seconds) * 44100) / 1024) + 1;
/** @type {number[][]} dims of each run, in order */
const plan = [];
for (let frame = 0; frame < nbFrames; frame += T * PATCHES_PER_RUN) {
  const patches = Math.min(PATCHES_PER_RUN, Math.ceil((nbFrames - frame) / T));
  const lastFrames = Math.min(T, nbFrames - frame - (patches - 1) * T);
  if (lastFrames >= T) plan.push([patches, C, T, F]);
  else {
    if (patches > 1) plan.push([patches - 1, C, T, F]);
    plan.push([1, C, Math.ceil(lastFrames / 64) * 64, F]);
  }
}
const largest = PATCHES_PER_RUN * C * T * F;
const input = new Float32Array(largest);
let seed = 1;
for (let i = 0; i < input.length; i++) {
  seed = (seed * 16807) % 2147483647;
  input[i] = (seed / 2147483647) ** 4 * 3; // mostly small, a few large, like a magnitude spectrogram
}

const ortDir = import.meta.resolve('onnxruntime-web').replace(/[^/]*$/, '');
const webgpu = await import('webgpu');
Object.assign(globalThis, webgpu.globals);
// onnxruntime-web uploads straight from its (shared) WebAssembly memory; dawn.node's writeBuffer
// rejects views of a SharedArrayBuffer ("Invalid argument"), which Chromium takes (copying them
// into its GPU process anyway): copy such views first.
const writeBuffer = webgpu.globals.GPUQueue.prototype.writeBuffer;
webgpu.globals.GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset = 0, size) {
  const view = ArrayBuffer.isView(data) ? data : new Uint8Array(data);
  if (!(view.buffer instanceof SharedArrayBuffer)) return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  const unit = /** @type {any} */ (view).BYTES_PER_ELEMENT ?? 1;
  return writeBuffer.call(this, buffer, offset, bytes, dataOffset * unit, size === undefined ? undefined : size * unit);
};
// dawn.node resolves createComputePipelineAsync's promise only after ~33 s (seen on SwiftShader and
// on an H200 alike; the same pipeline made synchronously takes ~10 ms): onnxruntime-web makes one
// at session creation, so without this its load would time that wait, not Chromium's.
webgpu.globals.GPUDevice.prototype.createComputePipelineAsync = function (descriptor) {
  return Promise.resolve(this.createComputePipeline(descriptor));
};
// Time spent waiting on mapAsync (the GPU finishing its queued work, then the outputs' download),
// per configuration: how much of a WebGPU run the page spends waiting on the GPU.
let mapWaitMs = 0;
const mapAsync = webgpu.globals.GPUBuffer.prototype.mapAsync;
webgpu.globals.GPUBuffer.prototype.mapAsync = async function (...args) {
  const started = performance.now();
  try {
    return await mapAsync.apply(this, args);
  } finally {
    mapWaitMs += performance.now() - started;
  }
};
const gpu = webgpu.create([]);
Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('no WebGPU adapter (is libvulkan1 there, and a Vulkan driver?)');
const info = adapter.info ?? {};
const adapterName = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
console.log(`adapter: ${adapterName}`);

// The two builds the extension bundles: WebGPU (on the asyncify .wasm) and the plain WASM one.
const ortGpu = await import(`${ortDir}ort.webgpu.bundle.min.mjs`);
ortGpu.env.wasm.wasmBinary = readFileSync(new URL('ort-wasm-simd-threaded.asyncify.wasm', ortDir));
ortGpu.env.wasm.numThreads = 1;
ortGpu.env.logLevel = 'error';
const ortCpu = await import(`${ortDir}ort.node.min.mjs`);
ortCpu.env.wasm.numThreads = threads;
ortCpu.env.logLevel = 'error';

const sessionOptions = { graphOptimizationLevel: 'all', extra: { session: { disable_quant_qdq: '1' } } };

/** @param {any} ort @param {any} session @param {number[]} dims @returns {Promise<Float32Array>} */
async function runOnce(ort, session, dims) {
  const size = dims.reduce((a, b) => a * b);
  const tensor = new ort.Tensor('float32', input.subarray(0, size), dims);
  const outputs = await session.run({ [session.inputNames[0]]: tensor });
  const data = /** @type {Float32Array} */ (outputs[session.outputNames[0]].data);
  return data;
}

/** The whole track's runs, in order. @param {any} ort @param {any} session */
async function runTrack(ort, session) {
  for (const dims of plan) await runOnce(ort, session, dims);
}

/** @param {Float32Array} a @param {Float32Array} reference */
function compare(a, reference) {
  let maxDiff = 0;
  let signal = 0;
  let error = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - reference[i];
    maxDiff = Math.max(maxDiff, Math.abs(d));
    signal += reference[i] * reference[i];
    error += d * d;
  }
  return { maxDiff, db: 10 * Math.log10(signal / Math.max(error, 1e-30)) };
}

/** @param {number[]} v */
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`load: ${execSync('uptime').toString().trim()}`);
console.log(`track: ${values.seconds} s = ${nbFrames} frames, runs ${plan.map((d) => `${d[0]}x${d[2]}`).join(' ')}`);
/** @type {{name: string, ort: any, session: any, loadS: number, backend: string}[]} */
const configs = [];
/** @type {Record<string, object>} */
const parity = {};
for (const [name, file] of models) {
  const bytes = readFileSync(file);
  let started = performance.now();
  const cpuSession = await ortCpu.InferenceSession.create(bytes, { executionProviders: ['wasm'], ...sessionOptions });
  configs.push({ name: `${name} wasm`, ort: ortCpu, session: cpuSession, loadS: (performance.now() - started) / 1000, backend: 'wasm' });
  const reference = (await runOnce(ortCpu, cpuSession, plan[0])).slice();
  started = performance.now();
  const session = await ortGpu.InferenceSession.create(bytes, { executionProviders: ['webgpu'], ...sessionOptions });
  const loadS = (performance.now() - started) / 1000;
  configs.push({ name: `${name} webgpu`, ort: ortGpu, session, loadS, backend: 'webgpu' });
  const out = await runOnce(ortGpu, session, plan[0]);
  parity[name] = compare(out, reference);
  console.log(`${name}: webgpu vs wasm on ${plan[0].join('x')}: max |diff| ${parity[name].maxDiff.toExponential(2)}, ${parity[name].db.toFixed(1)} dB`);
}
for (const c of configs) {
  const started = performance.now();
  await runTrack(c.ort, c.session); // warm-up: shader compilation, buffer pools
  console.log(`${c.name}: load ${c.loadS.toFixed(2)} s, first track ${((performance.now() - started) / 1000).toFixed(2)} s`);
}
/** @type {number[][]} */
const seconds = configs.map(() => []);
/** @type {number[]} seconds waiting on mapAsync, per configuration, all rounds */
const mapWait = configs.map(() => 0);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...configs.keys()].reverse() : [...configs.keys()];
  for (const k of order) {
    const started = performance.now();
    const mapBefore = mapWaitMs;
    await runTrack(configs[k].ort, configs[k].session);
    seconds[k].push((performance.now() - started) / 1000);
    mapWait[k] += (mapWaitMs - mapBefore) / 1000;
  }
}
const rows = configs.map((c, k) => ({
  config: c.name,
  backend: c.backend,
  load_s: Number(c.loadS.toFixed(2)),
  seconds: seconds[k].map((s) => Number(s.toFixed(3))),
  median_s: Number(median(seconds[k]).toFixed(3)),
  map_async_wait_s_per_track: Number((mapWait[k] / rounds).toFixed(3)),
}));
for (const row of rows) {
  console.log(`${row.config}: median ${row.median_s} s (${row.seconds.join(' ')}), mapAsync wait ${row.map_async_wait_s_per_track} s/track`);
}
/** @type {Record<string, number>} */
const ratios = {};
for (const [name] of models) {
  const gpuRow = rows.findIndex((row) => row.config === `${name} webgpu`);
  const cpuRow = rows.findIndex((row) => row.config === `${name} wasm`);
  const key = `${name}: webgpu ÷ wasm ${threads} threads`;
  ratios[key] = Number(median(seconds[gpuRow].map((s, r) => s / seconds[cpuRow][r])).toFixed(4));
  console.log(`${key}: ${ratios[key]}`);
}
console.log(`load: ${execSync('uptime').toString().trim()}`);
if (values.out) {
  const report = { adapter: adapterName, threads, seconds: Number(values.seconds), runs: plan, rounds, parity, rows, ratios };
  writeFileSync(values.out, `${JSON.stringify(report, null, 1)}\n`);
}
