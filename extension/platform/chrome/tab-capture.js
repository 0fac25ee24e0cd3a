// @ts-check
/** Chrome: a tab's audio stream id, for the offscreen document's getUserMedia. */
import { api } from './browser-api.js';
import { t } from '../shared/i18n.js';

export const CAN_CAPTURE_TABS = true;

/** What a URL job that turned out to be a live stream offers instead: the tab's live demixing. */
export const liveStreamAdvice = () => t('fetchLiveStreamTab', t('liveDemixTab'));

/**
 * Must run while the extension is invoked for the tab (context menu, action, popup button):
 * otherwise Chrome answers "Extension has not been invoked for the current page".
 * @param {number} tabId
 * @returns {Promise<string>}
 */
export const tabStreamId = (tabId) => api.tabCapture.getMediaStreamId({ targetTabId: tabId });
