// @ts-check
/**
 * The inference host's half of an import (the page's half is shared/bundle.js), run in its own
 * worker (model-check-worker.js, started and stopped by verify-model.js): onnxruntime-web creates
 * a session from the model's bytes, and one second of noise runs through the model's family
 * code, every model call's outputs checked against the shapes the descriptor declares. Nothing
 * here knows the family: every family, those to come included, is checked the same way.
 * A verdict names its message key (a worker has no i18n API: the page words it) and keeps the
 * runtime's own text apart, as `detail`.
 */
import { familyBlocks } from './families/index.js';
import { createRunner } from './model-runner.js';
import { SampleWindow } from './samples.js';
import { errorText } from '../shared/errors.js';

/** @typedef {import('./model-runner.js').ModelRunner} ModelRunner */

/** A refusal: a message key of _locales and its substitutions. */
class Refusal extends Error {
  /** @param {string} key @param {...(string | number)} subs */
  constructor(key, ...subs) {
    super(key);
    this.key = key;
    this.subs = subs.map(String);
  }
}

const NOISE_S = 1;

/**
 * The number of values a layout such as "nb_patches,nb_stems,2*nb_channels,nb_bins" names,
 * with its variables bound from the inputs' dims and the descriptor.
 * @param {string} layout @param {Record<string, number>} vars
 */
function layoutSize(layout, vars) {
  let size = 1;
  for (const axis of layout.split(',')) {
    for (const factor of axis.split('*')) {
      const value = /^\d+$/.test(factor) ? Number(factor) : vars[factor];
      if (value === undefined) return NaN;
      size *= value;
    }
  }
  return size;
}

/**
 * `runner`, with each call's outputs checked against the descriptor's declared layouts.
 * @param {ModelRunner} runner
 * @param {{stems: string[], nbChannels: number, input: {name: string, layout: string}[],
 *   output: {name: string, layout: string}[]}} descriptor
 * @returns {ModelRunner}
 */
export function shapeCheckedRunner(runner, descriptor) {
  /** @type {ModelRunner['runNamed']} */
  async function runNamed(feeds) {
    /** @type {Record<string, number>} */
    const vars = { nb_stems: descriptor.stems.length, nb_channels: descriptor.nbChannels };
    for (const { name, layout } of descriptor.input) {
      const dims = feeds[name]?.dims ?? [];
      layout.split(',').forEach((axis, i) => {
        if (/^[a-z_]+$/.test(axis) && !(axis in vars)) vars[axis] = dims[i];
      });
    }
    const results = await runner.runNamed(feeds);
    for (const { name, layout } of descriptor.output) {
      const expected = layoutSize(layout, vars);
      const got = results[name]?.length ?? 0;
      if (got !== expected) throw new Refusal('bundleOutputShape', name, got, layout, expected);
    }
    return results;
  }
  return {
    ...runner,
    runNamed,
    run: async (data, dims) => (await runNamed({ [descriptor.input[0].name]: { data, dims } }))[descriptor.output[0].name],
  };
}

/** @param {number} nbSamples @param {number} nbChannels */
async function* noise(nbSamples, nbChannels) {
  let seed = 1;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647) * 0.2 - 0.1;
  yield Array.from({ length: nbChannels }, () => Float32Array.from({ length: nbSamples }, random));
}

/**
 * Run `model` once on noise through its family's code.
 * @param {Uint8Array} model  the ONNX file's bytes
 * @param {import('./separator.js').ModelDescriptor} descriptor
 * @returns {Promise<import('../shared/messages.js').ModelVerdict>}
 */
export async function checkModel(model, descriptor) {
  /** @type {ModelRunner} */
  let runner;
  try {
    runner = await createRunner(model, { inWorker: true });
  } catch (error) {
    return { ok: false, key: 'bundleRuntimeRefused', subs: [], detail: errorText(error) };
  }
  try {
    const samples = new SampleWindow(noise(NOISE_S * descriptor.sampleRate, descriptor.nbChannels));
    const checked = shapeCheckedRunner(runner, /** @type {any} */ (descriptor));
    let blocks = 0;
    for await (const block of familyBlocks(descriptor)(samples, descriptor, checked, () => {})) {
      if (block.length !== descriptor.stems.length || block.some((stem) => stem.length !== descriptor.nbChannels)) {
        throw new Refusal('bundleBlockShape', descriptor.stems.length);
      }
      blocks += 1;
    }
    if (!blocks) throw new Refusal('bundleBlockShape', descriptor.stems.length);
    return { ok: true };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, key: error.key, subs: error.subs };
    // a family's own refusal (mdx-net.js: NaN out), keyed so that the page words it
    const keyed = /** @type {{key?: unknown, subs?: unknown}} */ (error);
    if (typeof keyed?.key === 'string' && Array.isArray(keyed.subs)) {
      return { ok: false, key: keyed.key, subs: keyed.subs.map(String) };
    }
    return { ok: false, key: 'bundleRunFailed', subs: [], detail: errorText(error) };
  } finally {
    await runner.release().catch(() => {});
  }
}
