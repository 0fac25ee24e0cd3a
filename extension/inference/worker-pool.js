// @ts-check
/**
 * N single-threaded model sessions in N dedicated workers (model-worker.js): the model's patches
 * are independent, so a run of P patches becomes P one-patch runs, handed in order to whichever
 * worker is free and put back in order. Where a page has no SharedArrayBuffer (Firefox's
 * extension pages are not cross-origin isolated) this is the only way onnxruntime-web uses more
 * than one core. Memory: each worker holds the model once and the activations of one patch.
 */
import { t } from '../shared/i18n.js';

/**
 * Workers to start: `requested` (0: one per core), at most one per core.
 * @param {number} requested @param {number} cores
 */
export function workerCount(requested, cores) {
  return Math.max(1, Math.min(requested || cores, cores));
}
class ModelWorker {
  /** @param {URL} script */
  constructor(script) {
    this.worker = new Worker(script, { type: 'module' });
    /** @type {{resolve: (value: any) => void, reject: (error: Error) => void} | null} */
    this.pending = null;
    this.worker.onmessage = ({ data }) => {
      const pending = this.pending;
      this.pending = null;
      if (data.ok) pending?.resolve(data.result);
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
   * One request; the pool sends the next only after the answer.
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
  const all = Array.from({ length: workers }, () => new ModelWorker(script));
  try {
    await Promise.all(all.map((w) => w.ask({ type: 'create', modelUrl })));
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
      return await w.ask(request, transfer);
    } finally {
      releaseWorker(w);
    }
  }

  /** @type {import('./model-runner.js').ModelRunner['run']} */
  async function run(data, dims) {
    const [P, ...patchDims] = dims;
    const size = data.length / P;
    const parts = await Promise.all(Array.from({ length: P }, (_, p) => {
      const patch = data.slice(p * size, (p + 1) * size); // a copy: transferred to the worker
      return onFreeWorker({ type: 'run', data: patch, dims: [1, ...patchDims] }, [patch.buffer]);
    })); // prettier-ignore
    const out = new Float32Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  return {
    threads: workers,
    run,
    // HTDemucs's segments are not batched: each run is one request to a free worker.
    runNamed: (feeds) => onFreeWorker({ type: 'runNamed', feeds }),
    release: async () => {
      for (const w of all) w.worker.terminate();
    },
  };
}
