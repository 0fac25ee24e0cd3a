// @ts-check
/**
 * A/B of model files and onnxruntime-web session options in Node (the wasm backend, one thread
 * unless THREADS says otherwise):
 * every configuration runs once per round, alternated (reversed every other round), and each is
 * reported as the median over rounds of its per-round ratio to the first one, by wall time and by
 * this process's CPU time (less sensitive to a machine busy with other work). It checks first that
 * each configuration's output is that of the first (max |diff|).
 *
 *   node scripts/ab_ort_node.mjs CONFIGS.json [rounds=5] [patches=2] [threads=1]
 *
 * CONFIGS.json: [{"name": "int8", "model": "dist/models/….onnx", "options": {…}}, …]; options
 * are merged over the extension's WASM ones (model-runner.js sessionOptions: graphOptimizationLevel
 * all, the int8 weights dequantized at each run; `"extra": {"session": {"disable_quant_qdq": "1"}}`
 * folds them at load, as its WebGPU sessions do). Input:
 * (patches, 2, 512, 1024) magnitudes, fixed pseudo-random.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';

const [configFile, roundsArg = '5', patchesArg = '2', threadsArg = '1'] = process.argv.slice(2);
/** @type {{name: string, model: string, options?: object}[]} */
const configs = JSON.parse(readFileSync(configFile, 'utf8'));
const rounds = Number(roundsArg);
const dims = [Number(patchesArg), 2, 512, 1024];
ort.env.wasm.numThreads = Number(threadsArg);
ort.env.logLevel = 'error';

const data = new Float32Array(dims.reduce((a, b) => a * b));
let seed = 1;
for (let i = 0; i < data.length; i++) {
  seed = (seed * 16807) % 2147483647;
  data[i] = (seed / 2147483647) ** 4 * 3; // spectrogram-like: mostly small, a few large
}

/** @param {number[]} values */
const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** @param {ort.InferenceSession} session */
async function run(session) {
  const outputs = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
  return /** @type {Float32Array} */ (outputs[session.outputNames[0]].data);
}

console.log(`load before: ${execSync('uptime').toString().trim()}`);
const sessions = [];
for (const config of configs) {
  const started = performance.now();
  const session = await ort.InferenceSession.create(readFileSync(config.model), {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
    ...config.options,
  });
  const loadMs = performance.now() - started;
  sessions.push({ config, session, loadMs, output: await run(session) }); // the first run also warms up
}
for (const s of sessions) {
  let diff = 0;
  for (let i = 0; i < s.output.length; i++) diff = Math.max(diff, Math.abs(s.output[i] - sessions[0].output[i]));
  console.log(`${s.config.name}: load ${s.loadMs.toFixed(0)} ms, max |diff| vs ${configs[0].name} ${diff.toExponential(2)}`);
}
/** @type {number[][]} */
const wall = sessions.map(() => []);
/** @type {number[][]} */
const cpu = sessions.map(() => []);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...sessions.keys()].reverse() : [...sessions.keys()];
  for (const k of order) {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    await run(sessions[k].session);
    const used = process.cpuUsage(cpuBefore);
    wall[k].push((performance.now() - started) / 1000);
    cpu[k].push((used.user + used.system) / 1e6);
  }
}
for (let k = 0; k < sessions.length; k++) {
  const wallRatio = median(wall[k].map((t, r) => t / wall[0][r]));
  const cpuRatio = median(cpu[k].map((t, r) => t / cpu[0][r]));
  console.log(`${sessions[k].config.name}: ÷ ${configs[0].name} wall ${wallRatio.toFixed(3)}, CPU ${cpuRatio.toFixed(3)} ` +
    `(wall s ${wall[k].map((t) => t.toFixed(2)).join(' ')}; CPU s ${cpu[k].map((t) => t.toFixed(2)).join(' ')})`);
}
console.log(`load after: ${execSync('uptime').toString().trim()}`);
