// @ts-check
/**
 * N single-threaded model sessions in N dedicated workers (model-worker.js): the model's patches
 * are independent, so a run of P patches becomes P one-patch runs, handed in order to whichever
 * worker is free and put back in order. Where a page has no SharedArrayBuffer (Firefox's
 * extension pages are not cross-origin isolated) this is the only way onnxruntime-web uses more
 * than one core. Memory: each worker holds the model once and the activations of one patch;
 * onnxruntime's compiled code is shared.
 * The patches' buffers go to the workers and come back (transferred, not copied), and are reused
 * for the next chunk's: a long track would otherwise leave ~34 MB of them per chunk for the
 * page's GC, which in Firefox lets a few hundred MB pile up (the 60-minute peak).
 */
import { t } from '../shared/i18n.js';
import { BufferBank } from './buffer-bank.js';
import { WASM_URL } from './model-runner.js';

/**
 * Workers to start: `requested` (0: one per core), at most one per core.
 * @param {number} requested @param {number} cores
 */
export function workerCount(requested, cores) {
  return Math.max(1, Math.min(requested || cores, cores));
}

class ModelWorker {
  /** @param {URL} script @param {BufferBank} bank  where the buffers a reply hands back go */
  constructor(script, bank) {
    this.worker = new Worker(script, { type: 'module' });
    /** @type {{resolve: (value: any) => void, reject: (error: Error) => void} | null} */
    this.pending = null;
    this.worker.onmessage = ({ data }) => {
      const pending = this.pending;
      this.pending = null;
      for (const array of data.lent ?? []) bank.give(array);
      if (data.ok) pending?.resolve(data);
      else pending?.reject(new Error(t('speedWorkerFailed', data.error)));
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      const pending = this.pending;
      this.pending = null;
      pending?.reject(new Error(t('speedWorkerStopped', event.message || 'out of memory?')));
    };
  }

  /**
   * One request; the pool sends the next only after the answer (a reply that is `ok`).
   * @param {import('./model-worker.js').WorkerRequest} request @param {Transferable[]} [transfer]
   * @returns {Promise<any>}
   */
  ask(request, transfer = []) {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(request, transfer);
    });
  }
}

/**
 * @param {string | Uint8Array} modelUrl  its URL, or its bytes (an imported model)
 * @param {{workers: number}} options
 * @returns {Promise<import('./model-runner.js').ModelRunner>}
 */
export async function createPoolRunner(modelUrl, { workers }) {
  const script = new URL('./model-worker.js', import.meta.url);
  const bank = new BufferBank();
  const all = Array.from({ length: workers }, () => new ModelWorker(script, bank));
  let sharedCode = false;
  try {
    // Compiled once here and shared: each worker would compile onnxruntime's code for itself.
    const compiled = await WebAssembly.compile(await (await fetch(WASM_URL)).arrayBuffer());
    const replies = await Promise.all(all.map((w) => w.ask({ type: 'create', modelUrl, compiled })));
    sharedCode = replies.every((reply) => reply.sharedCode);
  } catch (error) {
    for (const w of all) w.worker.terminate();
    throw error;
  }
  /** @type {ModelWorker[]} */
  const idle = [...all];
  /** @type {((w: ModelWorker) => void)[]} */
  const waiting = [];
  /** @returns {Promise<ModelWorker>} */
  const acquire = () => {
    const free = idle.shift();
    return free ? Promise.resolve(free) : new Promise((resolve) => waiting.push(resolve));
  };
  /** @param {ModelWorker} w */
  const releaseWorker = (w) => {
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  };
  /**
   * @param {import('./model-worker.js').WorkerRequest} request @param {Transferable[]} [transfer]
   */
  async function onFreeWorker(request, transfer) {
    const w = await acquire();
    try {
      return (await w.ask(request, transfer)).result;
    } finally {
      releaseWorker(w);
    }
  }

  /** A patch's output length by its input's, once a reply has told it (then workers write into lent buffers). */
  /** @type {Map<number, number>} */
  const outputLengths = new Map();
  /** @type {import('./model-runner.js').ModelRunner['run']} */
  async function run(data, dims) {
    const [P, ...patchDims] = dims;
    const size = data.length / P;
    const parts = await Promise.all(Array.from({ length: P }, (_, p) => {
      const patch = bank.take(size);
      patch.set(data.subarray(p * size, (p + 1) * size)); // a copy: transferred to the worker
      const length = outputLengths.get(size);
      const into = length ? bank.take(length) : undefined;
      const transfer = into ? [patch.buffer, into.buffer] : [patch.buffer];
      return onFreeWorker({ type: 'run', data: patch, dims: [1, ...patchDims], into }, transfer);
    })); // prettier-ignore
    outputLengths.set(size, parts[0].length);
    const out = bank.take(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
      bank.give(part);
    }
    return out;
  }

  return {
    threads: workers,
    sharedCode,
    run,
    // HTDemucs's segments are not batched: each run is one request to a free worker.
    runNamed: (feeds) => onFreeWorker({ type: 'runNamed', feeds }),
    recycle: (result) => bank.give(result),
    release: async () => {
      for (const w of all) w.worker.terminate();
    },
  };
}
