// @ts-check
/**
 * Streaming sample-rate conversion by the browser's own resampler (the one decodeAudioData uses
 * on whole files): overlapping windows of the input, each wrapped as a float WAV and decoded by
 * an OfflineAudioContext at the model's rate, keep only their middles. Windows start on input
 * samples that map to whole output samples (multiples of rateIn / gcd), so the middles join
 * without a seam; the margins hide each window's edge effects.
 */
import { floatWav } from '../shared/wav.js';
import { joinPlanar } from './samples.js';

/** @param {number} a @param {number} b @returns {number} */
const gcd = (a, b) => (b === 0 ? a : gcd(b, a % b));

const WINDOW_S = 10; // input seconds kept per window (the middle)
const MARGIN_S = 0.05; // resampler filters are a few ms long

export class StreamResampler {
  /** @param {number} rateIn @param {number} rateOut @param {number} nbChannels */
  constructor(rateIn, rateOut, nbChannels) {
    const g = gcd(rateIn, rateOut);
    this.stepIn = rateIn / g;
    this.stepOut = rateOut / g;
    this.rateIn = rateIn;
    this.rateOut = rateOut;
    this.nbChannels = nbChannels;
    const roundUp = (/** @type {number} */ n) => Math.ceil(n / this.stepIn) * this.stepIn;
    this.window = roundUp(WINDOW_S * rateIn);
    this.margin = roundUp(MARGIN_S * rateIn);
    /** pending input (planar parts); its first sample is `keptBefore` samples before the next output's */
    /** @type {Float32Array[][]} */
    this.parts = [];
    this.pendingLength = 0;
    this.keptBefore = 0;
  }

  /**
   * Add input; returns the output that is now final (possibly empty).
   * @param {Float32Array[]} channels
   * @returns {Promise<Float32Array[]>}
   */
  async push(channels) {
    this.parts.push(channels);
    this.pendingLength += channels[0].length;
    /** @type {Float32Array[][]} */
    const out = [];
    while (this.pendingLength - this.keptBefore >= this.window + this.margin) {
      out.push(await this.#convert(this.window, false));
    }
    return joinPlanar(out, this.nbChannels);
  }

  /** The rest of the output, once the input has ended. @returns {Promise<Float32Array[]>} */
  async flush() {
    const rest = this.pendingLength - this.keptBefore;
    if (rest <= 0) return Array.from({ length: this.nbChannels }, () => new Float32Array(0));
    return this.#convert(rest, true);
  }

  /**
   * Resample the left margin, `length` new samples and (unless last) the right margin; keep the
   * output of the `length` new samples.
   * @param {number} length @param {boolean} last
   */
  async #convert(length, last) {
    const span = last ? this.pendingLength : this.keptBefore + length + this.margin;
    const input = joinPlanar(slicePrefix(this.parts, span), this.nbChannels);
    const context = new OfflineAudioContext(this.nbChannels, 1, this.rateOut);
    const decoded = await context.decodeAudioData(floatWav(input, this.rateIn));
    const skip = (this.keptBefore / this.stepIn) * this.stepOut;
    const keep = last ? Math.max(decoded.length - skip, 0) : (length / this.stepIn) * this.stepOut;
    const result = Array.from({ length: this.nbChannels }, (_, c) =>
      decoded.getChannelData(c).slice(skip, skip + keep),
    );
    // Keep `margin` samples before the next window's first new sample.
    const drop = this.keptBefore + length - this.margin;
    this.parts = sliceFrom(this.parts, drop);
    this.pendingLength -= drop;
    this.keptBefore = this.margin;
    return result;
  }
}

/** The parts covering the first `length` samples (views, no copy). @param {Float32Array[][]} parts @param {number} length */
function slicePrefix(parts, length) {
  /** @type {Float32Array[][]} */
  const out = [];
  let at = 0;
  for (const part of parts) {
    if (at >= length) break;
    const n = Math.min(part[0].length, length - at);
    out.push(part.map((ch) => ch.subarray(0, n)));
    at += n;
  }
  return out;
}

/** The parts after the first `length` samples (views, no copy). @param {Float32Array[][]} parts @param {number} length */
function sliceFrom(parts, length) {
  /** @type {Float32Array[][]} */
  const out = [];
  let at = 0;
  for (const part of parts) {
    const n = part[0].length;
    if (at + n > length) out.push(part.map((ch) => ch.subarray(Math.max(length - at, 0))));
    at += n;
  }
  return out;
}
