// @ts-check
/**
 * The spectral-mask family (Spleeter): its spectral front and back ends, in the browser (twin of
 * builder/separate.py, which documents the conventions): periodic Hann, n_fft zeros prepended, STFT frames every n_hop,
 * magnitude patches of T frames x F bins for the model, ratio masks extended above F, masked
 * inverse frames overlap-added with gain n_hop / sum(w^2) (Spleeter's 2/3). FFTs:
 * complex-fft.js (PFFFT), each on two channels at once (one as the real part of a complex
 * signal, one as the imaginary).
 */
import { complexFft } from '../complex-fft.js';
import { hannPeriodic } from '../window.js';
import { BufferBank } from '../buffer-bank.js';

/**
 * @typedef {{nFft: number, nHop: number, nbBins: number, nbFrames: number}} StftParams
 * @typedef {'zeros' | 'average'} MaskExtension
 * @typedef {{re: Float32Array | Float64Array, im: Float32Array | Float64Array}} MaskedFrame
 */

/**
 * STFT of one frame of two channels at once (`right` may be absent): the frame starting at
 * `start` of each, windowed, its bins 0 .. nbBins - 1 (all: nFft/2 + 1) written to `outLeft`/`outRight` at `at`.
 * @param {import('../complex-fft.js').ComplexFft} fft @param {Float32Array} window
 * @param {Float32Array} left @param {Float32Array | undefined} right @param {number} start
 * @param {{re: Float32Array, im: Float32Array}} outLeft
 * @param {{re: Float32Array, im: Float32Array} | null} outRight @param {number} at @param {number} [nbBins]
 */
export function analyseFramePair(fft, window, left, right, start, outLeft, outRight, at, nbBins = window.length / 2 + 1) {
  const nFft = window.length;
  const z = fft.input;
  for (let n = 0; n < nFft; n++) {
    z[2 * n] = left[start + n] * window[n];
    z[2 * n + 1] = right ? right[start + n] * window[n] : 0;
  }
  fft.forward();
  fft.splitRealPair(nbBins, outLeft, outRight, at, 1, 1);
}

/**
 * One frame's mask over all bins into `mask`: the model's F values from `masks` at `at`, and
 * above F (up to `limit`; 'zeros' extension: limit = F, nothing above matters) their mean.
 * @param {Float32Array} masks @param {number} at @param {number} F
 * @param {Float32Array} mask  nFft/2 + 1 values @param {number} limit
 */
export function extendMask(masks, at, F, mask, limit) {
  let sum = 0;
  for (let k = 0; k < F; k++) sum += mask[k] = masks[at + k];
  if (limit > F) mask.fill(sum / F, F);
}

/**
 * One channel's frame at `at` of `spectrum`, times `mask`, into `target` (bins 0 .. limit - 1).
 * @param {{re: Float32Array, im: Float32Array}} spectrum @param {number} at @param {Float32Array} mask
 * @param {number} limit @param {{re: Float32Array | Float64Array, im: Float32Array | Float64Array}} target
 */
export function maskFrame({ re, im }, at, mask, limit, target) {
  for (let k = 0; k < limit; k++) {
    target.re[k] = re[at + k] * mask[k];
    target.im[k] = im[at + k] * mask[k];
  }
}

/**
 * Inverse FFT of two masked channel frames at once (`right` null for one), windowed, scaled by
 * `gain` (n_hop / sum(w^2)) and overlap-added at `offset` into `left` (real part) and `right`
 * (imaginary part).
 * @param {import('../complex-fft.js').ComplexFft} fft @param {Float32Array} window @param {number} gain
 * @param {number} limit  bins that are not zero
 * @param {MaskedFrame} maskedLeft @param {MaskedFrame | null} maskedRight
 * @param {Float32Array} left @param {Float32Array | null} right @param {number} offset
 */
export function synthesisePair(fft, window, gain, limit, maskedLeft, maskedRight, left, right, offset) {
  fft.packRealPair(limit, maskedLeft, maskedRight, 0, 1);
  fft.inverse();
  const nFft = window.length;
  const y = fft.output;
  const scale = gain / nFft; // the inverse FFT is not divided by its size
  for (let n = 0; n < nFft; n++) left[offset + n] += y[2 * n] * window[n] * scale;
  if (right) for (let n = 0; n < nFft; n++) right[offset + n] += y[2 * n + 1] * window[n] * scale;
}

