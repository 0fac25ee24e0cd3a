// @ts-check
/**
 * The MDX-Net family (UVR's MDX-Net .onnx files) in the browser: twin of builder/mdx_chunks.py,
 * which documents the arrangement (python-audio-separator's MDXSeparator.demix): the track with
 * n_fft / 2 zeros in front, chunks of n_hop * (dim_t - 1) samples every (1 - overlap) of a
 * chunk -> torch's STFT (periodic Hann, center with reflect padding), the first dim_f bins,
 * bins 0-2 zeroed -> model (twice, on X and -X, with denoise) -> iSTFT of its output padded
 * back to n_fft / 2 + 1 bins -> np.hanning-weighted overlap-add -> primary = that x
 * compensate, secondary = mix - primary. FFTs: complex-fft.js (PFFFT, which takes n_fft 5120,
 * 6144 and 7680: 2^a 3^b 5^c, multiples of 32), the two channels in one transform.
 */
import { complexFft } from '../complex-fft.js';
import { hannPeriodic } from '../window.js';
import { t } from '../../shared/i18n.js';

/** Zeroed before the model, as UVR and audio-separator do (`spek[:, :, :3, :] *= 0`). */
const ZEROED_BINS = 3;

/**
 * @typedef {{stft: {nFft: number, nHop: number, nbBins: number, nbFrames: number},
 *   compensate: number, denoise: boolean, overlap: number, nbChannels: number, stems: string[], name?: string,
 *   input: {name: string}[], output: {name: string}[]}} MdxDescriptor
 * @typedef {{runNamed: (feeds: Record<string, {data: Float32Array, dims: number[]}>) =>
 *   Promise<Record<string, Float32Array>>}} NamedRunner
 */

/** numpy's np.hanning(m): symmetric, zero at both ends ([1] for m = 1). @param {number} m */
export function hanningSymmetric(m) {
  const w = new Float64Array(m);
  if (m === 1) w[0] = 1;
  for (let n = 0; m > 1 && n < m; n++) w[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (m - 1));
  return w;
}

/** torch's 'reflect' padding index (no edge repeat). @param {number} i @param {number} length */
function reflect(i, length) {
  if (i < 0) return -i;
  if (i >= length) return 2 * (length - 1) - i;
  return i;
}

/** One chunk's STFT and iSTFT as torch computes them for UVR's models (stereo only). */
export class ChunkSpectrogram {
  /**
   * @param {MdxDescriptor['stft']} stft
   * @param {import('../complex-fft.js').ComplexFft} fft  of stft.nFft points
   */
  constructor(stft, fft) {
    const { nFft, nHop, nbBins, nbFrames } = stft;
    this.nFft = nFft;
    this.nHop = nHop;
    this.dimF = nbBins;
    this.dimT = nbFrames;
    this.fft = fft;
    this.chunk = nHop * (nbFrames - 1);
    this.window = hannPeriodic(nFft);
    const padded = nFft + this.chunk;
    // torch.istft divides the overlap-add by the summed squared windows
    this.envelope = new Float64Array(padded);
    for (let t = 0; t < nbFrames; t++) {
      for (let n = 0; n < nFft; n++) this.envelope[t * nHop + n] += this.window[n] * this.window[n];
    }
    this.ola = [new Float64Array(padded), new Float64Array(padded)];
  }

  /** The model's input (1, 4, dimF, dimT): L.re, L.im, R.re, R.im. @param {Float32Array[]} chunk */
  analyse(chunk) {
    const { nFft, nHop, dimF, dimT, window } = this;
    const plane = dimF * dimT;
    const data = new Float32Array(4 * plane);
    const left = { re: data.subarray(0, plane), im: data.subarray(plane, 2 * plane) };
    const right = { re: data.subarray(2 * plane, 3 * plane), im: data.subarray(3 * plane) };
    const [l, r] = chunk;
    const half = nFft / 2;
    for (let t = 0; t < dimT; t++) {
      const z = this.fft.input;
      for (let n = 0; n < nFft; n++) {
        const at = reflect(t * nHop + n - half, this.chunk);
        z[2 * n] = l[at] * window[n];
        z[2 * n + 1] = r[at] * window[n];
      }
      this.fft.forward();
      this.fft.splitRealPair(dimF, left, right, t, dimT, 1);
    }
    for (const p of [left.re, left.im, right.re, right.im]) p.fill(0, 0, ZEROED_BINS * dimT);
    return data;
  }

