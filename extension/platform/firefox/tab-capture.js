// @ts-check
/** Firefox has no tabCapture API: a tab cannot be demixed live here. */
import { t } from '../shared/i18n.js';

export const CAN_CAPTURE_TABS = false;

/**
 * What a URL job that turned out to be a live stream offers instead: recording the page's
 * player while it plays (platform/firefox/media-capture.js), from its context menu.
 */
export const liveStreamAdvice = () => t('fetchLiveStreamRecord', t('menuDemixAudio'));

/**
 * @param {number} _tabId
 * @returns {Promise<string>}
 */
export async function tabStreamId(_tabId) {
  throw new Error(t('liveFirefoxNoTabCapture'));
}
