// @ts-check
/**
 * Firefox has no tab capture: a media element the extension cannot fetch (a `blob:` MediaSource
 * stream, as video and radio sites play) is recorded in the page while it plays, by a content
 * script injected into the clicked frame (`activeTab` grants the page at the menu click;
 * `scripting` injects). The recorder sends its chunks to the background (Firefox's runtime
 * messages clone Blobs), which stores them in IndexedDB and makes them a job at the end.
 */
import { api } from './browser-api.js';
import { MSG, TARGET } from '../shared/messages.js';
import { recordInPage, stopInPage } from './page-recorder.js';
import { t } from '../shared/i18n.js';

/** Firefox's MediaRecorder has no PCM; Ogg/Opus is what the extension and the native CLI both decode. */
export const RECORDING_TYPE = 'audio/ogg';
/** Whether a media element the extension cannot fetch is recorded in its page. */
export const RECORDS_IN_PAGE = true;
const SETTINGS = {
  mimeType: 'audio/ogg; codecs=opus',
  audioBitsPerSecond: 256_000,
  sliceMs: 1000, // a chunk a second: a closed tab loses at most that
  pauseLimitMs: 10_000,
};

/**
 * Start recording the clicked element in tab `tabId`, frame `frameId`.
 * @param {{tabId: number, frameId: number, mediaType?: string, srcUrl: string, token: string}} where
 * @returns {Promise<{started: true} | {error: string}>}
 */
export async function startRecorder({ tabId, frameId, mediaType, srcUrl, token }) {
  try {
    const [injection] = await api.scripting.executeScript({
      target: { tabId, frameIds: [frameId] },
      func: recordInPage,
      args: [{
        token, mediaType, srcUrl, ...SETTINGS,
        target: TARGET.BACKGROUND, types: { chunk: MSG.RECORD_CHUNK, end: MSG.RECORD_END },
      }],
    });
    return /** @type {any} */ (injection?.result) ?? { error: t('recordNoRecorder') };
  } catch (failure) {
    return { error: t('recordRefused', String(/** @type {any} */ (failure)?.message ?? failure)) };
  }
}

/**
 * Ask a running recorder to stop; false when it is gone (tab closed, page left, not injected).
 * @param {{tabId: number, frameId: number, token: string}} where
 */
export async function stopRecorder({ tabId, frameId, token }) {
  try {
    const [injection] = await api.scripting.executeScript({
      target: { tabId, frameIds: [frameId] },
      func: stopInPage,
      args: [token],
    });
    return Boolean(injection?.result);
  } catch {
    return false;
  }
}
