// @ts-check
/**
 * The HTDemucs family (waveform models) in the browser: twin of builder/segments.py, which documents the
 * arrangement (demucs's `apply_model` with shifts 0 and `demucs.separate`'s normalisation):
 * normalise by the mono mix -> segments of the training length every 3/4 segment, taken with real
 * neighbouring samples where the track has them -> demucs's STFT (reflect padding, Hann,
 * normalised, complex as channels) -> model (time and spectral branches) -> demucs's iSTFT ->
 * sum of the branches -> triangle-weighted overlap-add. FFTs: complex-fft.js (PFFFT), two
 * channels per transform.
 */
import { complexFft } from '../complex-fft.js';
import { hannPeriodic } from '../window.js';
import { t } from '../../shared/i18n.js';
import { errorText } from '../../shared/errors.js';

/**
 * @typedef {{nFft: number, nHop: number}} DemucsStft
 * @typedef {{runNamed: (feeds: Record<string, {data: Float32Array, dims: number[]}>) =>
 *   Promise<Record<string, Float32Array>>}} NamedRunner
 */

/** apply_model's triangle weight, maximal mid-segment (transition_power 1). @param {number} n */
export function transitionWeight(n) {
  const half = Math.floor(n / 2);
  const w = new Float32Array(n);
  for (let i = 0; i < half; i++) w[i] = i + 1;
  for (let i = half; i < n; i++) w[i] = n - i;
  const max = Math.max(half, n - half);
  for (let i = 0; i < n; i++) w[i] /= max;
  return w;
}

/** @param {number} i @param {number} length  torch's 'reflect' (no edge repeat) */
function reflect(i, length) {
  if (i < 0) return -i;
  if (i >= length) return 2 * (length - 1) - i;
  return i;
}

export class DemucsSpectrogram {
  /**
   * @param {DemucsStft} stft @param {number} segmentLength @param {number} nbChannels
   * @param {import('../complex-fft.js').ComplexFft} fft  of stft.nFft points
   */
  constructor(stft, segmentLength, nbChannels, fft) {
    const { nFft, nHop } = stft;
    this.nFft = nFft;
    this.nHop = nHop;
    this.nbChannels = nbChannels;
    this.segmentLength = segmentLength;
    this.nbBins = nFft / 2; // demucs drops the Nyquist bin
    this.nbFrames = Math.ceil(segmentLength / nHop);
    this.pad = (nHop / 2) * 3; // HTDemucs._spec: frame g covers x[g * nHop - pad, + nFft)
    this.window = hannPeriodic(nFft);
    this.scale = 1 / Math.sqrt(nFft); // torch.stft(normalized=True)
    // iSTFT: overlap-add of w * frame divided by sum of w^2 over the overlapping frames.
    this.envelope = new Float32Array(nHop);
    for (let n = 0; n < nFft; n++) this.envelope[n % nHop] += this.window[n] * this.window[n];
    this.fft = fft;
  }

  /** @param {DemucsStft} stft @param {number} segmentLength @param {number} nbChannels */
  static async create(stft, segmentLength, nbChannels) {
    return new DemucsSpectrogram(stft, segmentLength, nbChannels, await complexFft(stft.nFft));
  }

  /**
   * The model's `spec` input: (1, 2 * nbChannels, nbBins, nbFrames), [re, im] per channel.
   * @param {Float32Array[]} segment  planar channels of segmentLength samples
   */
  analyse(segment) {
    const { nFft, nHop, nbBins, nbFrames, pad, segmentLength } = this;
    const data = new Float32Array(2 * this.nbChannels * nbBins * nbFrames);
    const z = this.fft.input;
    /** channel c's planes of `data`, from bin 0 of frame 0 @param {number} c */
    const planes = (c) => ({
      re: data.subarray(2 * c * nbBins * nbFrames),
      im: data.subarray((2 * c + 1) * nbBins * nbFrames),
    });
    for (let c0 = 0; c0 < segment.length; c0 += 2) {
      const left = segment[c0];
      const right = segment[c0 + 1];
      const [leftOut, rightOut] = [planes(c0), right ? planes(c0 + 1) : null];
      for (let g = 0; g < nbFrames; g++) {
        const start = g * nHop - pad;
        for (let n = 0; n < nFft; n++) {
          // demucs reflect-pads the segment (by `pad`, and to whole hops at the end)
          const at = reflect(start + n, segmentLength);
          z[2 * n] = left[at] * this.window[n];
          z[2 * n + 1] = right ? right[at] * this.window[n] : 0;
        }
        this.fft.forward();
        this.fft.splitRealPair(nbBins, leftOut, rightOut, g, nbFrames, this.scale);
      }
    }
    return { data, dims: [1, 2 * this.nbChannels, nbBins, nbFrames] };
  }

