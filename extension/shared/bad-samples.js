// @ts-check
/**
 * Samples that are not sound: NaN, infinities, and finite values far beyond full scale (a float
 * file's damage). Pure: the inference host cleans and counts them, the job list reports them.
 */
import { t } from './i18n.js';

/** A decoded sample beyond ±SAMPLE_BOUND is damage, not sound (ARCHITECTURE.md, Decisions). */
export const SAMPLE_BOUND = 1000;
/** More replaced samples than this fraction of the track: the file is refused. */
export const MAX_REPLACED_FRACTION = 0.01;

/**
 * The check of decoded samples where they enter the pipeline (inference/decode.js, both paths): NaN and
 * infinities, and finite samples beyond ±SAMPLE_BOUND, become 0 and are counted, per channel
 * of the file (a mono file's one array, shared by both sides of the stereo, counts once). The
 * same rule as builder/audio_io.py `clean_samples`.
 */
export class SampleCheck {
  /** @param {number} judgeAfter  samples seen before a verdict mid-track (a burst at the start of a
   *   streamed track must not refuse a file that is fine as a whole) */
  constructor(judgeAfter) {
    this.judgeAfter = judgeAfter;
    this.notNumbers = 0;
    this.outOfRange = 0;
    this.seen = 0;
    this.peak = 0;
  }

  /** Cleans `channels` in place. @param {Float32Array[]} channels */
  clean(channels) {
    channels.forEach((data, c) => {
      if (channels.indexOf(data) !== c) return; // the same array again (mono as stereo)
      for (let i = 0; i < data.length; i++) {
        const value = data[i];
        if (value >= -SAMPLE_BOUND && value <= SAMPLE_BOUND) continue; // false for NaN
        if (Number.isFinite(value)) {
          this.outOfRange += 1;
          this.peak = Math.max(this.peak, Math.abs(value));
        } else {
          this.notNumbers += 1;
        }
        data[i] = 0;
      }
      this.seen += data.length;
    });
  }

  /**
   * Throws when too many samples were replaced (e.g. a float WAV of 16-bit integer values, which
   * would become silence): once `judgeAfter` samples were seen, and at the end of the track.
   * @param {boolean} ended
   */
  verdict(ended) {
    if (!ended && this.seen < this.judgeAfter) return;
    const replaced = this.notNumbers + this.outOfRange;
    if (replaced <= MAX_REPLACED_FRACTION * this.seen) return;
    throw new Error(
      t('samplesRefused', Math.round((100 * replaced) / this.seen), SAMPLE_BOUND, this.peak.toPrecision(3)),
    );
  }

}

/**
 * @param {{notNumbers: number, outOfRange: number}} replaced
 * @returns {string}
 */
export function replacedWarning({ notNumbers, outOfRange }) {
  const told = (/** @type {number} */ n, /** @type {() => string} */ one, /** @type {() => string} */ many) =>
    n === 0 ? '' : n === 1 ? one() : many();
  return [
    told(notNumbers, () => t('samplesNotNumberOne', 1), () => t('samplesNotNumberMany', notNumbers)),
    told(outOfRange, () => t('samplesOutOfRangeOne', 1, SAMPLE_BOUND), () => t('samplesOutOfRangeMany', outOfRange, SAMPLE_BOUND)),
  ]
    .filter(Boolean)
    .join(' ');
}
