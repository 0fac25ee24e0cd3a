// @ts-check
/**
 * Sync mode's tap, run in the page's main world at document_start on a site the user turned
 * "Karaoke in sync" on for (registered by background.js, never at install). It wraps the
 * MediaSource calls a player makes and posts a copy of what it appends to audio SourceBuffers to
 * the relay (relay.js, the isolated world), which validates and bounds everything: this script
 * is readable and replaceable by the page, so it holds nothing the page could not forge anyway.
 * A classic script, registered alone: no imports, no extension API.
 */
(() => {
  const TAG = 'demixer-sync-tap';
  if (typeof MediaSource === 'undefined' || typeof SourceBuffer === 'undefined') return;
  // Taken before any page script runs, so a page that replaces them later changes nothing here.
  const post = window.postMessage.bind(window);
  const origin = location.origin;
  const sourceProto = MediaSource.prototype;
  const bufferProto = SourceBuffer.prototype;
  const { addSourceBuffer, endOfStream } = sourceProto;
  const { appendBuffer, remove, abort, changeType } = bufferProto;
  const offsetOf = Object.getOwnPropertyDescriptor(bufferProto, 'timestampOffset')?.get;
  /** @type {WeakMap<SourceBuffer, {id: number, audio: boolean}>} */
  const buffers = new WeakMap();
  /** @type {WeakMap<MediaSource, number>} */
  const sources = new WeakMap();
  let nextBuffer = 0;
  let nextSource = 0;

  /** @param {Record<string, unknown>} data */
  const send = (data) => post({ tag: TAG, ...data }, origin);
  /** A MIME type with only audio in it (a muxed audio+video buffer is not tapped yet). @param {string} type */
  const isAudio = (type) => /^audio\//i.test(type);

  /** @this {MediaSource} @param {string} type */
  sourceProto.addSourceBuffer = function (type) {
    const buffer = addSourceBuffer.call(this, type);
    if (!sources.has(this)) {
      sources.set(this, nextSource++);
      send({ kind: 'source', source: sources.get(this) });
    }
    const entry = { id: nextBuffer++, audio: isAudio(String(type)) };
    buffers.set(buffer, entry);
    if (entry.audio) send({ kind: 'add', buffer: entry.id, source: sources.get(this), mime: String(type) });
    return buffer;
  };

  /** @this {MediaSource} @param {any[]} args */
  sourceProto.endOfStream = function (...args) {
    const result = endOfStream.apply(this, /** @type {any} */ (args));
    if (sources.has(this) && args[0] === undefined) send({ kind: 'end', source: sources.get(this) });
    return result;
  };

  /** @this {SourceBuffer} @param {BufferSource} data */
  bufferProto.appendBuffer = function (data) {
    const entry = buffers.get(this);
    if (entry?.audio) {
      // Copied before the call: the page may reuse its buffer once appendBuffer returns.
      const view = ArrayBuffer.isView(data)
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : new Uint8Array(/** @type {ArrayBuffer} */ (data));
      send({ kind: 'append', buffer: entry.id, offset: offsetOf?.call(this) ?? 0, bytes: view.slice().buffer });
    }
    return appendBuffer.call(this, data);
  };

  /** @this {SourceBuffer} @param {number} start @param {number} end */
  bufferProto.remove = function (start, end) {
    const entry = buffers.get(this);
    if (entry?.audio) send({ kind: 'remove', buffer: entry.id, start: Number(start), end: Number(end) });
    return remove.call(this, start, end);
  };

  /** @this {SourceBuffer} */
  bufferProto.abort = function () {
    const entry = buffers.get(this);
    if (entry?.audio) send({ kind: 'abort', buffer: entry.id });
    return abort.call(this);
  };

  if (changeType) {
    /** @this {SourceBuffer} @param {string} type */
    bufferProto.changeType = function (type) {
      const entry = buffers.get(this);
      if (entry) {
        entry.audio = isAudio(String(type));
        send({ kind: 'type', buffer: entry.id, mime: String(type), audio: entry.audio });
      }
      return changeType.call(this, type);
    };
  }
})();