  /**
   * demucs's iSTFT of one stem of `spec_out` (1, nbStems, 2 * nbChannels, nbBins, nbFrames),
   * added into `out` (planar channels of segmentLength samples).
   * @param {Float32Array} specOut @param {number} stem @param {Float32Array[]} out
   */
  synthesiseInto(specOut, stem, out) {
    const { nFft, nHop, nbBins, nbFrames, pad, segmentLength } = this;
    const C = this.nbChannels;
    const plane = nbBins * nbFrames;
    const gain = 1 / Math.sqrt(nFft); // torch.istft(normalized=True) of an inverse FFT not divided by nFft
    /** channel c's planes of this stem, from bin 0 of frame 0 @param {number} c */
    const planes = (c) => ({
      re: specOut.subarray((stem * 2 * C + 2 * c) * plane),
      im: specOut.subarray((stem * 2 * C + 2 * c + 1) * plane),
    });
    for (let c0 = 0; c0 < C; c0 += 2) {
      // Two channels per inverse FFT: ifft(L + iR) has L in its real part and R in its imaginary.
      const [left, right] = [planes(c0), c0 + 1 < C ? planes(c0 + 1) : null];
      for (let g = 0; g < nbFrames; g++) {
        // bins k of frame g at g + k * nbFrames; the Nyquist bin (demucs drops it) is 0
        this.fft.packRealPair(nbBins, left, right, g, nbFrames);
        this.fft.inverse();
        const y = this.fft.output;
        const start = g * nHop - pad;
        for (let c = c0; c < Math.min(c0 + 2, C); c++) {
          const part = c - c0;
          const target = out[c];
          for (let n = Math.max(0, -start); n < nFft && start + n < segmentLength; n++) {
            const at = start + n;
            target[at] += (y[2 * n + part] * gain * this.window[n]) / this.envelope[(at + pad) % nHop];
          }
        }
      }
    }
  }
}

/**
 * demucs.separate's normalisation: the mono mix's mean and unbiased standard deviation, in one
 * forward pass over the track (running sums of the samples and of their squared distance to the
 * first sample, so that a DC offset does not cancel digits). The sums are taken sample by sample
 * in order, so the result does not depend on how the track is cut into chunks: streamed or
 * whole, the same bits, hence the same stems (a random model's normalisation layers can amplify
 * a last-bit difference in a quiet passage). Yields an empty block per chunk (no stem samples
 * yet), so that the job can report and be cancelled during the pass.
 * @param {import('../samples.js').SampleWindow} samples  read to its end
 * @param {number} C  channels of the model
 * @param {boolean} keep  keep what was read (the same window is separated next) or drop it
 * @param {number} S  stems (for the empty blocks)
 * @param {{mean: number, std: number, total: number}} out  filled when the pass ends
 * @returns {AsyncGenerator<Float32Array[][]>}
 */
export async function* trackStatistics(samples, C, keep, S, out) {
  let n = 0;
  let sum = 0;
  let shift = NaN; // the first sample's mono value
  let shifted = 0;
  let squares = 0;
  for (;;) {
    const before = samples.available;
    await samples.ensure(before + 1);
    if (samples.available === before) break;
    for (const { start, channels } of samples.chunks) {
      if (start < before) continue;
      const length = channels[0].length;
      for (let i = 0; i < length; i++) {
        let m = 0;
        for (let c = 0; c < C; c++) m += channels[c % channels.length][i];
        m /= C;
        if (n === 0) shift = m;
        sum += m;
        shifted += m - shift;
        squares += (m - shift) ** 2;
        n += 1;
      }
    }
    if (!keep) samples.discardBefore(samples.available);
    yield Array.from({ length: S }, () => Array.from({ length: C }, () => new Float32Array(0)));
  }
  const deviation = n > 1 ? (squares - (shifted * shifted) / n) / (n - 1) : 0;
  out.mean = n > 0 ? sum / n : 0;
  out.std = deviation > 0 ? Math.sqrt(deviation) : 1; // digital silence: nothing to scale
  out.total = n;
}

/**
 * Stems of a whole track, yielded as blocks of finished samples (planar channels per stem), one per
 * segment: the track is read forward (a segment and the decoded chunks under it are held), and a
 * block is the part of the running overlap-add that no later segment reaches, so memory does not
 * grow with the track's length.
 * @param {import('../samples.js').SampleWindow} samples  the track at the model's rate
 * @param {{mean: number, std: number, total: number}} stats  trackStatistics' of the same track
 * @param {{stems: string[], nbChannels: number, stft: DemucsStft, segmentLength: number,
 *   overlap: number}} descriptor
 * @param {NamedRunner} runner
 * @param {(step: 'decode' | 'stft' | 'model' | 'istft') => void} lap
 * @returns {AsyncGenerator<Float32Array[][]>}
 */
