// @ts-check
/**
 * The model families, by the descriptor's `family` (twins of builder/families/). Each module
 * exports one entry point with the same signature: the track (a SampleWindow at the model's
 * rate), the descriptor, the model runner, the step timer and a way to read the track again from its
 * start (streamed tracks; null when the window holds the whole track) in; stem blocks out (per stem,
 * planar channels of finished samples). separator.js calls it without knowing the family.
 */
import { htdemucsBlocks } from './htdemucs.js';
import { mdxNetBlocks } from './mdx-net.js';
import { spectralBlocks } from './spectral-masks.js';

/**
 * @typedef {(samples: import('../samples.js').SampleWindow, descriptor: any,
 *   runner: import('../model-runner.js').ModelRunner,
 *   lap: (step: 'decode' | 'stft' | 'model' | 'istft') => void,
 *   reopen?: (() => Promise<import('../samples.js').SampleWindow>) | null) => AsyncGenerator<Float32Array[][]>} FamilyBlocks
 */

/** @type {Readonly<Record<string, FamilyBlocks>>} */
export const FAMILIES = Object.freeze({
  'spectral-masks': spectralBlocks,
  htdemucs: htdemucsBlocks,
  'mdx-net': mdxNetBlocks,
});

/**
 * The entry point of `descriptor.family` (descriptors older than the field are spectral-masks).
 * @param {{family?: string}} descriptor
 * @returns {FamilyBlocks}
 */
export function familyBlocks(descriptor) {
  const name = descriptor.family ?? 'spectral-masks';
  if (!Object.hasOwn(FAMILIES, name)) {
    throw new Error(`Unknown model family "${name}"; known families: ${Object.keys(FAMILIES).join(', ')}.`);
  }
  return FAMILIES[name];
}
