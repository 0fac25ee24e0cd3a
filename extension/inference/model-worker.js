// @ts-check
/**
 * One single-threaded onnxruntime-web session in a dedicated worker: worker-pool.js starts one
 * per core where the page gets no SharedArrayBuffer (Firefox), so ORT has no threads of its own.
 * Requests arrive one at a time (the pool waits for each answer); outputs are transferred back.
 */
import { createRunner } from './model-runner.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {{type: 'create', modelUrl: string | Uint8Array}
 *   | {type: 'run', data: Float32Array, dims: number[]}
 *   | {type: 'runNamed', feeds: Record<string, {data: Float32Array, dims: number[]}>}} WorkerRequest
 * @typedef {{ok: true, result?: Float32Array | Record<string, Float32Array>} | {ok: false, error: string}} WorkerReply
 */

const scope = /** @type {{onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null,
  postMessage: (message: WorkerReply, transfer?: Transferable[]) => void}} */ (/** @type {unknown} */ (globalThis));

/** @type {Promise<import('./model-runner.js').ModelRunner> | null} */
let runner = null;

scope.onmessage = async ({ data: request }) => {
  try {
    if (request.type === 'create') {
      runner ??= createRunner(request.modelUrl, { inWorker: true });
      await runner;
      scope.postMessage({ ok: true });
      return;
    }
    if (!runner) throw new Error('model worker: no session yet');
    if (request.type === 'run') {
      const result = await (await runner).run(request.data, request.dims);
      scope.postMessage({ ok: true, result }, [result.buffer]);
    } else {
      const result = await (await runner).runNamed(request.feeds);
      scope.postMessage({ ok: true, result }, Object.values(result).map((r) => r.buffer));
    }
  } catch (error) {
    scope.postMessage({ ok: false, error: errorText(error) });
  }
};