export async function* segmentBlocks(samples, stats, descriptor, runner, lap) {
  const { segmentLength, nbChannels: C } = descriptor;
  const S = descriptor.stems.length;
  const { mean, std, total } = stats;
  const stride = Math.floor((1 - descriptor.overlap) * segmentLength);
  const weight = transitionWeight(segmentLength);
  const spectrogram = await DemucsSpectrogram.create(descriptor.stft, segmentLength, C);
  // Running sums over [offset, offset + segmentLength): stems weighted, and the weights.
  const acc = Array.from({ length: S }, () => Array.from({ length: C }, () => new Float32Array(segmentLength)));
  const wsum = new Float32Array(segmentLength);
  for (let offset = 0; offset < total; offset += stride) {
    const length = Math.min(total - offset, segmentLength);
    const trim = Math.floor((segmentLength - length) / 2);
    const start = offset - trim; // TensorChunk.padded: real samples before, zeros past the ends
    await samples.ensure(start + segmentLength);
    lap('decode');
    const raw = samples.read(start, start + segmentLength, C);
    // no later segment starts before offset + stride - segmentLength / 2
    samples.discardBefore(offset + stride - segmentLength);
    const mix = new Float32Array(C * segmentLength); // the model's (1, C, segmentLength) input
    const segment = Array.from({ length: C }, (_, c) => mix.subarray(c * segmentLength, (c + 1) * segmentLength));
    const lo = Math.max(0, start);
    const hi = Math.min(total, start + segmentLength);
    for (let c = 0; c < C; c++) {
      for (let i = lo; i < hi; i++) segment[c][i - start] = (raw[c][i - start] - mean) / std;
    }
    const spec = spectrogram.analyse(segment);
    lap('stft');
    const outputs = await runSegment(runner, { mix: { data: mix, dims: [1, C, segmentLength] }, spec }, descriptor);
    lap('model');
    const wave = outputs.wave;
    for (let s = 0; s < S; s++) {
      const stems = Array.from({ length: C }, (_, c) =>
        wave.subarray((s * C + c) * segmentLength, (s * C + c + 1) * segmentLength),
      );
      spectrogram.synthesiseInto(outputs.spec_out, s, stems);
      for (let c = 0; c < C; c++) {
        const target = acc[s][c];
        const source = stems[c];
        for (let i = 0; i < length; i++) target[i] += weight[i] * source[trim + i];
      }
    }
    for (let i = 0; i < length; i++) wsum[i] += weight[i];
    lap('istft');

    const last = offset + stride >= total;
    const ready = last ? length : stride;
    yield acc.map((channels) =>
      channels.map((channel) => {
        const block = new Float32Array(ready);
        for (let i = 0; i < ready; i++) block[i] = (channel[i] / wsum[i]) * std + mean;
        return block;
      }),
    );
    if (!last) {
      // slide the running sums by one stride: [stride, segmentLength) -> [0, segmentLength - stride)
      for (const running of [...acc.flat(), wsum]) {
        running.copyWithin(0, stride);
        running.fill(0, segmentLength - stride);
      }
    }
  }
  await samples.ensure(total + 1);
  if (!samples.ended || samples.total !== total) {
    throw new Error(t('htdemucsReadingsDiffer', samples.ended ? samples.total : samples.available, total));
  }
}

// What onnxruntime-web and WebAssembly say when an allocation fails (wasm32 caps the runtime at 4 GB).
const OUT_OF_MEMORY = /alloc|out of memory|\boom\b|memory access out of bounds/i;

/**
 * One segment through the model. A segment is what HTDemucs cannot cut further (its transformer
 * sees the whole of it), so when its activations do not fit the runtime's memory, whatever the
 * track's length, the job is refused saying so, instead of with the runtime's own words.
 * @param {NamedRunner} runner @param {Record<string, {data: Float32Array, dims: number[]}>} feeds
 * @param {{name?: string, segmentLength: number}} descriptor
 */
async function runSegment(runner, feeds, descriptor) {
  try {
    return await runner.runNamed(feeds);
  } catch (error) {
    const message = errorText(error);
    if (!OUT_OF_MEMORY.test(message)) throw error;
    throw new Error(t('htdemucsSegmentMemory', descriptor.name ?? '', message));
  }
}

/**
 * The family's entry point (see families/index.js). HTDemucs normalises by the whole track's
 * statistics, so the track is read twice: a first pass for the statistics, a second to separate.
 * A streamed track is decoded again for the second pass (`reopen`), so neither pass holds it; a
 * track decoded whole (already in memory) is read twice from the same window.
 * @param {import('../samples.js').SampleWindow} samples  the track at the model's rate
 * @param {{stems: string[], nbChannels: number, stft: DemucsStft, segmentLength: number,
 *   overlap: number}} descriptor
 * @param {NamedRunner} runner
 * @param {(step: 'decode' | 'stft' | 'model' | 'istft') => void} lap
 * @param {(() => Promise<import('../samples.js').SampleWindow>) | null} [reopen]  the same track
 *   from its start, decoded again; none: the first window is kept for the second pass
 * @returns {AsyncGenerator<Float32Array[][]>}
 */
export async function* htdemucsBlocks(samples, descriptor, runner, lap, reopen = null) {
  const stats = { mean: 0, std: 1, total: 0 };
  yield* trackStatistics(samples, descriptor.nbChannels, !reopen, descriptor.stems.length, stats);
  lap('decode');
  yield* segmentBlocks(reopen ? await reopen() : samples, stats, descriptor, runner, lap);
}
