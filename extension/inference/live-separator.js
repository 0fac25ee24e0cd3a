// @ts-check
/**
 * Streaming separation with bounded latency: twin of builder/live.py, whose docstring is the
 * specification. Each call takes one hop of input (hopFrames * nHop samples per channel), adds
 * its hopFrames STFT frames, runs the model on the last windowFrames frames, keeps the masks of
 * the hopFrames frames just before the last lookaheadFrames, and returns the hop of stems that
 * overlap-add completes: output sample t of call k is input sample k * hopSamples + t -
 * latencySamples, latencySamples = nFft + (lookaheadFrames - 1) * nHop.
 *
 * Real-time path: every buffer is allocated here once; a call allocates only its outputs (and
 * what onnxruntime allocates for the model's result).
 */
import { complexFft } from './complex-fft.js';
import { analyseFramePair, extendMask, maskFrame, synthesisePair } from './families/spectral-masks.js';
import { hannPeriodic } from './window.js';
import { t } from '../shared/i18n.js';

/**
 * @typedef {{windowFrames: number, hopFrames: number, lookaheadFrames: number}} LiveParams
 * @typedef {import('./separator.js').ModelDescriptor} ModelDescriptor
 * @typedef {import('./model-runner.js').ModelRunner} ModelRunner
 * @typedef {{
 *   hopSamples: number,
 *   latencySamples: number,
 *   process(input: Float32Array[]): Promise<Float32Array[][]>,
 *   dispose(): void,
 * }} LiveSeparator
 *   hopSamples: process() takes exactly this many samples per channel.
 *   latencySamples: output sample t of the k-th call is input sample k * hopSamples + t -
 *   latencySamples (zeros before the start).
 *   process: [nbChannels][hopSamples] -> [nbStems][nbChannels][hopSamples]; one call at a time
 *   (the next after the previous one's promise settled).
 *   dispose: drops the buffers; the runner stays the caller's to release.
 */

/**
 * @param {ModelDescriptor} descriptor  reads live, stft, stems, nbChannels, maskExtension
 * @param {ModelRunner} runner  its model must accept windowFrames frames
 * @returns {LiveSeparator}
 */
