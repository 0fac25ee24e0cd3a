// @ts-check
/**
 * An import's model check (model-check.js), alone in a dedicated worker: a hostile model (a
 * loop of 2^40 trips) then blocks only this thread, which verify-model.js terminates at the
 * check's deadline or at the user's Cancel, and no job's session shares its onnxruntime.
 * One request, one answer.
 */
import { checkModel } from './model-check.js';
import { errorText } from '../shared/errors.js';

/** @typedef {{model: Uint8Array, descriptor: import('./separator.js').ModelDescriptor}} CheckRequest */

const scope = /** @type {{onmessage: ((event: MessageEvent<CheckRequest>) => void) | null,
  postMessage: (message: import('../shared/messages.js').ModelVerdict) => void}} */ (/** @type {unknown} */ (globalThis));

scope.onmessage = async ({ data: { model, descriptor } }) => {
  try {
    scope.postMessage(await checkModel(model, descriptor));
  } catch (error) {
    scope.postMessage({ ok: false, key: 'bundleRunFailed', subs: [], detail: errorText(error) });
  }
};
