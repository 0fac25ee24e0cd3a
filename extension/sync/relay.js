// @ts-check
/**
 * Sync mode's relay: the isolated-world content script beside the tap (tap.js). Everything the
 * tap posts is also what the page could post, so it is validated and bounded here before it
 * leaves the tab: known kinds and fields only, an append at most APPEND_MAX_BYTES, at most
 * IN_FLIGHT_MAX_BYTES sent and not yet taken by the inference host (a page appending faster
 * than the host decodes loses its own appends, counted, nothing else). Bytes go to the
 * inference host over one runtime port in base64 parts of PART_BYTES (Chrome's messages are
 * JSON). The element's clock is read here, from the DOM, not from the page's word.
 * A classic script, registered alone: it names the extension API itself.
 */
(() => {
  const TAG = 'demixer-sync-tap';
  const PORT = 'demixer-sync';
  const APPEND_MAX_BYTES = 16 * 1024 * 1024; // an audio segment is tens to hundreds of kB
  const IN_FLIGHT_MAX_BYTES = 64 * 1024 * 1024;
  const IN_FLIGHT_MAX_APPENDS = 2048;
  const PART_BYTES = 192 * 1024;
  const MAX_BUFFERS = 64;
  const CLOCK_MS = 200;
  const api = /** @type {typeof chrome} */ (/** @type {any} */ (globalThis).browser ?? globalThis.chrome);
  // The length of an ArrayBuffer from either world: `instanceof ArrayBuffer` is false in Firefox,
  // where the page's buffer is another compartment's object seen through a wrapper; the getter
  // itself sees through it (and throws on anything that is not an ArrayBuffer).
  const byteLengthOf = /** @type {(this: unknown) => number} */ (
    /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')).get
  );
  /** @param {unknown} value  its byte length if it is an ArrayBuffer, else -1 */
  const bufferLength = (value) => {
    try {
      return byteLengthOf.call(value);
    } catch {
      return -1;
    }
  };

  /** @type {chrome.runtime.Port | null} */
  let port = null;
  let inFlight = 0;
  let inFlightAppends = 0;
  let nextAppend = 0;
  const skipped = { invalid: 0, tooLarge: 0, overQueue: 0 };

  function connect() {
    try {
      port = api.runtime.connect({ name: PORT });
    } catch {
      port = null; // the extension was reloaded: this page's relay is orphaned
      return;
    }
    port.onMessage.addListener((msg) => {
      if (msg?.kind === 'ack' && Number.isFinite(msg.bytes)) {
        inFlight = Math.max(0, inFlight - msg.bytes);
        inFlightAppends = Math.max(0, inFlightAppends - 1);
      }
    });
    port.onDisconnect.addListener(() => {
      port = null;
    });
  }

  /** @param {Record<string, unknown>} msg */
  function send(msg) {
    if (!port) connect();
    try {
      port?.postMessage(msg);
    } catch {
      port = null;
    }
  }

  /** @param {Uint8Array} bytes */
  function base64(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(text);
  }

  const isBuffer = (/** @type {unknown} */ id) => Number.isInteger(id) && /** @type {number} */ (id) >= 0 && /** @type {number} */ (id) < MAX_BUFFERS;
  const isMime = (/** @type {unknown} */ m) => typeof m === 'string' && m.length > 0 && m.length <= 200;
  const isTime = (/** @type {unknown} */ t) => typeof t === 'number' && Number.isFinite(t) && Math.abs(t) < 1e7;

  /** @param {any} data */
  function relay(data) {
    switch (data.kind) {
      case 'source':
        return send({ kind: 'source' });
      case 'add':
        if (!isBuffer(data.buffer) || !isMime(data.mime)) break;
        return send({ kind: 'add', buffer: data.buffer, mime: data.mime });
      case 'type':
        if (!isBuffer(data.buffer) || !isMime(data.mime)) break;
        return send({ kind: 'type', buffer: data.buffer, mime: data.mime });
      case 'end':
        return send({ kind: 'end' });
      case 'abort':
        if (!isBuffer(data.buffer)) break;
        return send({ kind: 'abort', buffer: data.buffer });
      case 'remove':
        if (!isBuffer(data.buffer) || !isTime(data.start) || !isTime(data.end)) break;
        return send({ kind: 'remove', buffer: data.buffer, start: data.start, end: data.end });
      case 'append': {
        const length = bufferLength(data.bytes);
        if (!isBuffer(data.buffer) || !isTime(data.offset) || length < 0) break;
        if (length === 0) return undefined;
        if (length > APPEND_MAX_BYTES) {
          skipped.tooLarge += 1;
          return send({ kind: 'skipped', ...skipped });
        }
        if (inFlight + length > IN_FLIGHT_MAX_BYTES || inFlightAppends >= IN_FLIGHT_MAX_APPENDS) {
          skipped.overQueue += 1;
          return send({ kind: 'skipped', ...skipped });
        }
        // A copy in this world (bounded above), read natively: no element-wise reads through a wrapper.
        const bytes = new Uint8Array(structuredClone(data.bytes));
        inFlight += bytes.length;
        inFlightAppends += 1;
        const id = nextAppend++;
        const parts = Math.ceil(bytes.length / PART_BYTES);
        for (let part = 0; part < parts; part++) {
          const data64 = base64(bytes.subarray(part * PART_BYTES, (part + 1) * PART_BYTES));
          send({ kind: 'append', buffer: data.buffer, offset: data.offset, id, part, parts, size: bytes.length, data: data64 });
        }
        return undefined;
      }
      default:
    }
    skipped.invalid += 1;
    return send({ kind: 'skipped', ...skipped });
  }

  window.addEventListener('message', (event) => {
    if (event.source !== window || event.data?.tag !== TAG) return;
    relay(event.data);
  });

  /** The element the tapped MediaSource feeds: a media element playing a blob: URL (the playing one first). */
  function element() {
    const all = /** @type {HTMLMediaElement[]} */ ([...document.querySelectorAll('video, audio')]);
    const fed = all.filter((e) => e.currentSrc.startsWith('blob:') || e.srcObject);
    return fed.find((e) => !e.paused) ?? fed[0] ?? null;
  }

  let lastClock = 0;
  function clock() {
    const media = element();
    if (!media) return;
    lastClock = performance.now();
    send({
      kind: 'clock',
      t: media.currentTime,
      at: performance.timeOrigin + performance.now(),
      paused: media.paused,
      waiting: media.readyState < 3, // HAVE_FUTURE_DATA: the element may be stalled
      rate: media.playbackRate,
      ended: media.ended,
      volume: media.volume,
      muted: media.muted,
    });
  }
  for (const type of ['play', 'playing', 'pause', 'seeking', 'seeked', 'ratechange', 'waiting', 'ended', 'emptied', 'volumechange']) {
    document.addEventListener(type, clock, true);
  }
  setInterval(() => {
    if (performance.now() - lastClock >= CLOCK_MS - 20) clock();
  }, CLOCK_MS);
})();
