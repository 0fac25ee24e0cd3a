// @ts-check
/**
 * Sync mode in the inference host (Chrome's offscreen document, Firefox's background page): one
 * SyncSession per relay port, i.e. per tab whose page runs the tap. Ports come only from this
 * extension's content scripts (the platform file checks the sender), which run only on sites
 * the user turned sync on for. The model is the bundled one, on its own onnxruntime session
 * (as live's), loaded once for all tabs; while a tab is in sync, offline jobs give way as they
 * do to live (inference/live-priority.js). State goes to the background every REPORT_MS.
 */
import { MSG } from '../shared/messages.js';
import { createRunner } from '../inference/model-runner.js';
import { holdForLive } from '../inference/live-priority.js';
import { SyncSession } from './sync-session.js';
import { t } from '../shared/i18n.js';

export const SYNC_PORT = 'demixer-sync';
const REPORT_MS = 500;

/**
 * @param {import('../inference/host.js').Report} report
 * @param {{modelBase: string}} options
 */
export function createSyncHost(report, { modelBase }) {
  /** @type {Map<number, SyncSession>} */
  const sessions = new Map();
  /** @type {Promise<import('./sync-session.js').Model> | null} */
  let model = null;

  async function loadModel() {
    const response = await fetch(new URL('model.json', modelBase).href);
    if (!response.ok) throw new Error(t('liveModelMissing'));
    const descriptor = await response.json();
    // The same bound as live's: a model whose measured time is not well under real time has
    // `live: null` in its descriptor (HTDemucs on CPU), and cannot keep ahead of a playhead.
    if (!descriptor.live) throw new Error(t('liveTooSlow', descriptor.name));
    return { descriptor, runner: createRunner(new URL(descriptor.file, modelBase).href, {}) };
  }

  return {
    /**
     * A relay's port from tab `tabId`.
     * @param {import('./sync-session.js').SyncPort} port @param {number} tabId
     */
    async connect(port, tabId) {
      sessions.get(tabId)?.close();
      model ??= loadModel();
      model.catch(() => {
        model = null;
      });
      const release = holdForLive();
      /** @type {SyncSession | null} */
      let session = null;
      let timer = 0;
      const onEnd = () => {
        release();
        clearInterval(timer);
        if (sessions.get(tabId) === session) sessions.delete(tabId);
        report(MSG.SYNC_STATE, { tabId, ended: true, health: session?.health() ?? null });
      };
      // Messages that arrive while the model loads are kept for the session.
      /** @type {any[]} */
      const early = [];
      port.onMessage.addListener((msg) => {
        if (!session) early.push(msg);
      });
      let gone = false;
      port.onDisconnect.addListener(() => {
        gone = true;
        if (!session) release();
      });
      const loaded = await model.catch((error) => {
        console.error('demixer sync: no model', error);
        return null;
      });
      if (gone || !loaded) {
        if (!gone) release();
        return;
      }
      session = new SyncSession(port, loaded, {
        onFirstSound: (wallMs) => report(MSG.SYNC_STATE, { tabId, firstSoundAt: wallMs }),
        onEnd,
      });
      for (const msg of early.splice(0)) session.handle(msg);
      sessions.set(tabId, session);
      timer = /** @type {any} */ (setInterval(() => {
        if (session) report(MSG.SYNC_STATE, { tabId, health: session.health() });
      }, REPORT_MS));
    },
    /** The tab's session (tests and the bench read its timelines through the DevTools protocol). @param {number} tabId */
    session: (tabId) => sessions.get(tabId) ?? null,
  };
}
