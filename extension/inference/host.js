// @ts-check
/**
 * The inference host: a queue of jobs run one at a time (two separations at once would double
 * peak memory for no speed-up on a machine whose cores the model already uses). Hosted by the
 * offscreen document (Chrome) or the background page (Firefox); it reports through `report`.
 */
import { MSG } from '../shared/messages.js';
import { createRunner } from './model-runner.js';
import { createPoolRunner, workerCount } from './worker-pool.js';
import { chooseCompute } from './compute.js';
import { createFallbackRunner } from './gpu-fallback.js';
import { verifyModel } from './verify-model.js';
import { givingWayToLive } from './live-priority.js';
import { CancelledError, separateJob } from './separator.js';
import { getModel } from '../shared/store.js';
import { t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {import('../shared/messages.js').RunJobData} RunJobData
 * @typedef {(type: import('../shared/messages.js').MessageType, data: unknown) => void} Report
 */

/**
 * A job is started again each time the browser or the extension restarts in its middle; one
 * that never gets through (it crashes the page, or the user keeps closing the browser on it)
 * must not run for ever at every start, holding every later job behind it.
 */
export const MAX_STARTS = 3;

/** What a job was doing, as `hostStopped` says it. @type {Record<string, () => string>} */
const DOING_TEXT = {
  decoding: () => t('hostDoingDecoding'),
  separating: () => t('hostDoingSeparating'),
  paused: () => t('hostDoingSeparating'),
  saving: () => t('hostDoingSaving'),
};

/** @param {RunJobData} job */
function stoppedText(job) {
  const phase = job.lastPhase ?? 'fetching';
  let doing = DOING_TEXT[phase]?.() ?? `${phase}`;
  if (phase === 'fetching') {
    doing = job.source.kind === 'url' ? t('hostDoingDownloading', hostOf(job.source.url)) : t('hostDoingReading');
  }
  return t('hostStopped', job.starts ?? 0, doing);
}

/** @param {string} url */
function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** @param {string} url */
async function loadJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`missing ${url}`);
  return response.json();
}

/**
 * A job's model: the one imported with `modelId` (shared/store.js models), or the bundled one.
 * @param {string} modelId  '' for the bundled model
 * @param {string} modelBase
 * @returns {Promise<{descriptor: import('./separator.js').ModelDescriptor, source: string | Uint8Array,
 *   madeBy: import('../shared/messages.js').MadeBy}>}
 */
async function loadModel(modelId, modelBase) {
  if (!modelId) {
    const descriptor = await loadJson(new URL('model.json', modelBase).href);
    const madeBy = { name: descriptor.name, sha256: descriptor.sha256, precision: descriptor.precision, imported: false };
    return { descriptor, source: new URL(descriptor.file, modelBase).href, madeBy };
  }
  const record = await getModel(modelId);
  if (!record || record.state !== 'ready') {
    throw new Error(t('bundleModelRemoved'));
  }
  const madeBy = { name: record.name, sha256: record.sha256, precision: record.precision, imported: true };
  return {
    descriptor: /** @type {any} */ (record.descriptor),
    source: new Uint8Array(await record.model.arrayBuffer()),
    madeBy,
  };
}

/**
 * @param {Report} report
 * @param {{modelBase: string, workers: number}} options  modelBase: URL of the folder holding
 *   model.json; workers: the browser's default for the `workers` setting (platform/<browser>/)
 */
