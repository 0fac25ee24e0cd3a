// @ts-check
/**
 * The background: context menu, job bookkeeping, notifications. It holds no audio and no model
 * and keeps no state in globals (the service worker can stop at any time): jobs live in
 * storage.local, audio in IndexedDB, inference in the host (platform/<browser>/inference-host.js).
 */
import { api } from '../platform/browser-api.js';
import { connectHost } from '../platform/inference-host.js';
import { MSG, TARGET, isOwnSender } from '../shared/messages.js';
import { changeJobs, listJobs, updateJob } from '../shared/jobs.js';
import { nameFromUrl } from '../shared/names.js';
import { replacedWarning } from '../shared/bad-samples.js';
import { loadSettings } from '../shared/settings.js';
import { deleteFailedJobData, deleteJobData, storedJobIds } from '../shared/store.js';
import { MENUS, clickedUrl } from './menus.js';

const host = connectHost(route);

api.runtime.onInstalled.addListener(() => {
  api.contextMenus.removeAll(() => {
    for (const item of MENUS) api.contextMenus.create(item);
  });
});

api.contextMenus.onClicked.addListener((info, tab) => {
  const url = clickedUrl(info);
  if (!url) return;
  // Ask for this one origin now, inside the click's user gesture; if the user says no, the
  // fetch may still succeed (CORS) and otherwise fails with a clear message.
  const origin = originPattern(url);
  const asked = origin ? api.permissions.request({ origins: [origin] }).catch(() => false) : Promise.resolve(false);
  asked.finally(() => startUrlJob({ url, name: nameFromUrl(url) || tab?.title || 'audio' }));
});

/** @param {string} url */
function originPattern(url) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'file:') return 'file:///*';
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return `${parsed.origin}/*`;
  } catch {}
  return null;
}

/** @param {{url: string, name: string}} data */
async function startUrlJob({ url, name }) {
  if (!/^(https?|file):/.test(url)) {
    return addJob({ name, source: { kind: 'url', url }, error: `Cannot read audio from a ${url.split(':')[0]}: address.` });
  }
  return addJob({ name, source: { kind: 'url', url } });
}

/**
 * @param {{name: string, source: import('../shared/messages.js').JobSource, id?: string, error?: string}} spec
 */
async function addJob({ name, source, id = crypto.randomUUID(), error }) {
  const now = Date.now();
  await changeJobs((jobs) => {
    if (jobs.some((j) => j.id === id)) return;
    jobs.unshift({
      id, name, source, createdAt: now, updatedAt: now,
      state: error ? 'failed' : 'queued',
      ...(error ? { error } : {}),
    });
  });
  if (!error) {
    try {
      await runJob({ id, source, name });
    } catch (failure) {
      await updateJob(id, { state: 'failed', error: `Could not start the separation: ${failure}` });
    }
  }
  return id;
}

/**
 * Hand a job to the inference host with the current settings.
 * @param {{id: string, source: import('../shared/messages.js').JobSource, name: string}} job
 */
async function runJob({ id, source, name }) {
  await host.send(MSG.RUN_JOB, { jobId: id, source, name, ...(await loadSettings()) });
}

