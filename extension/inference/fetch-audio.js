// @ts-check
/**
 * Download a URL job's audio, bounded in every way a server can stall or flood us:
 * - the job's AbortSignal reaches the request and the body reader: Cancel ends it at once;
 * - the headers must come within a deadline, and the body may not stall (bring less than
 *   16 KB in a window as long as another deadline: a byte a second never goes quiet);
 * - no more than the size limit is ever read: checked from Content-Length before reading, then
 *   counted on the decoded bytes as they arrive (so `Content-Encoding: gzip` cannot multiply
 *   them) and the download aborted beyond it; the body is gathered in Blobs of a few MB, which
 *   the browser may keep on disk, and never goes to the HTTP cache (`no-store`);
 * - an endless stream (internet radio) is recognised from its ICY headers before reading (where
 *   CORS lets us see them: not without a host grant), else, for a response without a length,
 *   by the audio time it brings (audio-time.js reads it from the container as the bytes come):
 *   audio arriving at no more than LIVE_RATE_FACTOR times the speed it plays, for a window of
 *   `liveWindowS` (a file from a web server comes many times faster than it plays), or more
 *   audio than the duration limit; a container audio-time.js does not cover still ends at the
 *   size limit.
 *
 * Browsers report every network failure as the same opaque TypeError; a second request that
 * does not follow redirects tells a redirect apart (explainFailure). The host that answered
 * last (`response.url`) is named where the browser lets us know it.
 */
import { DEFAULT_SETTINGS } from '../shared/settings.js';
import { AudioInputError, limitText } from './decode.js';
import { t } from '../shared/i18n.js';
import { CancelledError } from './cancelled.js';
import { AudioTimeCounter } from './audio-time.js';
import { liveStreamAdvice } from '../platform/tab-capture.js';

/** Body parts are joined into a Blob each time this much has arrived (the browser may page it out). */
const BLOB_PART_BYTES = 4 * 1024 * 1024;
/**
 * A body that brings less than this in each stall window counts as stalled: a server sending a
 * byte a second never goes quiet, yet would hold the (one-job-at-a-time) host for weeks.
 */
const STALL_MIN_BYTES = 16 * 1024;
/** The body's reading lets other tasks (a Cancel) run at least this often. */
const YIELD_EVERY_MS = 50;
/** Progress is reported at most this often (each report is a write of the job list). */
const PROGRESS_EVERY_MS = 500;
/** What radio servers (Icecast, SHOUTcast) send with an endless stream. */
const ICY_HEADERS = ['icy-name', 'icy-metaint', 'icy-br'];
/**
 * A response without a length that brings at most this many seconds of audio per second, for
 * the live window, is a live stream: a radio sends about 1 (plus a burst at the start), a web
 * server sends a file many times faster than it plays.
 */
export const LIVE_RATE_FACTOR = 1.5;
/** A chunk is judged this much at a time, so that a verdict comes within this many bytes. */
const RULE_PIECE_BYTES = 64 * 1024;
/** The audio rate is looked at at most this often (a point of the sliding window). */
const RATE_POINT_MS = 250;
/** What this browser offers for a live stream instead (platform/<browser>/tab-capture.js). */
const liveStreamMessage = () => t('fetchLiveStream', liveStreamAdvice());

/**
 * @typedef {{signal: AbortSignal, onBytes?: (received: number, total: number, audioS?: number) => void,
 *   onAccepted?: () => void, headersS?: number, stallS?: number, maxBytes?: number,
 *   maxDurationS?: number, liveWindowS?: number}} FetchOptions
 *   onBytes: total is 0 when the server did not say; audioS: the audio time received, where the
 *   response has no length and its container is one audio-time.js reads; onAccepted: once, when
 *   the server's answer passed every check of its headers and its body starts (not for file: URLs)
 */

/** @param {number} bytes */
const megabytes = (bytes) =>
  bytes >= 1e9 ? t('unitGigabytes', Math.round(bytes / 1e8) / 10) : t('unitMegabytes', Math.round(bytes / 1e5) / 10);

/**
 * @param {string} url
 * @param {FetchOptions} options
 * @returns {Promise<Blob>}
 */