/**
 * extendMask, maskFrame and packRealPair of a pair of channels in one pass over the bins: each
 * masked bin goes straight into the FFT's input, with their arithmetic (the products unrounded,
 * each of packRealPair's `+=` rounded to float32 in the same order), so the same samples come out
 * (tests/unit/test_spectral_speed_js.py) without the two Float64 frames in between.
 * Writes bins 0 .. limit - 1 and their mirrors only: the rest of `z` must be zero (synthesise
 * clears it once per chunk; the inverse FFT only reads its input).
 * @param {Float32Array} z  the FFT's input (interleaved re, im), N = z.length / 2 points
 * @param {{re: Float32Array, im: Float32Array}} left @param {{re: Float32Array, im: Float32Array}} right
 * @param {number} at  the frame's first bin in `left`/`right`
 * @param {Float32Array} gainsLeft @param {number} leftAt @param {Float32Array} gainsRight @param {number} rightAt
 *   each channel's mask over bins 0 .. limit - 1, from these offsets
 * @param {number} limit  bins that are not zero (at most N / 2 + 1)
 */
export function packMaskedPair(z, left, right, at, gainsLeft, leftAt, gainsRight, rightAt, limit) {
  const N = z.length / 2;
  const half = N / 2;
  const top = Math.min(limit, half);
  const { re: lr, im: li } = left;
  const { re: rr, im: ri } = right;
  // DC and Nyquist: imaginary parts taken as 0, no mirror
  z[0] = 0 + lr[at] * gainsLeft[leftAt];
  z[1] = 0 + rr[at] * gainsRight[rightAt];
  for (let k = 1; k < top; k++) {
    const a = at + k;
    const ml = gainsLeft[leftAt + k];
    const mr = gainsRight[rightAt + k];
    const xr = Math.fround(0 + lr[a] * ml);
    const xi = li[a] * ml;
    const yr = rr[a] * mr;
    const yi = ri[a] * mr;
    const j = 2 * (N - k);
    z[2 * k] = xr - yi;
    z[2 * k + 1] = Math.fround(0 + xi) + yr;
    z[j] = xr + yi;
    z[j + 1] = Math.fround(0 - xi) + yr;
  }
  if (limit > half) {
    z[N] = 0 + lr[at + half] * gainsLeft[leftAt + half];
    z[N + 1] = 0 + rr[at + half] * gainsRight[rightAt + half];
  }
}

/**
 * The last inverse FFT's two real signals (real part: `left`, imaginary: `right`), windowed, times
 * `scale`, overlap-added at `offset`.
 * @param {Float32Array} y  the FFT's output @param {Float32Array} window @param {number} scale
 * @param {Float32Array} left @param {Float32Array} right @param {number} offset
 */
export function overlapAddPair(y, window, scale, left, right, offset) {
  const nFft = window.length;
  for (let n = 0; n < nFft; n++) {
    left[offset + n] += y[2 * n] * window[n] * scale;
    right[offset + n] += y[2 * n + 1] * window[n] * scale;
  }
}

export class SpectralChunker {
  /**
   * @param {StftParams} stft
   * @param {number} nbStems
   * @param {number} nbChannels  2: the model is stereo (mono is duplicated before)
   * @param {import('../complex-fft.js').ComplexFft} fft  of stft.nFft points
   * @param {MaskExtension} extension  'zeros' masks every bin above the model's F to 0, so only
   *   bins 0 .. F - 1 are kept of each frame's spectrum: half the memory of the chunks in flight
   */
  constructor(stft, nbStems, nbChannels, fft, extension = 'average') {
    this.stft = stft;
    /** bins kept per frame of a spectrum */
    this.keptBins = extension === 'zeros' ? stft.nbBins : stft.nFft / 2 + 1;
    this.extension = extension;
    /**
     * Spectra handed back by recycle(), reused by analyse(): a long track's chunks would otherwise
     * leave their spectra as garbage (~17 MB each once cut to the masks' bins, ~34 MB before),
     * which the browser's GC lets pile up (the Firefox 60-minute peak).
     * @type {{re: Float32Array, im: Float32Array}[][]}
     */
    this.spare = [];
    /** magnitudePatches()'s buffers, handed back by recycleInput() */
    this.inputs = new BufferBank(2);
    this.nbStems = nbStems;
    this.nbChannels = nbChannels;
    this.window = hannPeriodic(stft.nFft);
    let energy = 0;
    for (const v of this.window) energy += v * v;
    this.gain = stft.nHop / energy;
    this.fft = fft;
    /** one frame of one stem, masked, for the two channels of an inverse FFT */
    this.masked = [0, 1].map(() => ({
      re: new Float64Array(stft.nFft / 2 + 1), // 64 bits: the products reach the FFT's input unrounded
      im: new Float64Array(stft.nFft / 2 + 1),
    }));
    /** overlap carried into the next chunk, per stem and channel */
    this.tails = Array.from({ length: nbStems }, () =>
      Array.from({ length: nbChannels }, () => new Float32Array(stft.nFft - stft.nHop)),
    );
  }

