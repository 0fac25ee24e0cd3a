// @ts-check
/** Names of tracks and files, from untrusted page titles, URLs and file names. Pure functions. */

const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i; // Windows device names

/**
 * A file-name-safe track name: no path separators, control or reserved characters, no leading
 * or trailing dots or spaces, at most 120 characters, never a Windows device name.
 * @param {string} name
 */
export function safeFileName(name) {
  const cleaned = name
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '')
    .slice(0, 120)
    .replace(/[\s.]+$/g, '');
  if (cleaned === '') return 'track';
  return RESERVED.test(cleaned) ? `track_${cleaned}` : cleaned;
}

/** The track's name from a URL's last path segment (without extension). @param {string} url */
export function nameFromUrl(url) {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
    return last.replace(/\.[a-z0-9]{2,5}$/i, '') || new URL(url).host || 'audio';
  } catch {
    return 'audio';
  }
}
