// @ts-check
/**
 * An imported model's check with a deadline: the check (model-check.js) runs in a worker of its
 * own (model-check-worker.js), which is terminated when the deadline passes or the user cancels
 * the import. A model that loops or spins for ever so costs the import its deadline and nothing
 * else: jobs run their own sessions meanwhile, and the worker's memory goes with it.
 * The deadline is around the whole check, whatever the family: a family added later is bounded
 * the same way.
 */
import { getModel, putModel } from '../shared/store.js';

/** @typedef {import('../shared/messages.js').ModelVerdict} ModelVerdict */

/**
 * Per MB of model beyond the base: the session's creation and one run grow with the model,
 * and an int8 model computes as much as its fp32 twin from a third of the bytes. Measured
 * (docs/reliability.md): HTDemucs int8 (54 MB) took 140 s in Chromium at load 22-26 on 2 cores,
 * 49.5 s single-threaded in Firefox at load 7-11; its deadline is 60 + 162 s.
 */
export const CHECK_S_PER_MB = 3;

/**
 * How long the check of a `bytes`-byte model may take.
 * @param {number} bytes @param {number} baseS  the `modelCheckS` setting (shared/settings.js)
 */
export function checkDeadlineS(bytes, baseS) {
  return Math.round(baseS + (CHECK_S_PER_MB * bytes) / 1e6);
}

/**
 * Check imported model `modelId`; mark it ready, or say why it cannot run.
 * @param {string} modelId
 * @param {{baseS: number, signal: AbortSignal}} options  signal: the import's Cancel
 * @returns {Promise<ModelVerdict>}
 */
export async function verifyModel(modelId, { baseS, signal }) {
  const record = await getModel(modelId);
  if (!record) return { ok: false, key: 'bundleGone', subs: [] };
  const model = new Uint8Array(await record.model.arrayBuffer());
  const deadlineS = checkDeadlineS(model.byteLength, baseS);
  const verdict = await inWorker(model, record.descriptor, deadlineS, signal);
  if (!verdict.ok) return verdict;
  if (!(await getModel(modelId))) return { ok: false, key: 'bundleGone', subs: [] };
  await putModel({ ...record, state: 'ready' });
  return verdict;
}

/**
 * @param {Uint8Array} model @param {unknown} descriptor @param {number} deadlineS @param {AbortSignal} signal
 * @returns {Promise<ModelVerdict>}
 */
function inWorker(model, descriptor, deadlineS, signal) {
  const worker = new Worker(new URL('./model-check-worker.js', import.meta.url), { type: 'module' });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @type {() => void} */
  let onAbort = () => {};
  /** @type {Promise<ModelVerdict>} */
  const verdict = new Promise((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (event) => {
      event.preventDefault();
      resolve({ ok: false, key: 'bundleCheckStopped', subs: [], detail: event.message });
    };
    timer = setTimeout(() => resolve({ ok: false, key: 'bundleCheckTimeout', subs: [String(deadlineS)] }), deadlineS * 1000);
    onAbort = () => resolve({ ok: false, key: 'bundleCheckCancelled', subs: [] });
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort);
  });
  worker.postMessage({ model, descriptor }, [model.buffer]);
  return verdict.finally(() => {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    worker.terminate();
  });
}