  /**
   * The chunk (2 planar channels of `chunk` samples) of a model output (1, 4, dimF, dimT).
   * @param {Float32Array} spec
   */
  synthesise(spec) {
    const { nFft, nHop, dimF, dimT, window, ola, envelope } = this;
    const plane = dimF * dimT;
    const left = { re: spec.subarray(0, plane), im: spec.subarray(plane, 2 * plane) };
    const right = { re: spec.subarray(2 * plane, 3 * plane), im: spec.subarray(3 * plane) };
    for (const o of ola) o.fill(0);
    const scale = 1 / nFft; // PFFFT's inverse is not divided by its size
    for (let t = 0; t < dimT; t++) {
      this.fft.packRealPair(dimF, left, right, t, dimT); // bins dimF and up are zero
      this.fft.inverse();
      const y = this.fft.output;
      const at = t * nHop;
      for (let n = 0; n < nFft; n++) {
        ola[0][at + n] += y[2 * n] * scale * window[n];
        ola[1][at + n] += y[2 * n + 1] * scale * window[n];
      }
    }
    const half = nFft / 2;
    return ola.map((o) => {
      const out = new Float64Array(this.chunk);
      for (let j = 0; j < this.chunk; j++) out[j] = o[j + half] / envelope[j + half];
      return out;
    });
  }
}

/**
 * The family's entry point (see families/index.js): (primary, secondary) stem blocks, one per
 * chunk, each the samples no later chunk reaches; the track is read forward and only the current
 * chunk is held.
 * @param {import('../samples.js').SampleWindow} samples  the track at the model's rate
 * @param {MdxDescriptor} descriptor
 * @param {NamedRunner} runner
 * @param {(step: 'decode' | 'stft' | 'model' | 'istft') => void} lap
 * @returns {AsyncGenerator<Float32Array[][]>}
 */
export async function* mdxNetBlocks(samples, descriptor, runner, lap) {
  const { stft, compensate, denoise, overlap } = descriptor;
  const C = 2;
  const spectrogram = new ChunkSpectrogram(stft, await complexFft(stft.nFft));
  const { chunk } = spectrogram;
  const trim = stft.nFft / 2;
  const gen = chunk - 2 * trim;
  const step = Math.floor((1 - overlap) * chunk);
  const dims = [1, 4, stft.nbBins, stft.nbFrames];
  const inputName = descriptor.input[0].name;
  const outputName = descriptor.output[0].name;
  /**
   * The model's output for `data`. A NaN in it is refused: it would spread over the chunk's
   * iSTFT, and a model that makes one (on the import's noise, or on a song) is broken.
   * @param {Float32Array} data
   */
  const run = async (data) => {
    const output = (await runner.runNamed({ [inputName]: { data, dims } }))[outputName];
    for (let k = 0; k < output.length; k++) {
      if (Number.isNaN(output[k])) {
        // key and subs: a check in a worker (no i18n there) says it in the page's words
        const subs = [descriptor.name ?? ''];
        throw Object.assign(new Error(t('mdxNanOutput', ...subs)), { key: 'mdxNanOutput', subs });
      }
    }
    return output;
  };
  // Running sums over padded-track positions [i, i + chunk): the weighted outputs and the weights.
  const acc = [new Float64Array(chunk), new Float64Array(chunk)];
  const weight = new Float64Array(chunk);
  let padded = Infinity; // the padded track's length, known once the track has ended
  let n = Infinity;
  let done = 0; // track samples yielded
  for (let i = 0; i < padded; i += step) {
    await samples.ensure(i - trim + chunk);
    if (samples.ended) {
      n = samples.total;
      padded = trim + n + gen + trim - (n % gen);
    }
    lap('decode');
    const input = spectrogram.analyse(samples.read(i - trim, i - trim + chunk, C));
    lap('stft');
    let output = await run(input);
    if (denoise) {
      const positive = output;
      const negative = await run(input.map((v) => -v));
      output = new Float32Array(positive.length);
      for (let k = 0; k < output.length; k++) output[k] = positive[k] * 0.5 - negative[k] * 0.5;
    }
    lap('model');
    const wave = spectrogram.synthesise(output);
    const actual = Math.min(chunk, padded - i);
    const window = hanningSymmetric(actual);
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < actual; j++) acc[c][j] += wave[c][j] * window[j];
    }
    for (let j = 0; j < actual; j++) weight[j] += window[j];
    lap('istft');
    const last = i + step >= padded;
    const final = last ? n : Math.min(n, i + step - trim); // positions before the next chunk are final
    if (final > done) {
      const mix = samples.read(done, final, C);
      const primary = Array.from({ length: C }, () => new Float32Array(final - done));
      const secondary = Array.from({ length: C }, () => new Float32Array(final - done));
      for (let c = 0; c < C; c++) {
        for (let s = done; s < final; s++) {
          const j = s + trim - i;
          const value = Math.fround((acc[c][j] / weight[j]) * compensate);
          primary[c][s - done] = value;
          secondary[c][s - done] = mix[c][s - done] - value;
        }
      }
      done = final;
      samples.discardBefore(done);
      yield [primary, secondary];
    }
    for (const running of [...acc, weight]) {
      running.copyWithin(0, step);
      running.fill(0, chunk - step);
    }
  }
}
