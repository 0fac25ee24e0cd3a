// @ts-check
/**
 * Names of tracks and files, from untrusted page titles, URLs and file names. Pure functions.
 * The file-name rule has a Python twin (builder/names.py); both pass tests/data/file-names.json.
 */

const RESERVED = /^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i; // Windows device names
// Characters that change how a name displays without showing themselves: bidi controls (U+202E
// makes "song\u202Egnp.exe" display as "songexe.png"), zero-width ones, line/paragraph separators.
// U+200D goes too, though it joins emoji into one picture (family): Chromium's download sanitiser
// turns it into "_", so keeping it would make a single download's name differ from the zip's.
const INVISIBLE = /[\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF\u2028\u2029]/gu;
const UNSAFE = /[\u0000-\u001f\u007f-\u009f/\\:*?"<>|]+/g; // controls, path separators, reserved
/** Most characters of a name (filesystems cap a name at 255 bytes; the stem and type follow). */
export const MAX_NAME_CHARS = 120;
export const MAX_NAME_BYTES = 200;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const encoder = new TextEncoder();

/**
 * The longest prefix of whole graphemes within MAX_NAME_CHARS code points and MAX_NAME_BYTES
 * UTF-8 bytes: never half a character, an emoji or a letter without its accent.
 * @param {string} text
 */
function cut(text) {
  let chars = 0;
  let bytes = 0;
  let end = 0;
  for (const { segment, index } of segmenter.segment(text)) {
    chars += [...segment].length;
    bytes += encoder.encode(segment).length;
    if (chars > MAX_NAME_CHARS || bytes > MAX_NAME_BYTES) break;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

/**
 * A file-name-safe name: no bidi, zero-width or line-separator characters, no path separators,
 * control or reserved characters, no leading or trailing dots or spaces, cut by grapheme to
 * MAX_NAME_CHARS characters and MAX_NAME_BYTES bytes, never a Windows device name.
 * @param {string} name
 */
export function safeFileName(name) {
  const trimmed = name
    .normalize('NFC')
    .replace(INVISIBLE, '').replace(UNSAFE, '_').replace(/^[\s.]+|[\s.]+$/g, '');
  const cleaned = cut(trimmed).replace(/[\s.]+$/g, '');
  if (cleaned === '') return 'track';
  return RESERVED.test(cleaned) ? `track_${cleaned}` : cleaned;
}

/** The track's name from a URL's last path segment (without extension). @param {string} url */
export function nameFromUrl(url) {
  try {
    const last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
    const name = last.replace(/\.[a-z0-9]{2,5}$/i, '');
    return name ? safeFileName(name) : new URL(url).host || 'audio';
  } catch {
    return 'audio';
  }
}
