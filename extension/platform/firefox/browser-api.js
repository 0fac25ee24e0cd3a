// @ts-check
/** The only file that names the browser's extension API (Firefox build). */
// @ts-ignore -- Firefox's `browser` has the same promise-based shape as `chrome` for what we use.
export const api = /** @type {typeof chrome} */ (globalThis.browser);
