// @ts-check
/**
 * The match pattern of a page's site, as sync mode asks for it and registers its scripts on it
 * (ui/sync-view.js, background/sync-sites.js). Firefox's patterns have no port: a pattern whose
 * host is `host:8080` is granted and then matches no URL at all (measured on 153 ESR:
 * MatchPattern's `matches` is false for that very page, tabs.query hides its URL, content
 * scripts skip it), so the pattern is the host's, every port of it.
 */

/** @param {string} url  the `scheme://host/*` pattern of an http(s) page, or null */
export function sitePattern(url) {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' ? `${protocol}//${hostname}/*` : null;
  } catch {
    return null;
  }
}
