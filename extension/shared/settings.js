// @ts-check
/** User settings (storage.local `settings`), with defaults; read by the background per job. */
import { api } from '../platform/browser-api.js';

/**
 * @typedef {{format: import('./wav.js').SampleFormat, threads: number, streamAboveS: number,
 *   maxInputBytes: number, fetchHeadersS: number, fetchStallS: number,
 *   keepLiveStems: boolean, defaultModel: string}} Settings
 * threads: 0 = one per core (where the page can use threads at all)
 * streamAboveS: tracks longer than this are decoded a slice at a time (inference/decode.js);
 *   0 = always (least memory)
 * maxInputBytes: the largest input, a file or a download (inference/fetch-audio.js stops
 *   reading beyond it); tests lower it to keep their floods short, the code path is the same
 * fetchHeadersS, fetchStallS: a download fails when the server sends no headers for this long,
 *   or less than 16 KB of the body in a window this long
 * keepLiveStems: a live capture's mix becomes a job when it stops (inference/live.js)
 * defaultModel: the id of the imported model (shared/store.js models) a job uses unless it names
 *   one; '' = the model that ships with the extension
 */

/** @type {Settings} */
export const DEFAULT_SETTINGS = Object.freeze({
  format: 'pcm16',
  threads: 0,
  streamAboveS: 10 * 60,
  maxInputBytes: 1024 ** 3,
  fetchHeadersS: 30,
  fetchStallS: 30,
  keepLiveStems: true,
  defaultModel: '',
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
