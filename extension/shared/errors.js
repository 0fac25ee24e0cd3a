// @ts-check
/**
 * What a caught value says, for the user or a report: an Error's message (a DOMException is an
 * Error), anything else as text (a rejected string, a worker's error field).
 * @param {unknown} error
 * @returns {string}
 */
export const errorText = (error) => (error instanceof Error ? error.message : String(error));
