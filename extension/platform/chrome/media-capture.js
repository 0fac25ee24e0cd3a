// @ts-check
/**
 * Chrome: a media element the extension cannot fetch is not recorded in the page; Chrome has
 * tab capture for that ("Demix this tab"). Same exports as platform/firefox/media-capture.js.
 */

export const RECORDING_TYPE = 'audio/webm';
import { t } from '../shared/i18n.js';
/** Whether a media element the extension cannot fetch is recorded in its page. */
export const RECORDS_IN_PAGE = false;

/**
 * @param {{tabId: number, frameId: number, mediaType?: string, srcUrl: string, token: string}} where
 * @returns {Promise<{started: true} | {error: string}>}
 */
export async function startRecorder({ srcUrl }) {
  return { error: t('fetchUnreadableScheme', srcUrl.split(':')[0]) };
}

/** @param {{tabId: number, frameId: number, token: string}} _where */
export async function stopRecorder(_where) {
  return false;
}