  /**
   * @param {StftParams} stft @param {number} nbStems @param {number} [nbChannels]
   * @param {MaskExtension} [extension]
   */
  static async create(stft, nbStems, nbChannels = 2, extension = 'average') {
    return new SpectralChunker(stft, nbStems, nbChannels, await complexFft(stft.nFft), extension);
  }

  /**
   * STFT of `nbFrames` frames of `segment`, whose sample 0 is the first frame's first sample
   * (frames every nHop; the caller zero-fills outside the track).
   * @param {Float32Array[]} segment  planar channels, (nbFrames - 1) * nHop + nFft samples
   * @param {number} nbFrames
   * @returns {{re: Float32Array, im: Float32Array}[]}  per channel, frame-major (frame * keptBins + bin)
   */
  analyse(segment, nbFrames) {
    const { nHop } = this.stft;
    const kept = this.keptBins;
    const at = this.spare.findIndex((s) => s.length === segment.length && s[0].re.length === nbFrames * kept);
    // Every value of a reused spectrum is written again below.
    const spectrum = at >= 0 ? this.spare.splice(at, 1)[0] : segment.map(() => ({
      re: new Float32Array(nbFrames * kept),
      im: new Float32Array(nbFrames * kept),
    })); // prettier-ignore
    for (let c0 = 0; c0 < segment.length; c0 += 2) {
      for (let i = 0; i < nbFrames; i++) {
        analyseFramePair(this.fft, this.window, segment[c0], segment[c0 + 1], i * nHop,
          spectrum[c0], spectrum[c0 + 1] ?? null, i * kept, kept);
      }
    }
    return spectrum;
  }

  /**
   * A spectrum from analyse() that its caller no longer reads, for the next analyse() to fill.
   * @param {{re: Float32Array, im: Float32Array}[]} spectrum
   */
  recycle(spectrum) {
    if (this.spare.length < 2) this.spare.push(spectrum);
  }

  /** Hand back a magnitudePatches() result the model has done with. @param {Float32Array} data */
  recycleInput(data) {
    this.inputs.give(data);
  }

  /**
   * Model input (nbPatches, nbChannels, T, F), the last patch zero-padded.
   * @param {{re: Float32Array, im: Float32Array}[]} spectrum @param {number} nbFrames
   */
  magnitudePatches(spectrum, nbFrames) {
    const { nbFrames: T, nbBins: F } = this.stft;
    const kept = this.keptBins;
    const nbPatches = Math.ceil(nbFrames / T);
    const C = this.nbChannels;
    const data = this.inputs.take(nbPatches * C * T * F);
    if (nbFrames < nbPatches * T) data.fill(0); // the last patch's padding (a spare holds old values)
    for (let c = 0; c < spectrum.length; c++) {
      const { re, im } = spectrum[c];
      for (let frame = 0; frame < nbFrames; frame++) {
        const p = Math.floor(frame / T);
        const out = ((p * C + c) * T + (frame % T)) * F;
        const at = frame * kept;
        // Math.sqrt, not Math.hypot: the same value here (no overflow in float32 range), 15x faster in V8
        for (let k = 0; k < F; k++) {
          const x = re[at + k];
          const y = im[at + k];
          data[out + k] = Math.sqrt(x * x + y * y);
        }
      }
    }
    return { data, dims: [nbPatches, this.nbChannels, T, F] };
  }

