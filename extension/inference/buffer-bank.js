// @ts-check
/**
 * Spare Float32Arrays by length, for a stream of chunks that needs the same few sizes of buffer
 * over and over (a patch's input and output, a chunk's masks). Reusing them instead of allocating
 * each chunk's keeps a long track from leaving tens of MB of garbage per chunk, which Firefox's
 * GC lets pile up to a few hundred MB (the 60-minute peak).
 */
export class BufferBank {
  /** @param {number} [perLength]  spares kept of each length; more are left to the GC */
  constructor(perLength = 4) {
    this.perLength = perLength;
    /** @type {Map<number, Float32Array[]>} */
    this.spare = new Map();
  }

  /** A buffer of `length` floats, a spare (old values) or a new one (zeros). @param {number} length */
  take(length) {
    return this.spare.get(length)?.pop() ?? new Float32Array(length);
  }

  /**
   * Keep `array` for a later take(): its owner reads it no more. Views of part of a buffer and
   * detached ones (transferred to another thread) are not kept.
   * @param {Float32Array} array
   */
  give(array) {
    if (array.byteOffset !== 0 || array.byteLength === 0 || array.byteLength !== array.buffer.byteLength) return;
    const list = this.spare.get(array.length) ?? [];
    if (list.length < this.perLength) list.push(array);
    this.spare.set(array.length, list);
  }
}
