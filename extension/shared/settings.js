// @ts-check
/** User settings (storage.local `settings`), with defaults; read by the background per job. */
import { api } from '../platform/browser-api.js';

/**
 * @typedef {{format: import('./encode-audio.js').FormatId, outputRate: 'input' | number, threads: number, streamAboveS: number,
 *   maxInputBytes: number, maxDurationS: number, liveWindowS: number, fetchHeadersS: number, fetchStallS: number,
 *   keepLiveStems: boolean, workers: number, defaultModel: string, compute: ComputeSetting,
 *   modelCheckS: number}} Settings
 * @typedef {'auto' | 'cpu' | 'gpu'} ComputeSetting
 * format: the stem, zip and mix files' format (shared/encode-audio.js FORMATS); stems are
 *   stored as WAV (this depth when a WAV format is chosen) and transcoded at download
 * outputRate: 'input' = the stems at the input file's rate (as the native CLI); a number = that rate
 * threads: 0 = one per core (where the page can use threads at all)
 * workers: model sessions in workers (inference/worker-pool.js), at most one per core; 0 = the
 *   browser's default (Firefox: one per core; Chrome: 1, i.e. one session with `threads` threads)
 * streamAboveS: tracks longer than this are decoded a slice at a time (inference/decode.js);
 *   0 = always (least memory)
 * maxInputBytes: the largest input, a file or a download (inference/fetch-audio.js stops
 *   reading beyond it); tests lower it to keep their floods short, the code path is the same
 * maxDurationS: the longest input in audio time (MAX_DURATION_S); a download without a length
 *   is stopped beyond it as it arrives (inference/fetch-audio.js); tests lower it, same code path
 * liveWindowS: a download without a length whose audio arrives at no more than 1.5 times the
 *   speed it plays for this long is a live stream (inference/fetch-audio.js LiveStreamRule);
 *   tests lower it to keep their streams short, same code path
 * fetchHeadersS, fetchStallS: a download fails when the server sends no headers for this long,
 *   or less than 16 KB of the body in a window this long
 * keepLiveStems: a live capture's mix becomes a job when it stops (inference/live.js)
 * defaultModel: the id of the imported model (shared/store.js models) a job uses unless it names
 *   one; '' = the model that ships with the extension
 * compute: where jobs run the model (inference/compute.js): 'auto' = WebGPU on a real GPU, else
 *   WASM; 'gpu' = WebGPU on any adapter; 'cpu' = WASM; a GPU that fails falls back to WASM
 * modelCheckS: an imported model's check is stopped and the model refused after this many
 *   seconds plus 3 per MB of model (inference/verify-model.js); tests lower it, same code path
 */

// Streamed or not, the stems of longer audio take more time and disk than a user expects from a
// click (75 minutes: ~1.3 GB of 16-bit stems); the whole-file path also holds it all in memory.
export const MAX_DURATION_S = 75 * 60;
/** A length-less download is judged live or not over this window (fetch-audio.js LiveStreamRule). */
export const LIVE_WINDOW_S = 60;

/** @type {Settings} */
export const DEFAULT_SETTINGS = Object.freeze({
  format: 'pcm16',
  outputRate: 'input',
  threads: 0,
  streamAboveS: 10 * 60,
  maxInputBytes: 1024 ** 3,
  maxDurationS: MAX_DURATION_S,
  liveWindowS: LIVE_WINDOW_S,
  fetchHeadersS: 30,
  fetchStallS: 30,
  keepLiveStems: true,
  workers: 0,
  defaultModel: '',
  compute: 'auto',
  modelCheckS: 60,
});

/** @returns {Promise<Settings>} */
export async function loadSettings() {
  const { settings } = await api.storage.local.get('settings');
  return { ...DEFAULT_SETTINGS, ...(settings ?? {}) };
}

/** @param {Partial<Settings>} change */
export async function saveSettings(change) {
  await api.storage.local.set({ settings: { ...(await loadSettings()), ...change } });
}