  /**
   * Apply masks (nbPatches, nbStems, nbChannels, T, F) and overlap-add the inverse frames.
   * Returns, per stem, planar channels of the `nbFrames * nHop` samples that no later chunk
   * overlaps; the remainder is kept for the next call.
   * @param {{re: Float32Array, im: Float32Array}[]} spectrum @param {Float32Array} masks
   * @param {number} nbFrames  (the mask extension is the constructor's)
   * @returns {Float32Array[][]}
   */
  synthesise(spectrum, masks, nbFrames) {
    const { extension } = this;
    const { nFft, nHop, nbFrames: T, nbBins: F } = this.stft;
    const nbBinsAll = nFft / 2 + 1;
    const C = this.nbChannels;
    const outLength = (nbFrames - 1) * nHop + nFft;
    const ready = nbFrames * nHop;
    // With 'zeros' every bin above F is masked to 0: only the first F bins reach the inverse FFT.
    const limit = extension === 'zeros' ? F : nbBinsAll;
    /** per channel of a pair: the mask extended above F ('average'; with 'zeros' the model's masks are read in place) */
    const extended = limit > F ? [new Float32Array(nbBinsAll), new Float32Array(nbBinsAll)] : null;
    const single = new Float32Array(nbBinsAll);
    const z = this.fft.input;
    z.fill(0); // packMaskedPair writes only the bins below `limit` and their mirrors
    const scale = this.gain / nFft; // the inverse FFT is not divided by its size
    return Array.from({ length: this.nbStems }, (_, s) => {
      const out = Array.from({ length: C }, () => new Float32Array(outLength));
      for (let c = 0; c < C; c++) out[c].set(this.tails[s][c]);
      for (let frame = 0; frame < nbFrames; frame++) {
        const p = Math.floor(frame / T);
        const at = frame * this.keptBins;
        // Two channels per inverse FFT: ifft(L + iR) has L in its real part and R in its imaginary.
        for (let c0 = 0; c0 < C; c0 += 2) {
          const m = ((p * this.nbStems + s) * C + c0) * T * F + (frame % T) * F;
          if (c0 + 1 === C) {
            // An unpaired last channel (the models are stereo: not reached today); packRealPair
            // clears the whole input and leaves zeros where packMaskedPair expects them.
            extendMask(masks, m, F, single, limit);
            maskFrame(spectrum[c0], at, single, limit, this.masked[0]);
            synthesisePair(this.fft, this.window, this.gain, limit, this.masked[0], null, out[c0], null, frame * nHop);
            continue;
          }
          if (extended) {
            extendMask(masks, m, F, extended[0], limit);
            extendMask(masks, m + T * F, F, extended[1], limit);
            packMaskedPair(z, spectrum[c0], spectrum[c0 + 1], at, extended[0], 0, extended[1], 0, limit);
          } else {
            packMaskedPair(z, spectrum[c0], spectrum[c0 + 1], at, masks, m, masks, m + T * F, limit);
          }
          this.fft.inverse();
          overlapAddPair(this.fft.output, this.window, scale, out[c0], out[c0 + 1], frame * nHop);
        }
      }
      for (let c = 0; c < C; c++) this.tails[s][c] = out[c].slice(ready);
      return out.map((channel) => channel.subarray(0, ready));
    });
  }
}

export const PATCHES_PER_CHUNK = 2; // ~24 s of audio per model run

/** The model's frame axis takes any multiple of this (builder/export.py). */
export const FRAME_STEP = 64;
/**
 * Frames of margin the track's last patch keeps past its last frame of track, so that the U-Net's
 * deeper layers see the same zeros as in the full patch (twin of builder/separate.py, which has
 * the figures: 192 frames >= 90 dB vs the full patch on real music).
 */
export const LAST_PATCH_MARGIN = 192;

/**
 * Frames the track's last patch runs at, for its `nbFrames` of track (1 .. T): the rest of a full
 * patch is padding whose masks are dropped.
 * @param {number} nbFrames @param {number} patchFrames
 */
export function lastPatchFrames(nbFrames, patchFrames) {
  return Math.min(patchFrames, Math.ceil((nbFrames + LAST_PATCH_MARGIN) / FRAME_STEP) * FRAME_STEP);
}

/**
 * The model on `patches` (nbPatches, C, T, F), the last one cut to its first `lastFrames` frames
 * and its masks zero-padded back to T (masks: nbPatches, S, C, T, F).
 * @param {{run: (data: Float32Array, dims: number[]) => Promise<Float32Array>}} runner
 * @param {{data: Float32Array, dims: number[]}} patches @param {number} lastFrames @param {number} nbStems
 * @returns {Promise<Float32Array>}
 */