/** One handler per message type this context owns. @type {Record<string, (data: any) => Promise<unknown> | void>} */
const handlers = {
  [MSG.START_FILE_JOB]: ({ jobId, name }) => addJob({ id: jobId, name, source: { kind: 'stored' } }),
  [MSG.START_URL_JOB]: (data) => startUrlJob(data),
  [MSG.CANCEL_JOB]: async ({ jobId }) => {
    await host.send(MSG.STOP_JOB, { jobId });
  },
  [MSG.CLEAR_JOB]: async ({ jobId }) => {
    await host.send(MSG.STOP_JOB, { jobId });
    await changeJobs((jobs) => {
      const at = jobs.findIndex((j) => j.id === jobId);
      if (at >= 0) jobs.splice(at, 1);
    });
    await deleteJobData(jobId);
    await sweepStoredData(); // the user clears jobs to make room: leftovers go too
  },
  [MSG.JOB_PROGRESS]: ({ jobId, phase, done, total }) =>
    changeJobs((jobs) => {
      const job = jobs.find((j) => j.id === jobId);
      if (!job || job.state === 'cancelled') return;
      if (job.state === 'queued') Object.assign(job, { state: 'running', startedAt: Date.now() });
      Object.assign(job, { phase, done, total, updatedAt: Date.now() });
    }),
  [MSG.JOB_DONE]: async ({ jobId, stems, durationS, timings, threads, decoder, replaced }) => {
    const job = await saveEnd(jobId, {
      state: 'done', stems, durationS, timings, threads, decoder, replaced, phase: undefined,
    });
    if (job) {
      api.notifications.create(jobId, {
        type: 'basic',
        iconUrl: api.runtime.getURL('icons/icon-128.png'),
        title: 'Stems ready',
        message: [
          `${job.name}: ${stems.map((/** @type {{stem: string}} */ s) => s.stem).join(', ')}`,
          replaced ? replacedWarning(replaced) : '',
        ].join('\n').trim(),
      });
    }
  },
  [MSG.JOB_FAILED]: async ({ jobId, error, cancelled }) => {
    // The host has deleted what the job stored; if that failed (a full disk can fail a delete
    // too), this is the second try, and sweepStoredData the third, at the next start.
    await deleteFailedJobData(jobId).catch((e) => console.warn('demixer: cleanup of a failed job', jobId, e));
    /** @type {Partial<import('../shared/jobs.js').Job>} */
    const ended = cancelled ? { state: 'cancelled', phase: undefined } : { state: 'failed', error, phase: undefined };
    return saveEnd(jobId, ended);
  },
};

/**
 * A job's end must reach the list, or the popup shows it running for ever. On a full disk the
 * save itself can fail until the failed job's audio is gone (freed as the browser gets to it),
 * so it is retried for a while.
 * @param {string} jobId @param {Partial<import('../shared/jobs.js').Job>} patch
 */
async function saveEnd(jobId, patch) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await updateJob(jobId, patch);
    } catch (failure) {
      if (attempt === END_SAVE_ATTEMPTS) throw failure;
      console.warn('demixer: saving the end of job', jobId, failure);
      await new Promise((resolve) => setTimeout(resolve, 1000 * attempt));
    }
  }
}
const END_SAVE_ATTEMPTS = 6; // over 15 s

/** @param {{target: string, type: string, data: any}} msg */
function route(msg) {
  if (msg?.target !== TARGET.BACKGROUND) return undefined;
  return handlers[msg.type]?.(msg.data);
}

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (msg?.target !== TARGET.BACKGROUND) return false;
  if (!isOwnSender(sender, api.runtime.id, api.runtime.getURL(''))) return false;
  Promise.resolve(route(msg)).then(
    (result) => sendResponse({ ok: true, result }),
    (error) => sendResponse({ ok: false, error: String(error?.message ?? error) }),
  );
  return true;
});

/**
 * Jobs the host may have lost (Firefox unloaded the event page, the browser restarted, the
 * offscreen document is gone) are handed to it again each time this context starts; the host
 * ignores those it is still running (a Chrome service-worker restart leaves the offscreen
 * document working). A resumed job starts over from its stored input.
 */
async function resumeUnfinishedJobs() {
  for (const job of await listJobs()) {
    if (job.state === 'queued' || job.state === 'running') {
      await runJob(job);
    }
  }
}

/**
 * Audio left behind: everything of failed and cancelled jobs (their own cleanup failed), and
 * chunks and stems of jobs no longer listed (removed while the disk was full). Inputs of unlisted
 * jobs stay: a page stores its file before it asks for the job, which may be what started this
 * context.
 */
async function sweepStoredData() {
  const states = new Map((await listJobs()).map((job) => [job.id, job.state]));
  const ended = (/** @type {string} */ id) => states.get(id) === 'failed' || states.get(id) === 'cancelled';
  const { inputs, results } = await storedJobIds();
  const stale = new Set([...inputs].filter(ended));
  for (const id of results) if (!states.has(id) || ended(id)) stale.add(id);
  for (const id of stale) await deleteJobData(id);
}

resumeUnfinishedJobs();
sweepStoredData().catch((e) => console.warn('demixer: sweep of stored audio', e));
