// @ts-check
/**
 * The inference host: a queue of jobs run one at a time (two separations at once would double
 * peak memory for no speed-up on a machine whose cores the model already uses). Hosted by the
 * offscreen document (Chrome) or the background page (Firefox); it reports through `report`.
 */
import { MSG } from '../shared/messages.js';
import { createRunner } from './model-runner.js';
import { CancelledError, separateJob } from './separator.js';

/**
 * @typedef {import('../shared/messages.js').RunJobData} RunJobData
 * @typedef {(type: import('../shared/messages.js').MessageType, data: unknown) => void} Report
 */

/** @param {string} url */
async function loadJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`missing ${url}`);
  return response.json();
}

/**
 * @param {Report} report
 * @param {{modelBase: string}} options  URL of the folder holding model.json
 */
export function createHost(report, { modelBase }) {
  /** @type {RunJobData[]} */
  const queue = [];
  /** @type {{jobId: string, controller: AbortController} | null} */
  let current = null;
  /** Created by the first job; its thread request sizes the page's WASM pool (model-runner.js). */
  /** @type {Promise<import('./model-runner.js').ModelRunner> | null} */
  let runner = null;
  /** @type {Promise<import('./separator.js').ModelDescriptor> | null} */
  let descriptor = null;

  async function pump() {
    if (current) return;
    const job = queue.shift();
    if (!job) return;
    current = { jobId: job.jobId, controller: new AbortController() };
    try {
      descriptor ??= loadJson(new URL('model.json', modelBase).href);
      const model = await descriptor;
      const done = await separateJob(job, {
        descriptor: model,
        getRunner: () => (runner ??= createRunner(new URL(model.file, modelBase).href, { threads: job.threads })),
        progress: (p) => report(MSG.JOB_PROGRESS, p),
        signal: current.controller.signal,
      });
      report(MSG.JOB_DONE, { ...done, threads: (await runner)?.threads });
    } catch (error) {
      const cancelled = error instanceof CancelledError;
      const text = error instanceof Error ? error.message : String(error);
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
        report(MSG.JOB_FAILED, { jobId, error: 'Cancelled', cancelled: true });
      }
    },
    busy: () => current !== null || queue.length > 0,
  };
}
