// @ts-check
/**
 * Job records, kept in `storage.local` (survive a service-worker restart, a closed popup and a
 * browser restart; the audio itself is in IndexedDB). Written only by the background.
 */
import { api } from '../platform/browser-api.js';
import { withDeadline } from './deadline.js';
import { t } from './i18n.js';

/**
 * @typedef {'recording' | 'queued' | 'running' | 'done' | 'failed' | 'cancelled'} JobState
 * @typedef {{
 *   id: string, name: string, state: JobState,
 *   source: import('./messages.js').JobSource,
 *   phase?: import('./messages.js').Phase, done?: number, total?: number, audioS?: number,
 *   createdAt: number, startedAt?: number, pausedAt?: number, updatedAt: number,
 *   error?: string, stems?: import('./messages.js').StemInfo[], durationS?: number,
 *   timings?: Record<string, number>, threads?: number, sharedCode?: boolean, decoder?: Decoder,
 *   starts?: number, recording?: Recording, replaced?: import('./messages.js').Replaced,
 *   model?: string, modelId?: string, madeBy?: import('./messages.js').MadeBy,
 *   compute?: import('../inference/compute.js').Compute,
 *   unsaved?: import('./recordings.js').UnsavedRecording
 * }} Job
 *   modelId: the imported model asked for ('' the bundled one; absent: the default setting);
 *   audioS: the audio time a download without a length brought so far (inference/audio-time.js);
 *   madeBy: the model that made the stems; compute: GPU or CPU, and why not the GPU;
 *   sharedCode: its model workers shared one compiled onnxruntime (worker-pool.js)
 *   starts: how many times a host began the job (a restart begins it again; bounded);
 *   pausedAt: when it began giving way to a live session (phase 'paused');
 *   unsaved: the job's recording is still in chunks, to be joined before it runs (shared/recordings.js)
 * @typedef {{tabId: number, frameId: number, token: string, ending?: boolean}} Recording
 *   a media element being recorded in a page (background.js recordMedia)
 * @typedef {import('./messages.js').Decoder} Decoder
 */

const KEY = 'jobs';
/** A save left unanswered must not hold every later change of the list behind it. */
const SAVE_LIMIT_MS = 30_000;

/** @returns {Promise<Job[]>} */
export async function listJobs() {
  const stored = await api.storage.local.get(KEY);
  return /** @type {Job[]} */ (stored[KEY] ?? []);
}

/** @type {Promise<unknown>} */
let writing = Promise.resolve();

/**
 * Read-modify-write of the job list, one at a time within this context.
 * @template T
 * @param {(jobs: Job[]) => T} change  mutates `jobs` in place
 * @returns {Promise<T>}
 */
export function changeJobs(change) {
  const next = writing.then(async () => {
    const jobs = await listJobs();
    const result = change(jobs);
    await withDeadline(api.storage.local.set({ [KEY]: jobs }), SAVE_LIMIT_MS, t('jobsListNotSaved'));
    return result;
  });
  writing = next.catch(() => {});
  return next;
}

/** @param {string} id @param {Partial<Job>} patch */
export function updateJob(id, patch) {
  return changeJobs((jobs) => {
    const job = jobs.find((j) => j.id === id);
    if (job) Object.assign(job, patch, { updatedAt: Date.now() });
    return job;
  });
}

/** @param {(jobs: Job[]) => void} listener */
export function onJobsChanged(listener) {
  api.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && changes[KEY]) listener(/** @type {Job[]} */ (changes[KEY].newValue ?? []));
  });
}
