// @ts-check
/**
 * CPU per phase of everything a separation job does on the page's thread except the model
 * (issue #17): families/spectral-masks.js's spectralBlocks (read, STFT, magnitudes, masks applied,
 * iSTFT, overlap-add) and shared/wav.js's encodeSamples, on a real track, in Node. The model is a
 * stand-in that hands back fixed pseudo-random masks (its time is not counted). Several staged
 * builds (builder.package.stage, or dist/chrome) are each imported once and run alternated,
 * once per round (order reversed every other round); each phase is reported as the median over
 * rounds of its CPU time (process.cpuUsage: this process's CPU, which a machine busy with other
 * work distorts less than wall time), and each build's ratio to the first per round. The encoded
 * stems of every build are checked to be byte-identical to the first's.
 *
 *   node scripts/profile_dsp_node.mjs TRACK.f32 ROUNDS TREE_A [TREE_B ...]
 *
 * TRACK.f32: interleaved stereo float32 at 44.1 kHz, e.g.
 *   .venv/bin/python -c "import soundfile as sf; sf.read('x.ogg', dtype='float32')[0].tofile('x.f32')"
 */
import { createHash } from 'node:crypto';
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [trackFile, roundsArg, ...trees] = process.argv.slice(2);
const rounds = Number(roundsArg);
const interleaved = new Float32Array(readFileSync(trackFile).buffer.slice(0));
const n = interleaved.length / 2;
const track = [0, 1].map((c) => Float32Array.from({ length: n }, (_, i) => interleaved[2 * i + c]));
const descriptor = {
  stems: ['vocals', 'accompaniment'],
  nbChannels: 2,
  stft: { nFft: 4096, nHop: 1024, nbBins: 1024, nbFrames: 512 },
  maskExtension: /** @type {const} */ ('zeros'),
};
const S = descriptor.stems.length;

// Masks of the largest run (2 patches), fixed pseudo-random in [0, 1]; stem 1 = 1 - stem 0.
const patchSize = 2 * 512 * 1024;
const maskPool = new Float32Array(2 * S * patchSize);
let seed = 1;
for (let p = 0; p < 2; p++) {
  for (let i = 0; i < patchSize; i++) {
    seed = (seed * 16807) % 2147483647;
    maskPool[p * S * patchSize + i] = seed / 2147483647;
    maskPool[(p * S + 1) * patchSize + i] = 1 - seed / 2147483647;
  }
}
const runner = {
  /** @param {Float32Array} data @param {number[]} dims */
  run: async (data, [P, C, T, F]) => maskPool.slice(0, P * S * C * T * F),
};

/** @param {number[]} values */
const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const builds = [];
for (const tree of trees) {
  const at = (/** @type {string} */ file) => pathToFileURL(path.resolve(tree, file)).href;
  const masks = await import(at('inference/families/spectral-masks.js'));
  const { SampleWindow } = await import(at('inference/samples.js'));
  const { encodeSamples } = await import(at('shared/wav.js'));
  builds.push({ tree, masks, SampleWindow, encodeSamples });
}

/** One job's non-model work through one build; CPU seconds per phase and the stems' hash. */
async function job(/** @type {typeof builds[number]} */ build) {
  /** @type {Record<string, number>} */
  const cpu = { read: 0, analyse: 0, magnitudes: 0, model: 0, istft: 0, encode: 0 };
  let last = process.cpuUsage();
  const lap = (/** @type {string} */ step) => {
    const used = process.cpuUsage(last);
    cpu[step] += (used.user + used.system) / 1e6;
    last = process.cpuUsage();
  };
  // analyse and magnitudePatches are timed apart (spectralBlocks laps them together as 'stft').
  const proto = build.masks.SpectralChunker.prototype;
  const { analyse, magnitudePatches } = proto;
  proto.analyse = function (/** @type {any[]} */ ...args) {
    lap('read');
    const out = analyse.apply(this, args);
    lap('analyse');
    return out;
  };
  proto.magnitudePatches = function (/** @type {any[]} */ ...args) {
    const out = magnitudePatches.apply(this, args);
    lap('magnitudes');
    return out;
  };
  async function* chunks() {
    for (let at = 0; at < n; at += 441000) yield track.map((c) => c.slice(at, Math.min(n, at + 441000)));
  }
  const hash = createHash('sha256');
  try {
    const samples = new build.SampleWindow(chunks());
    const blocks = build.masks.spectralBlocks(samples, descriptor, runner, (/** @type {string} */ step) =>
      lap(step === 'decode' ? 'read' : step === 'stft' ? 'magnitudes' : step),
    );
    for await (const block of blocks) {
      lap('read');
      const pieces = block.map((/** @type {Float32Array[]} */ channels) => build.encodeSamples(channels, 'pcm16'));
      lap('encode');
      for (const piece of pieces) hash.update(new Uint8Array(piece));
      last = process.cpuUsage(); // the hash is not the job's
    }
  } finally {
    Object.assign(proto, { analyse, magnitudePatches });
  }
  return { cpu, hash: hash.digest('hex') };
}

console.log(`load before: ${execSync('uptime').toString().trim()}`);
/** @type {Record<string, number>[][]} */
const results = builds.map(() => []);
const hashes = builds.map(() => new Set());
await job(builds[0]); // warm-up (JIT), not counted
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...builds.keys()].reverse() : [...builds.keys()];
  for (const k of order) {
    const { cpu, hash } = await job(builds[k]);
    cpu.total = Object.entries(cpu).reduce((sum, [step, s]) => (step === 'model' ? sum : sum + s), 0);
    results[k].push(cpu);
    hashes[k].add(hash);
  }
}
const steps = Object.keys(results[0][0]).filter((s) => s !== 'model');
for (let k = 0; k < builds.length; k++) {
  const same = hashes[k].size === 1 && [...hashes[k]][0] === [...hashes[0]][0];
  console.log(`${builds[k].tree}: stems ${same ? 'identical to' : 'DIFFER from'} ${builds[0].tree}'s`);
  console.log('  CPU s (median of rounds): ' + steps.map((s) => `${s} ${median(results[k].map((c) => c[s])).toFixed(3)}`).join(', '));
  if (k > 0) {
    const ratios = steps.map((s) => `${s} ${median(results[k].map((c, r) => c[s] / results[0][r][s])).toFixed(3)}`);
    console.log(`  ÷ ${builds[0].tree} (median of per-round ratios): ${ratios.join(', ')}`);
  }
}
console.log(`load after: ${execSync('uptime').toString().trim()}`);