export async function fetchAudio(url, options) {
  const parsed = parseUrl(url);
  if (parsed.protocol === 'file:') return fetchLocalFile(url, options.signal);
  const {
    signal,
    onBytes = () => {},
    onAccepted = () => {},
    headersS = DEFAULT_SETTINGS.fetchHeadersS,
    stallS = DEFAULT_SETTINGS.fetchStallS,
    maxBytes = DEFAULT_SETTINGS.maxInputBytes,
    maxDurationS = DEFAULT_SETTINGS.maxDurationS,
    liveWindowS = DEFAULT_SETTINGS.liveWindowS,
  } = options;
  // One controller for the request and its body: the job's Cancel and our deadlines abort it.
  const controller = new AbortController();
  /** @type {string | null} why we aborted, when it was a deadline or the size limit */
  let reason = null;
  const abortFor = (/** @type {string} */ why) => {
    reason ??= why;
    controller.abort();
  };
  const onCancel = () => controller.abort();
  signal.addEventListener('abort', onCancel);
  const host = parsed.host;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer = setTimeout(() => abortFor(t('fetchNoAnswer', host, headersS)), headersS * 1000);
  try {
    if (signal.aborted) throw new CancelledError();
    const response = await request(url, controller.signal).catch(async (/** @type {unknown} */ error) => {
      if (signal.aborted) throw new CancelledError();
      if (reason) throw new AudioInputError(t('fetchCouldNotDownload', reason));
      throw await explainFailure(url, parsed, controller.signal, error);
    });
    const where = new URL(response.url || url);
    const from = response.redirected ? ` ${t('fetchRedirectedFrom', host)}` : '';
    const shown = `${where.host}${from}`;
    if (!response.ok) throw new AudioInputError(t('fetchServerAnswered', response.status, `${where.href}${from}`));
    const type = (response.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (/^(text\/html|application\/json)$/.test(type)) {
      throw new AudioInputError(t('fetchWebPage', `${where.href}${from}`, type));
    }
    if (ICY_HEADERS.some((name) => response.headers.has(name))) throw new AudioInputError(liveStreamMessage());
    const declared = Number(response.headers.get('content-length') ?? NaN);
    const length = Number.isFinite(declared) && declared >= 0 ? declared : 0;
    const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
    if (length > maxBytes && !encoded) {
      throw new AudioInputError(
        t('fetchTooLarge', shown, megabytes(length), limitText(maxBytes)),
      );
    }
    // A live stream has no length; a file sent compressed has one, but not of what we count.
    const endless = !length && /^(audio|video)\/|^application\/ogg$/.test(type);
    const total = encoded ? 0 : length;
    // Without a length, only the audio itself tells a stream from a file.
    const clock = length ? null : new LiveStreamRule(maxDurationS, liveWindowS);
    if (!response.body) throw new AudioInputError(t('fetchNoBody', shown));
    const reader = response.body.getReader();
    /** @type {Blob[]} */
    const parts = [];
    /** @type {Uint8Array<ArrayBuffer>[]} */
    let pending = [];
    let pendingBytes = 0;
    let received = 0;
    let reported = 0;
    let yielded = performance.now();
    onAccepted();
    onBytes(0, total);
    let mark = 0;
    const watch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (received - mark < STALL_MIN_BYTES) {
          abortFor(t('fetchTooSlow', shown, received - mark, stallS));
        } else {
          mark = received;
          watch();
        }
      }, stallS * 1000);
    };
    watch();
    for (;;) {
      const { done, value } = await reader.read().catch(() => {
        if (signal.aborted) throw new CancelledError();
        if (reason) throw new AudioInputError(t('fetchStopped', reason));
        throw new AudioInputError(t('fetchBrokeOff', shown, megabytes(received)));
      });
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        reader.cancel().catch(() => {});
        throw new AudioInputError(
          endless
            ? liveStreamMessage()
            : t('fetchLargerThanLimit', shown, limitText(maxBytes)),
        );
      }
      const verdict = clock?.push(value, performance.now());
      if (verdict) {
        // What it came to: up to the bytes that decided (the rest of a big chunk is dropped).
        onBytes(received - (clock?.unread ?? 0), total, clock?.audioS);
        reader.cancel().catch(() => {});
        throw new AudioInputError(
          verdict === 'too-long'
            ? t('fetchLongerThanDuration', shown, Math.round(maxDurationS / 60), liveStreamAdvice())
            : liveStreamMessage(),
        );
      }
      pending.push(value);
      pendingBytes += value.byteLength;
      if (pendingBytes >= BLOB_PART_BYTES) {
        parts.push(new Blob(pending));
        pending = [];
        pendingBytes = 0;
      }
      const now = performance.now();
      if (now - reported >= PROGRESS_EVERY_MS) {
        reported = now;
        onBytes(received, total, clock?.audioS);
      }
      if (now - yielded >= YIELD_EVERY_MS) {
        // While the body is queued faster than we read it, each read resolves at once (a
        // microtask) and no task runs: a Cancel message would wait for the flood to end.
        await new Promise((resolve) => setTimeout(resolve, 0));
        yielded = performance.now();
      }
    }
    onBytes(received, total, clock?.audioS);
    return new Blob([...parts, new Blob(pending)], { type });
  } catch (error) {
    if (signal.aborted) throw new CancelledError();
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onCancel);
    controller.abort(); // ends a body we stopped reading
  }
}

/**
 * The audio time of a response without a length, and whether it is a live stream: over a
 * sliding window of `windowS` seconds of wall time, the audio time that arrived is at most
 * LIVE_RATE_FACTOR times the window ('live'); or the audio goes beyond `maxDurationS`
 * ('too-long'). Nothing is decided before audio-time.js has read some audio (a container it
 * does not cover, or bytes that only look like one, are left to the size limit).
 */
