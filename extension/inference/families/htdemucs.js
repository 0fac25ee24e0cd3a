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
 * Stems of a whole track, yielded as blocks of finished samples (planar channels per stem).
 * @param {Float32Array[]} waveform  planar channels at the model's rate
 * @param {{stems: string[], nbChannels: number, stft: DemucsStft, segmentLength: number,
 *   overlap: number}} descriptor
 * @param {NamedRunner} runner
 * @param {(step: 'stft' | 'model' | 'istft') => void} lap
 * @returns {AsyncGenerator<Float32Array[][]>}
 */
export async function* segmentBlocks(waveform, descriptor, runner, lap) {
  const { segmentLength, nbChannels: C } = descriptor;
  const S = descriptor.stems.length;
  const total = waveform[0].length;
  // demucs.separate: normalise by the mono mix's mean and (unbiased) standard deviation
  let sum = 0;
  for (let i = 0; i < total; i++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += waveform[c][i];
    sum += m / C;
  }
  const mean = sum / total;
  let squares = 0;
  for (let i = 0; i < total; i++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += waveform[c][i];
    squares += (m / C - mean) ** 2;
  }
  const std = total > 1 && squares > 0 ? Math.sqrt(squares / (total - 1)) : 1;

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
    const mix = new Float32Array(C * segmentLength); // the model's (1, C, segmentLength) input
    const segment = Array.from({ length: C }, (_, c) => mix.subarray(c * segmentLength, (c + 1) * segmentLength));
    const lo = Math.max(0, start);
    const hi = Math.min(total, start + segmentLength);
    for (let c = 0; c < C; c++) {
      for (let i = lo; i < hi; i++) segment[c][i - start] = (waveform[c][i] - mean) / std;
    }
    const spec = spectrogram.analyse(segment);
    lap('stft');
    const outputs = await runner.runNamed({ mix: { data: mix, dims: [1, C, segmentLength] }, spec });
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
}

/**
 * The family's entry point (see families/index.js): HTDemucs normalises by the whole track's
 * statistics, so it takes the track in memory, then separates it segment by segment.
 * @param {import('../samples.js').SampleWindow} samples  the track at the model's rate
 * @param {{stems: string[], nbChannels: number, stft: DemucsStft, segmentLength: number,
 *   overlap: number}} descriptor
 * @param {NamedRunner} runner
 * @param {(step: 'decode' | 'stft' | 'model' | 'istft') => void} lap
 * @returns {AsyncGenerator<Float32Array[][]>}
 */
export async function* htdemucsBlocks(samples, descriptor, runner, lap) {
  const whole = await samples.all();
  lap('decode');
  yield* segmentBlocks(whole, descriptor, runner, lap);
}