export function createLiveSeparator(descriptor, runner) {
  const { live, stft, stems, nbChannels: C } = descriptor;
  if (!live) throw new Error(t('liveNotOffered', descriptor.name));
  const { windowFrames: W, hopFrames: H, lookaheadFrames: L } = live;
  const { nFft, nHop, nbBins: F } = stft;
  if (W % 64 !== 0 || H < 1 || L < 0 || H + L > W) {
    throw new Error(`Invalid live parameters in ${descriptor.name}'s descriptor: ${JSON.stringify(live)}.`);
  }
  const S = stems.length;
  const nbBinsAll = nFft / 2 + 1;
  const hopSamples = H * nHop;
  const latencySamples = nFft + (L - 1) * nHop;
  const overlap = nFft - nHop;
  const window = hannPeriodic(nFft);
  let energy = 0;
  for (const v of window) energy += v * v;
  const gain = nHop / energy;
  // 'zeros': every bin above F is masked to 0, so only the first F bins reach the inverse FFT.
  const limit = descriptor.maskExtension === 'zeros' ? F : nbBinsAll;

  /** per channel: the last nFft - nHop samples of the previous call, then this call's */
  const history = Array.from({ length: C }, () => new Float32Array(overlap + hopSamples));
  /** the model's input (1, C, W, F), shifted by H frames per call; zeros before the start */
  const magnitudes = new Float32Array(C * W * F);
  const dims = [1, C, W, F];
  /** complex frames, the last H + L: frame j at slot j % ring (frame 0, all zeros, is never used) */
  const ring = H + L;
  const spectra = Array.from({ length: C }, () => ({
    re: new Float32Array(ring * nbBinsAll),
    im: new Float32Array(ring * nbBinsAll),
  }));
  /** per stem and channel: overlap-add of the kept frames; [0, hopSamples) is finished per call */
  const sums = Array.from({ length: S }, () =>
    Array.from({ length: C }, () => new Float32Array(overlap + hopSamples)),
  );
  const mask = new Float32Array(nbBinsAll);
  /** one frame of one stem, masked, for the two channels of an inverse FFT */
  const masked = [0, 1].map(() => ({ re: new Float32Array(nbBinsAll), im: new Float32Array(nbBinsAll) }));
  const fftReady = complexFft(nFft);
  fftReady.catch(() => {}); // surfaced by the first process() call
  let calls = 0;
  let busy = false;
  let disposed = false;

  /** @param {import('./complex-fft.js').ComplexFft} fft @param {Float32Array[]} input */
  function analyse(fft, input) {
    for (let c = 0; c < C; c++) {
      history[c].copyWithin(0, hopSamples);
      history[c].set(input[c], overlap);
      magnitudes.copyWithin(c * W * F, (c * W + H) * F, (c + 1) * W * F);
    }
    // This call's frames are j = calls * H + 1 + m, m < H; frame m starts at history[m * nHop].
    for (let m = 0; m < H; m++) {
      const slot = ((calls * H + 1 + m) % ring) * nbBinsAll;
      for (let c0 = 0; c0 < C; c0 += 2) {
        analyseFramePair(fft, window, history[c0], history[c0 + 1], m * nHop, spectra[c0], spectra[c0 + 1] ?? null, slot);
      }
      for (let c = 0; c < C; c++) {
        const { re, im } = spectra[c];
        const out = (c * W + W - H + m) * F;
        for (let k = 0; k < F; k++) magnitudes[out + k] = Math.sqrt(re[slot + k] * re[slot + k] + im[slot + k] * im[slot + k]);
      }
    }
  }

  /**
   * Masks the kept frames j in [e - L - H, e - L), e = (calls + 1) * H + 1 the window's end, and
   * overlap-adds them; returns the finished hop.
   * @param {import('./complex-fft.js').ComplexFft} fft @param {Float32Array} masks (1, S, C, W, F)
   */
  function synthesise(fft, masks) {
    const end = (calls + 1) * H + 1;
    const first = end - L - H;
    return sums.map((channels, s) => {
      for (const sum of channels) {
        sum.copyWithin(0, hopSamples);
        sum.fill(0, overlap);
      }
      for (let m = 0; m < H; m++) {
        const frame = first + m;
        if (frame <= 0) continue; // before the input (frame 0 is the prepended zeros)
        const at = (frame % ring) * nbBinsAll;
        const position = W - (end - frame);
        for (let c0 = 0; c0 < C; c0 += 2) {
          for (let c = c0; c < Math.min(c0 + 2, C); c++) {
            extendMask(masks, ((s * C + c) * W + position) * F, F, mask, limit);
            maskFrame(spectra[c], at, mask, limit, masked[c - c0]);
          }
          const right = c0 + 1 < C;
          synthesisePair(fft, window, gain, limit, masked[0], right ? masked[1] : null,
            channels[c0], right ? channels[c0 + 1] : null, m * nHop);
        }
      }
      return channels.map((sum) => sum.slice(0, hopSamples));
    });
  }

  return {
    hopSamples,
    latencySamples,
    async process(input) {
      if (disposed) throw new Error('The live separator was disposed.');
      if (busy) throw new Error('process() was called again before the previous call finished.');
      if (input.length !== C || input.some((channel) => channel.length !== hopSamples)) {
        throw new Error(`process() takes ${C} channels of ${hopSamples} samples.`);
      }
      busy = true;
      try {
        const fft = await fftReady;
        analyse(fft, input);
        const masks = await runner.run(magnitudes, dims);
        if (disposed) throw new Error('The live separator was disposed.');
        const out = synthesise(fft, masks);
        calls++;
        return out;
      } finally {
        busy = false;
      }
    },
    dispose() {
      disposed = true;
    },
  };
}
