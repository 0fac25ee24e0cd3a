// @ts-check
/**
 * One single-threaded onnxruntime-web session in a dedicated worker: worker-pool.js starts one
 * per core where the page gets no SharedArrayBuffer (Firefox), so ORT has no threads of its own.
 * Requests arrive one at a time (the pool waits for each answer); outputs are transferred back,
 * written into the pool's own buffers where it lends them.
 */
import { createRunner, usedCompiledModule } from './model-runner.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {{type: 'create', modelUrl: string | Uint8Array, compiled?: WebAssembly.Module}
 *   | {type: 'run', data: Float32Array, dims: number[], into?: Float32Array}
 *   | {type: 'runNamed', feeds: Record<string, {data: Float32Array, dims: number[]}>}} WorkerRequest
 *   into: where to put the output, when it has its size (a buffer the pool reuses)
 * @typedef {{ok: true, result?: Float32Array | Record<string, Float32Array>, lent?: Float32Array[],
 *   sharedCode?: boolean} | {ok: false, error: string, lent?: Float32Array[]}} WorkerReply
 *   lent: the pool's buffers this request brought that are not the result, handed back for reuse
 *   (after a failed run too: the pool's next job takes them);
 *   sharedCode: the answer to 'create': the session's onnxruntime was made from `compiled`
 */

const scope = /** @type {{onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null,
  postMessage: (message: WorkerReply, transfer?: Transferable[]) => void}} */ (/** @type {unknown} */ (globalThis));

/** @type {Promise<import('./model-runner.js').ModelRunner> | null} */
let runner = null;

scope.onmessage = async ({ data: request }) => {
  try {
    if (request.type === 'create') {
      runner ??= createRunner(request.modelUrl, { inWorker: true, compiled: request.compiled });
      await runner;
      scope.postMessage({ ok: true, sharedCode: usedCompiledModule() });
      return;
    }
    if (!runner) throw new Error('model worker: no session yet');
    if (request.type === 'run') {
      const { data, dims, into } = request;
      const output = await (await runner).run(data, dims);
      const result = into?.length === output.length ? (into.set(output), into) : output;
      const lent = into && into !== result ? [data, into] : [data];
      scope.postMessage({ ok: true, result, lent }, [result.buffer, ...lent.map((a) => a.buffer)]);
    } else {
      const result = await (await runner).runNamed(request.feeds);
      scope.postMessage({ ok: true, result }, Object.values(result).map((r) => r.buffer));
    }
  } catch (error) {
    // A run's buffers still here (not detached by a transfer) go back to the pool.
    const lent = /** @type {Float32Array[]} */ (request.type === 'run' ? [request.data, request.into] : [])
      .filter((a) => a?.buffer.byteLength);
    scope.postMessage({ ok: false, error: errorText(error), lent }, lent.map((a) => a.buffer));
  }
};
