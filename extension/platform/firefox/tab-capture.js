// @ts-check
/** Firefox has no tabCapture API: a tab cannot be demixed live here. */
import { t } from '../shared/i18n.js';

export const CAN_CAPTURE_TABS = false;

/**
 * @param {number} _tabId
 * @returns {Promise<string>}
 */
export async function tabStreamId(_tabId) {
  throw new Error(t('liveFirefoxNoTabCapture'));
}
