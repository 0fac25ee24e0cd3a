// @ts-check
/**
 * Chrome: inference runs in an offscreen document (service workers have no Web Audio and
 * should not hold a model). Creation is deduplicated with one `creating` promise and
 * `runtime.getContexts`, as in chrome-extensions-samples' offscreen cookbook.
 */
import { api } from './browser-api.js';
import { TARGET, message } from '../shared/messages.js';
import { messagesLanguage } from '../shared/i18n.js';

const DOCUMENT = 'platform/offscreen.html';
/** @type {Promise<void> | null} */
let creating = null;

async function hasDocument() {
  const contexts = await api.runtime.getContexts({
    // one offscreen document per extension: its type says it (its URL carries the language)
    contextTypes: [api.runtime.ContextType.OFFSCREEN_DOCUMENT],
  });
  return contexts.length > 0;
}

async function ensureDocument() {
  if (creating) return creating;
  if (await hasDocument()) return;
  // Several jobs can arrive together: all but the first wait on its promise. A caller that was
  // already past the checks when the first finished gets "only a single offscreen document"; the
  // document it wanted exists, so that is success.
  creating ??= api.offscreen
    .createDocument({
      // it has no i18n API: it reads the messages of the language shown here (shared/i18n.js)
      url: `${DOCUMENT}?lang=${encodeURIComponent(messagesLanguage())}`,
      reasons: [api.offscreen.Reason.WORKERS, api.offscreen.Reason.USER_MEDIA],
      justification:
        'Runs the separation model (WebAssembly worker threads) on audio the user chose, and on the audio of a tab the user asked to demix live.',
    })
    .catch(async (error) => {
      if (!(await hasDocument())) throw error;
    })
    .finally(() => {
      creating = null;
    });
  await creating;
}

/**
 * Reports from the host reach the background through runtime messages, so `onReport` is unused
 * here (Firefox's host calls it directly).
 * @param {(msg: {target: string, type: string, data: any}) => void} _onReport
 */
export function connectHost(_onReport) {
  return {
    /** The host's document, made ready before a tab's stream id is asked for (the id expires in seconds). */
    prepare: ensureDocument,
    /**
     * The offscreen document's answer (VERIFY_MODEL's verdict; nothing for the others).
     * @param {import('../shared/messages.js').MessageType} type @param {unknown} data
     */
    async send(type, data) {
      await ensureDocument();
      return api.runtime.sendMessage(message(TARGET.HOST, type, data));
    },
  };
}
