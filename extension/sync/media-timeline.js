// @ts-check
/**
 * Stereo samples placed on a media element's timeline (sample index = media time x rate), in
 * pages of PAGE_SAMPLES, each knowing how much of it was written. Reads give zeros where nothing
 * is; `filledFrom` says how far from a point the samples are contiguous. Memory is bounded by
 * `maxPages`: the pages farthest from `focus` (the playhead) are dropped first.
 */

export const PAGE_SAMPLES = 1 << 15; // 0.74 s at 44.1 kHz

export class MediaTimeline {
  /** @param {number} sampleRate @param {number} [maxPages]  default: 20 minutes of audio */
  constructor(sampleRate, maxPages = Math.ceil((20 * 60 * sampleRate) / PAGE_SAMPLES)) {
    this.sampleRate = sampleRate;
    this.maxPages = maxPages;
    /** @type {Map<number, {channels: Float32Array[], filled: number}>} filled: samples written (a page is written once, in order) */
    this.pages = new Map();
    this.focus = 0;
  }

  /** @param {number} index */
  page(index) {
    let page = this.pages.get(index);
    if (!page) {
      if (this.pages.size >= this.maxPages) this.evict();
      page = { channels: [new Float32Array(PAGE_SAMPLES), new Float32Array(PAGE_SAMPLES)], filled: 0 };
      this.pages.set(index, page);
    }
    return page;
  }

  evict() {
    let far = -1;
    let distance = -1;
    const focusPage = Math.floor(this.focus / PAGE_SAMPLES);
    for (const index of this.pages.keys()) {
      const d = Math.abs(index - focusPage);
      if (d > distance) [far, distance] = [index, d];
    }
    this.pages.delete(far);
  }

  /**
   * Write planar stereo `channels` from sample `start` (negative parts are dropped).
   * @param {number} start @param {Float32Array[]} channels
   */
  write(start, channels) {
    const length = channels[0].length;
    let from = Math.max(0, -start);
    while (from < length) {
      const at = start + from;
      const index = Math.floor(at / PAGE_SAMPLES);
      const offset = at - index * PAGE_SAMPLES;
      const n = Math.min(PAGE_SAMPLES - offset, length - from);
      const page = this.page(index);
      for (let c = 0; c < 2; c++) page.channels[c].set(channels[c % channels.length].subarray(from, from + n), offset);
      page.filled = Math.max(page.filled, offset + n);
      from += n;
    }
  }

  /**
   * The end of the contiguous samples from `start` (== start when there are none).
   * @param {number} start
   */
  filledFrom(start) {
    let at = start;
    for (;;) {
      const index = Math.floor(at / PAGE_SAMPLES);
      const page = this.pages.get(index);
      const offset = at - index * PAGE_SAMPLES;
      if (!page || page.filled <= offset) return at;
      at = index * PAGE_SAMPLES + page.filled;
      if (page.filled < PAGE_SAMPLES) return at;
    }
  }

  /**
   * Copy samples [start, start + length) into `out` (2 channels), zeros where nothing is.
   * @param {number} start @param {Float32Array[]} out @param {number} [outOffset] @param {number} [length]
   */
  read(start, out, outOffset = 0, length = out[0].length - outOffset) {
    let done = 0;
    while (done < length) {
      const at = start + done;
      const index = Math.floor(at / PAGE_SAMPLES);
      const offset = at - index * PAGE_SAMPLES;
      const n = Math.min(PAGE_SAMPLES - offset, length - done);
      const page = this.pages.get(index);
      for (let c = 0; c < 2; c++) {
        if (page) out[c].set(page.channels[c].subarray(offset, offset + n), outOffset + done);
        else out[c].fill(0, outOffset + done, outOffset + done + n);
      }
      done += n;
    }
  }

  /** Forget everything from sample `start` on (a new source, or what the player removed). @param {number} start */
  clearFrom(start) {
    for (const index of [...this.pages.keys()]) {
      if ((index + 1) * PAGE_SAMPLES <= start) continue;
      if (index * PAGE_SAMPLES >= start) this.pages.delete(index);
      else {
        const page = /** @type {{filled: number}} */ (this.pages.get(index));
        page.filled = Math.min(page.filled, start - index * PAGE_SAMPLES);
      }
    }
  }

  clear() {
    this.pages.clear();
  }
}
