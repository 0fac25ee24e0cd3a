// @ts-check
/** The only file that names the browser's extension API (Chrome build). */
export const api = /** @type {typeof chrome} */ (globalThis.chrome);
