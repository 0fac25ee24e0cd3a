// @ts-check
/**
 * Signalsmith Stretch (MIT, vendored: builder/package.py `_vendor_stretch`) as AudioWorkletNodes
 * loaded from the extension's own files: the library's module is also its worklet, added from
 * its vendor/ URL (its own blob: URL is refused by the CSP), and its WASM, written out at
 * packaging, is fetched here once and handed to each processor in `processorOptions` (a worklet
 * scope has no fetch). Works in an AudioContext and an OfflineAudioContext alike.
 */
import SignalsmithStretch from '../vendor/signalsmith-stretch.mjs';
import { t } from '../shared/i18n.js';

/** @typedef {import('../vendor/signalsmith-stretch.mjs').StretchNode} StretchNode */

SignalsmithStretch.moduleUrl = new URL('../vendor/signalsmith-stretch.mjs', import.meta.url).href;
const WASM_URL = new URL('../vendor/signalsmith-stretch.wasm', import.meta.url);
/**
 * The stretcher's STFT: 200-ms blocks every 20 ms, against the library's default of 120 ms every
 * 30 ms. Measured on steady tones (220 Hz harmonic tone + 587 Hz sine) at -12/-5/+3/+12
 * semitones and 25/200 % tempo, the worst partial was off by 9.2 cents with the default, 1.7
 * with this (tests/e2e/test_practice.py holds it under 2); the cost is about 2.5x the default's
 * CPU, and transients are smeared over a longer block.
 */
const STFT = { blockMs: 200, intervalMs: 20 };
/** The processor compiles its WASM before it answers: a node that never does is a broken build. */
const READY_TIMEOUT_MS = 20_000;

/** @type {Promise<ArrayBuffer> | null} */
let wasm = null;

/**
 * A stretch node of `channels` output channels in `context`, its WASM compiled and ready.
 * @param {BaseAudioContext} context @param {number} channels
 * @returns {Promise<StretchNode>}
 */
export async function createStretch(context, channels) {
  wasm ??= fetch(WASM_URL).then((response) => {
    if (!response.ok) throw new Error(`vendor/signalsmith-stretch.wasm: ${response.status}`);
    return response.arrayBuffer();
  });
  const wasmBinary = await wasm;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(t('practiceStretchFailed'))), READY_TIMEOUT_MS);
  });
  const node = SignalsmithStretch(context, {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [channels], processorOptions: { wasmBinary },
  });
  try {
    const ready = /** @type {StretchNode} */ (await Promise.race([node, late]));
    await ready.configure(STFT);
    return ready;
  } finally {
    clearTimeout(timer);
  }
}
