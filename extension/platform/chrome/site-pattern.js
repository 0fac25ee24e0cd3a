// @ts-check
/**
 * The match pattern of a page's site, as sync mode asks for it and registers its scripts on it
 * (ui/sync-view.js, background/sync-sites.js). Chrome's patterns name the port.
 */

/** @param {string} url  the `origin/*` pattern of an http(s) page, or null */
export function sitePattern(url) {
  try {
    const { protocol, origin } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' ? `${origin}/*` : null;
  } catch {
    return null;
  }
}
