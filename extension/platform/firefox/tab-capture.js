// @ts-check
/** Firefox has no tabCapture API: a tab cannot be demixed live here. */

export const CAN_CAPTURE_TABS = false;

/**
 * @param {number} _tabId
 * @returns {Promise<string>}
 */
export async function tabStreamId(_tabId) {
  throw new Error('Firefox cannot capture a tab\u2019s audio (it has no tabCapture API).');
}