export function createHost(report, { modelBase, workers }) {
  /** @type {RunJobData[]} */
  const queue = [];
  /** @type {{jobId: string, controller: AbortController} | null} */
  let current = null;
  /** Model checks under way (an import's CHECK_MODEL), by model id: their Cancel. @type {Map<string, AbortController>} */
  const checks = new Map();
  /**
   * The last job's model, kept for the next job that asks for the same one (one session at a
   * time: a model of another job replaces it). The first session's thread request sizes the
   * page's WASM pool (model-runner.js).
   * @type {{id: string, model: Promise<Awaited<ReturnType<typeof loadModel>>>,
   *   runner: Promise<import('./model-runner.js').ModelRunner> | null, key: string,
   *   compute?: import('./compute.js').Compute} | null}  key: the runner's kind (GPU, or WASM
   *   with its number of workers); compute: what the last job's setting chose
   */
  let loaded = null;

  /**
   * On the GPU (the job's `compute` setting, compute.js), falling back to WASM; else several
   * single-threaded sessions in workers (worker-pool.js), or one session with ORT's own threads:
   * the job's `workers` setting, 0 = this browser's default. Kept with the model while the kind
   * asked for stays the same; a GPU runner that fell back is not kept (the next job tries the GPU again).
   * @param {NonNullable<typeof loaded>} slot @param {string | Uint8Array} source @param {RunJobData} job
   * @returns {Promise<import('./model-runner.js').ModelRunner>}
   */
  async function getRunner(slot, source, job) {
    const count = workerCount(job.workers || workers, globalThis.navigator?.hardwareConcurrency || 1);
    const compute = await chooseCompute(job.compute);
    slot.compute = compute;
    const key = compute.backend === 'webgpu' ? 'webgpu' : `wasm:${count}`;
    const kept = slot.runner && (await slot.runner.catch(() => null));
    if (slot.runner && (slot.key !== key || (key === 'webgpu' && kept?.compute?.backend !== 'webgpu'))) {
      slot.runner = null;
      await kept?.release();
    }
    slot.key = key;
    if (slot.runner) return slot.runner;
    const makeCpu = () =>
      count > 1 ? createPoolRunner(source, { workers: count }) : createRunner(source, { threads: job.threads });
    const made = createFallbackRunner(compute, () => createRunner(source, { backend: 'webgpu', threads: job.threads }), makeCpu);
    slot.runner = made;
    // A runner that failed to start is not kept: the next job tries again.
    made.catch(() => {
      if (slot.runner === made) slot.runner = null;
    });
    return made;
  }

  /**
   * A worker pool (worker-pool.js) is let go as soon as a long job's last model run is done and no
   * job waits in the queue, before the job joins and saves its stems: terminating its workers
   * gives their whole onnxruntime heaps back (Firefox, 2 workers: ~440 MB, which the saving of a
   * 60-minute track's stems otherwise adds to its peak; docs/benchmarks.md). The next job
   * loads the model again (seconds), so only a streamed track (over `streamAboveS`) lets it go:
   * a short track's stems are saved without a peak of note. One session with onnxruntime's own
   * threads (Chromium's default) and a GPU session are kept.
   * @param {NonNullable<typeof loaded>} slot
   */
  async function releaseIdlePool(slot) {
    const pool = slot.key.startsWith('wasm:') && slot.key !== 'wasm:1';
    if (!pool || !slot.runner || queue.length > 0) return;
    const runner = slot.runner;
    slot.runner = null;
    await (await runner.catch(() => null))?.release().catch(() => {});
  }

  /**
   * What the job ran on: the GPU runner's own account (it may have fallen back mid-job), else
   * this job's choice (with why not the GPU).
   * @param {NonNullable<typeof loaded>} slot
   */
  async function computeOf(slot) {
    const runner = await slot.runner?.catch(() => null);
    return slot.key === 'webgpu' ? runner?.compute : slot.compute;
  }

  async function pump() {
    if (current) return;
    const job = queue.shift();
    if (!job) return;
    current = { jobId: job.jobId, controller: new AbortController() };
    try {
      if ((job.starts ?? 0) >= MAX_STARTS) throw new Error(stoppedText(job));
      // Counted by the background in the job's record; a job this host is already running is
      // not started again (run() ignores it), so a background restart alone does not count.
      report(MSG.JOB_PROGRESS, { jobId: job.jobId, phase: 'fetching', done: 0, total: 0, started: true });
      const modelId = job.modelId ?? job.defaultModel ?? '';
      if (loaded?.id !== modelId) {
        const old = loaded;
        loaded = null;
        await (await old?.runner?.catch(() => null))?.release().catch(() => {});
        const fresh = { id: modelId, model: loadModel(modelId, modelBase), runner: null, key: '' };
        loaded = fresh;
        fresh.model.catch(() => {
          if (loaded === fresh) loaded = null; // a failed load (a removed model) is not kept for the next job
        });
      }
      const slot = /** @type {NonNullable<typeof loaded>} */ (loaded);
      const model = await slot.model;
      const { signal } = current.controller;
      /** @type {import('../shared/messages.js').JobProgressData | null} */
      let last = null;
      /** While it gives way to a live session, the job says so; then its last progress again. @param {boolean} paused */
      const onPause = (paused) => {
        if (last) report(MSG.JOB_PROGRESS, paused ? { ...last, phase: 'paused' } : last);
      };
      /** @type {import('./model-runner.js').ModelRunner | undefined} */
      let used;
      const done = await separateJob(job, {
        descriptor: model.descriptor,
        getRunner: async () => {
          used = await getRunner(slot, model.source, job);
          return givingWayToLive(used, signal, onPause);
        },
        progress: (p) => {
          last = p;
          report(MSG.JOB_PROGRESS, p);
        },
        signal,
        modelDone: (streamed) => (streamed ? releaseIdlePool(slot) : Promise.resolve()),
      });
      const compute = await computeOf(slot);
      report(MSG.JOB_DONE, { ...done, madeBy: model.madeBy, threads: used?.threads, sharedCode: used?.sharedCode, compute });
    } catch (error) {
      const cancelled = error instanceof CancelledError;
      const text = errorText(error);
      report(MSG.JOB_FAILED, { jobId: job.jobId, error: text, cancelled });
      if (!cancelled) console.error('demixer job failed', error);
    } finally {
      current = null;
      queueMicrotask(pump);
    }
  }

  return {
    /** @param {RunJobData} job */
    run(job) {
      if (current?.jobId === job.jobId || queue.some((j) => j.jobId === job.jobId)) return;
      queue.push(job);
      pump();
    },
    /** @param {string} jobId */
    stop(jobId) {
      if (current?.jobId === jobId) {
        current.controller.abort();
        return;
      }
      const at = queue.findIndex((j) => j.jobId === jobId);
      if (at >= 0) {
        queue.splice(at, 1);
        report(MSG.JOB_FAILED, { jobId, error: t('jobsCancelled'), cancelled: true });
      }
    },
    // A model check counts: Firefox's heartbeat (platform/firefox/inference-host.js) keys on this,
    // and HTDemucs's check (a session of 168 MB, one 7.8 s segment) outlasts the 30 s idle unload.
    busy: () => current !== null || queue.length > 0 || checks.size > 0,
    /**
     * A model check, in its own worker with its deadline (verify-model.js): jobs never wait for it.
     * @param {import('../shared/messages.js').VerifyModelData} data
     * @returns {Promise<import('../shared/messages.js').ModelVerdict>}
     */
    async verify({ modelId, checkS }) {
      const controller = new AbortController();
      checks.get(modelId)?.abort();
      checks.set(modelId, controller);
      try {
        return await verifyModel(modelId, { baseS: checkS, signal: controller.signal });
      } finally {
        if (checks.get(modelId) === controller) checks.delete(modelId);
      }
    },
    /** The import's Cancel: its check is stopped and answers that it was cancelled. @param {string} modelId */
    stopCheck(modelId) {
      checks.get(modelId)?.abort();
    },
  };
}
