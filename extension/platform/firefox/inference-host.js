// @ts-check
/**
 * Firefox has no offscreen API: the background is an event page with a DOM, so the same
 * inference host runs right here, in the background page.
 */
import { api } from './browser-api.js';
import { MSG, TARGET, message } from '../shared/messages.js';
import { createHost } from '../inference/host.js';
import { t } from '../shared/i18n.js';
import { SYNC_PORT, createSyncHost } from '../sync/sync-host.js';

/**
 * Firefox unloads an idle event page (30 s by default, pref extensions.background.idle.timeout)
 * even in the middle of a job: measured, a 3-minute track never finished with the timeout at 3 s.
 * An extension event dispatched to the page resets that timer, so while a job runs we write a
 * heartbeat to storage.session and listen to it: each write delivers a storage.onChanged event
 * here. (w3c/webextensions#416 proposes runtime.waitUntil for exactly this.)
 */
const HEARTBEAT_MS = 2000;
const HEARTBEAT_KEY = 'inference-heartbeat';
api.storage.onChanged.addListener(() => {});

/** @param {(msg: {target: string, type: string, data: any}) => void} onReport */
export function connectHost(onReport) {
  const host = createHost((type, data) => onReport(message(TARGET.BACKGROUND, type, data)), {
    modelBase: new URL('../models/', import.meta.url).href,
    // No SharedArrayBuffer here (not cross-origin isolated), so no ORT threads: one
    // single-threaded session per core, in workers (`workers` setting 0 = one per core).
    workers: 0,
  });
  const sync = createSyncHost((type, data) => onReport(message(TARGET.BACKGROUND, type, data)), {
    modelBase: new URL('../models/', import.meta.url).href,
  });
  // For tests and the bench, which read a tab's timelines from an extension page
  // (runtime.getBackgroundPage), as Chrome's read them from the offscreen document.
  /** @type {any} */ (globalThis).demixerSync = sync;
  // Sync mode's relay (sync/relay.js, this extension's content script) sends a tab's tapped bytes here.
  api.runtime.onConnect.addListener((port) => {
    const tabId = port.sender?.tab?.id;
    if (port.name !== SYNC_PORT || port.sender?.id !== api.runtime.id || tabId === undefined) return;
    sync.connect(port, tabId);
  });
  setInterval(() => {
    if (host.busy()) api.storage.session.set({ [HEARTBEAT_KEY]: Date.now() });
  }, HEARTBEAT_MS);
  /** The host's handlers, as Chrome's offscreen document has them. @type {Record<string, (data: any) => unknown>} */
  const handlers = {
    [MSG.RUN_JOB]: (data) => host.run(data),
    [MSG.STOP_JOB]: (data) => host.stop(data.jobId),
    [MSG.VERIFY_MODEL]: (data) => host.verify(data),
    [MSG.STOP_MODEL_CHECK]: (data) => host.stopCheck(data.modelId),
    // No tabCapture here (platform/firefox/tab-capture.js refuses first): nothing is ever live.
    [MSG.LIVE_CAPTURE]: (data) =>
      onReport(message(TARGET.BACKGROUND, MSG.LIVE_ENDED, {
        jobId: data.jobId, name: data.name, kept: false, durationS: 0, health: null, reason: 'refused',
        error: t('liveFirefoxNoLive'),
      })), // prettier-ignore
    [MSG.LIVE_PREPARE]: () => {},
    [MSG.LIVE_END]: () => {},
    [MSG.LIVE_MIX]: () => {},
  };
  return {
    /** The host is this page: always ready. */
    prepare: async () => {},
    /**
     * The handler's answer (VERIFY_MODEL's verdict; nothing for the others).
     * @param {import('../shared/messages.js').MessageType} type @param {any} data
     */
    async send(type, data) {
      return handlers[type]?.(data);
    },
  };
}
