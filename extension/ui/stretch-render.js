// @ts-check
/**
 * "Download this mix" with a key or tempo change: the stems through the same Signalsmith Stretch
 * worklet the mixer plays them with, rendered by an OfflineAudioContext as fast as the CPU
 * allows, each at its gain, summed by the context. The loop is not rendered: the file is the
 * whole song at the chosen key and tempo.
 *
 * Memory: the stretch nodes hold a copy of each audible stem, and the rendered mix is held
 * whole (channels x frames / tempo x 4 bytes: at 25 % a 4-minute stereo song is 170 MB) until it
 * is encoded in chunks.
 */
import { renderedFrames, transposition } from '../shared/practice.js';
import { createStretch } from './stretch-node.js';

/** @typedef {import('../shared/practice.js').Practice} Practice */

/** Frames handed to the encoder at a time (as shared/mix.js's chunks). */
const CHUNK_FRAMES = 1 << 16;

/**
 * Fresh copies of a buffer's channels, to transfer to a stretch node (the mixer keeps its own).
 * @param {AudioBuffer} buffer
 */
const channelCopies = (buffer) => Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c).slice());

/**
 * Loads a copy of `buffer` into `node` (transferred: the mixer keeps its own).
 * @param {import('./stretch-node.js').StretchNode} node @param {AudioBuffer} buffer
 */
export async function loadStretch(node, buffer) {
  const copies = channelCopies(buffer);
  await node.addBuffers(copies, copies.map((c) => c.buffer));
}

/**
 * The segment a stretch node plays from `when` (context time), from song time `from`.
 * @param {Practice} practice @param {number} when @param {number} from
 */
export const stretchSegment = (practice, when, from) => ({
  active: true,
  output: when,
  input: from,
  rate: practice.tempo,
  semitones: transposition(practice),
  loopStart: practice.loop?.a ?? 0,
  loopEnd: practice.loop?.b ?? 0,
});

/**
 * The whole mix at the practice's key and tempo, in chunks for shared/encode-audio.js.
 * @param {AudioBuffer[]} buffers @param {number[]} gains @param {Practice} practice
 * @returns {Promise<{nbChannels: number, sampleRate: number, chunks: Generator<Float32Array[]>}>}
 */
export async function renderStretched(buffers, gains, practice) {
  const nbChannels = Math.max(...buffers.map((b) => b.numberOfChannels));
  const frames = Math.max(...buffers.map((b) => b.length));
  const { sampleRate } = buffers[0];
  const context = new OfflineAudioContext(nbChannels, renderedFrames(frames, practice.tempo), sampleRate);
  const whole = { ...practice, loop: null };
  await Promise.all(
    buffers.map(async (buffer, i) => {
      if (!gains[i]) return;
      const node = await createStretch(context, buffer.numberOfChannels);
      await loadStretch(node, buffer);
      await node.schedule(stretchSegment(whole, 0, 0));
      const gain = new GainNode(context, { gain: gains[i] });
      node.connect(gain).connect(context.destination);
    }),
  );
  const rendered = await context.startRendering();
  function* chunks() {
    for (let start = 0; start < rendered.length; start += CHUNK_FRAMES) {
      const end = Math.min(rendered.length, start + CHUNK_FRAMES);
      yield Array.from({ length: nbChannels }, (_, c) => rendered.getChannelData(c).subarray(start, end));
    }
  }
  return { nbChannels, sampleRate, chunks: chunks() };
}