export async function runPatches(runner, { data, dims }, lastFrames, nbStems) {
  const [P, C, T, F] = dims;
  if (lastFrames >= T) return runner.run(data, dims);
  const patchSize = C * T * F;
  const last = new Float32Array(C * lastFrames * F);
  for (let c = 0; c < C; c++) {
    last.set(data.subarray((P - 1) * patchSize + c * T * F, (P - 1) * patchSize + (c * T + lastFrames) * F), c * lastFrames * F);
  }
  // One after the other: a session runs one call at a time.
  const head = P > 1 ? await runner.run(data.subarray(0, (P - 1) * patchSize), [P - 1, C, T, F]) : null;
  const tail = await runner.run(last, [1, C, lastFrames, F]);
  const masks = new Float32Array(P * nbStems * patchSize);
  if (head) masks.set(head);
  for (let sc = 0; sc < nbStems * C; sc++) {
    masks.set(tail.subarray(sc * lastFrames * F, (sc + 1) * lastFrames * F), ((P - 1) * nbStems * C + sc) * T * F);
  }
  return masks;
}

/**
 * Stems of a whole track through a spectral-mask model (Spleeter), yielded as blocks of finished
 * samples (planar channels per stem), one per model run. The input is read forward only: memory
 * holds a chunk or two of it, whatever the track's length. Pipelined: while the model works on
 * one chunk (in onnxruntime's worker), this thread reads and analyses the next and synthesises
 * (and its consumer stores) the previous, so `lap('model')` is only the wait beyond that work.
 * @param {import('../samples.js').SampleWindow} samples  the track at the model's rate
 * @param {{stems: string[], nbChannels: number, stft: StftParams, maskExtension: MaskExtension}} descriptor
 * @param {{run: (data: Float32Array, dims: number[]) => Promise<Float32Array>,
 *   recycle?: (result: Float32Array) => void}} runner
 * @param {(step: 'decode' | 'stft' | 'model' | 'istft') => void} lap
 * @returns {AsyncGenerator<Float32Array[][]>}
 */
export async function* spectralBlocks(samples, descriptor, runner, lap) {
  const { stft, stems } = descriptor;
  const { nFft, nHop } = stft;
  const chunkFrames = stft.nbFrames * PATCHES_PER_CHUNK;
  const chunker = await SpectralChunker.create(stft, stems.length, descriptor.nbChannels, descriptor.maskExtension);

  /** @type {Float32Array[] | null} */
  let spareSegment = null;
  /** The chunk whose first frame is `first`, analysed; null past the track's end. @param {number} first */
  async function prepare(first) {
    // Frame i starts at sample i * nHop - nFft (n_fft zeros are prepended to the track).
    const start = first * nHop - nFft;
    await samples.ensure(start + (chunkFrames - 1) * nHop + nFft);
    lap('decode');
    const nbFramesTotal = samples.ended ? Math.ceil((samples.total + nFft) / nHop) : Infinity;
    const nbFrames = Math.min(chunkFrames, nbFramesTotal - first);
    if (nbFrames <= 0) return null;
    const segment = samples.read(start, start + (nbFrames - 1) * nHop + nFft, descriptor.nbChannels, spareSegment);
    samples.discardBefore(start + nbFrames * nHop);
    const spectrum = chunker.analyse(segment, nbFrames);
    spareSegment = segment; // analyse() keeps nothing of it
    const patches = chunker.magnitudePatches(spectrum, nbFrames);
    const nbPatches = patches.dims[0];
    const last = first + nbFrames === nbFramesTotal; // the track's last chunk
    const lastFrames = last ? lastPatchFrames(nbFrames - (nbPatches - 1) * stft.nbFrames, stft.nbFrames) : stft.nbFrames;
    lap('stft');
    return { first, nbFrames, spectrum, patches, lastFrames };
  }

  let current = await prepare(0);
  /** @param {{patches: {data: Float32Array, dims: number[]}, lastFrames: number}} chunk */
  const run = (chunk) => runPatches(runner, chunk.patches, chunk.lastFrames, stems.length);
  let masks = current && run(current);
  while (current && masks) {
    const next = await prepare(current.first + chunkFrames);
    const ready = await masks;
    lap('model');
    masks = next && run(next);
    const { first, nbFrames, spectrum, patches } = current;
    chunker.recycleInput(patches.data); // (a no-op where onnxruntime's proxy worker took it)
    const blocks = chunker.synthesise(spectrum, ready, nbFrames);
    chunker.recycle(spectrum);
    runner.recycle?.(ready);
    lap('istft');
    // Drop the prepended frame and everything past the input's end.
    const outStart = first * nHop;
    const end = samples.ended ? samples.total : Infinity;
    const lo = Math.max(nFft - outStart, 0);
    const hi = Math.max(lo, Math.min(nbFrames * nHop, nFft + end - outStart));
    yield blocks.map((channels) => channels.map((c) => c.subarray(lo, hi)));
    current = next;
  }
}