export class LiveStreamRule {
  /** @param {number} maxDurationS @param {number} windowS */
  constructor(maxDurationS, windowS) {
    this.maxDurationS = maxDurationS;
    this.windowMs = windowS * 1000;
    this.counter = new AudioTimeCounter();
    /** @type {{ms: number, audioS: number}[]} points of the window, oldest first */
    this.points = [];
    /** Bytes of the last chunk after the piece that decided. */
    this.unread = 0;
  }

  /** The audio time so far; undefined until some audio was read (a container we read, a first granule or frame). */
  get audioS() {
    return this.counter.format && this.counter.seconds > 0 ? this.counter.seconds : undefined;
  }

  /**
   * @param {Uint8Array} bytes  the next bytes of the body @param {number} nowMs
   * @returns {'live' | 'too-long' | null}  when not null, `unread` bytes at the end of `bytes`
   *   were not looked at (a browser may hand over many MB at once: Firefox on loopback)
   */
  push(bytes, nowMs) {
    for (let at = 0; at < bytes.length; at += RULE_PIECE_BYTES) {
      const piece = bytes.subarray(at, at + RULE_PIECE_BYTES);
      const verdict = this.pushPiece(piece, nowMs);
      if (verdict) {
        this.unread = bytes.length - at - piece.length;
        return verdict;
      }
    }
    return null;
  }

  /** @param {Uint8Array} bytes @param {number} nowMs */
  pushPiece(bytes, nowMs) {
    this.counter.push(bytes);
    const audioS = this.audioS;
    if (audioS === undefined) return null;
    if (audioS > this.maxDurationS) return 'too-long';
    const last = this.points.at(-1);
    if (!last || nowMs - last.ms >= RATE_POINT_MS) this.points.push({ ms: nowMs, audioS });
    // Keep one point at least a window old: the window's start.
    while (this.points.length > 1 && nowMs - this.points[1].ms >= this.windowMs) this.points.shift();
    const start = this.points[0];
    const spanMs = nowMs - start.ms;
    return spanMs >= this.windowMs && audioS - start.audioS <= (LIVE_RATE_FACTOR * spanMs) / 1000 ? 'live' : null;
  }
}

/**
 * With a host permission for the URL's origin the extension is exempt from CORS and sends the
 * user's cookies (media behind a login); without one, only CORS-readable media can be fetched,
 * and a credentialed request to a server answering `Access-Control-Allow-Origin: *` is refused
 * by the browser, so that case is retried without credentials. `no-store`: the audio goes to
 * IndexedDB, a second copy in the HTTP cache would only take disk (Firefox wrote 50 MB of an
 * endless stream there, its cache's largest entry, deleted later).
 * @param {string} url @param {AbortSignal} signal
 */
function request(url, signal) {
  return fetch(url, { credentials: 'include', cache: 'no-store', signal }).catch((error) => {
    if (signal.aborted) throw error;
    return fetch(url, { credentials: 'omit', cache: 'no-store', signal });
  });
}

/** @param {string} url */
function parseUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new AudioInputError(t('fetchIncompleteAddress', url));
  }
  if (!['http:', 'https:', 'file:'].includes(parsed.protocol)) {
    throw new AudioInputError(t('fetchBadScheme', parsed.protocol));
  }
  if (parsed.username || parsed.password) {
    // fetch refuses such a URL outright (a TypeError naming "credentials").
    throw new AudioInputError(
      t('fetchCredentials', `${parsed.username}${parsed.password ? ':…' : ''}@${parsed.host}`),
    );
  }
  return parsed;
}

/**
 * The request failed with the browser's opaque network error ("Failed to fetch", "NetworkError
 * when attempting to fetch resource": the same for a refused connection, a redirect to file://,
 * a redirect loop, CORS). A second request that does not follow redirects tells a redirect
 * apart; where it leads stays hidden (an opaque redirect's Location is not readable, and
 * Chromium refuses `no-cors` requests from extension pages, Firefox too with `manual`).
 * @param {string} url @param {URL} parsed @param {AbortSignal} signal @param {unknown} error
 * @returns {Promise<AudioInputError>}
 */
async function explainFailure(url, parsed, signal, error) {
  const host = parsed.host;
  if (error instanceof TypeError && /credentials/i.test(error.message)) {
    return new AudioInputError(t('fetchCredentialsHost', host));
  }
  /** @type {Response | null} */
  let probe = null;
  try {
    probe = await fetch(url, { redirect: 'manual', credentials: 'omit', signal });
    probe.body?.cancel().catch(() => {});
  } catch {
    // below
  }
  if (probe?.type === 'opaqueredirect') {
    return new AudioInputError(
      t('fetchRedirectRefused', host),
    );
  }
  return new AudioInputError(
    t('fetchNothingAnswered', host),
  );
}

/**
 * @param {string} url @param {AbortSignal} signal
 * @returns {Promise<Blob>}
 */
async function fetchLocalFile(url, signal) {
  const blob = await fetch(url, { signal })
    .then((r) => r.blob())
    .catch(() => null);
  if (signal.aborted) throw new CancelledError();
  if (!blob) {
    throw new AudioInputError(
      t('fetchLocalFiles'),
    );
  }
  return blob;
}
