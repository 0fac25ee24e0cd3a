// @ts-check
/**
 * A forward-only window on a stream of decoded chunks: the separation loop asks for sample
 * ranges that only move forward, so chunks are pulled when a range needs them and dropped once
 * no later range can reach them. Memory: the chunks under the current range, not the track.
 */

export class SampleWindow {
  /** @param {AsyncIterator<Float32Array[]>} source  planar chunks, in order */
  constructor(source) {
    this.source = source;
    /** @type {{start: number, channels: Float32Array[]}[]} */
    this.chunks = [];
    this.available = 0; // samples pulled so far (absolute end of the last chunk)
    this.ended = false;
  }

  /** The track's length, once the source has ended. */
  get total() {
    return this.ended ? this.available : NaN;
  }

  /** Pull chunks until sample `end` (exclusive) is held or the source ends. @param {number} end */
  async ensure(end) {
    while (!this.ended && this.available < end) {
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      if (next.value[0].length === 0) continue;
      this.chunks.push({ start: this.available, channels: next.value });
      this.available += next.value[0].length;
    }
  }

  /**
   * Copy of samples [start, end) per channel; zeros before 0 and past the end of the track.
   * @param {number} start @param {number} end @param {number} nbChannels
   * @param {Float32Array[] | null} [into]  an earlier read's result its caller is done with,
   *   filled again if its size is right (a long track's chunks would otherwise leave their
   *   copies to the GC)
   */
  read(start, end, nbChannels, into = null) {
    const reuse = into?.length === nbChannels && into.every((c) => c.length === end - start);
    const out = reuse && into ? into : Array.from({ length: nbChannels }, () => new Float32Array(end - start));
    if (reuse) {
      // The chunks held are contiguous: zeros outside them (a new array has them already).
      const length = end - start;
      const heldFrom = Math.min(Math.max((this.chunks[0]?.start ?? this.available) - start, 0), length);
      const heldTo = Math.max(Math.min(this.available - start, length), heldFrom);
      for (const c of out) c.fill(0, 0, heldFrom).fill(0, heldTo);
    }
    for (const { start: at, channels } of this.chunks) {
      const lo = Math.max(start, at);
      const hi = Math.min(end, at + channels[0].length);
      if (lo >= hi) continue;
      for (let c = 0; c < nbChannels; c++) {
        out[c].set(channels[c % channels.length].subarray(lo - at, hi - at), lo - start);
      }
    }
    return out;
  }

  /** Forget the chunks that end at or before sample `start`. @param {number} start */
  discardBefore(start) {
    while (this.chunks.length > 0) {
      const first = this.chunks[0];
      if (first.start + first.channels[0].length > start) break;
      this.chunks.shift();
    }
  }

  /** The whole track in memory (models that need it all, e.g. for its statistics). */
  async all() {
    await this.ensure(Infinity);
    if (this.chunks.length === 1 && this.chunks[0].start === 0) return this.chunks[0].channels;
    const nbChannels = this.chunks[0]?.channels.length ?? 2;
    const whole = this.read(0, this.available, nbChannels);
    this.chunks = [{ start: 0, channels: whole }];
    return whole;
  }
}

/**
 * Blocks of planar channels joined end to end (a single block is returned as it is).
 * @param {Float32Array[][]} blocks @param {number} nbChannels
 */
export function joinPlanar(blocks, nbChannels) {
  if (blocks.length === 1) return blocks[0];
  const total = blocks.reduce((n, b) => n + b[0].length, 0);
  const out = Array.from({ length: nbChannels }, () => new Float32Array(total));
  let at = 0;
  for (const block of blocks) {
    for (let c = 0; c < nbChannels; c++) out[c].set(block[c], at);
    at += block[0].length;
  }
  return out;
}
