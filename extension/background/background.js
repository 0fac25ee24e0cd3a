// @ts-check
/**
 * The background: context menu, job bookkeeping, notifications. It holds no audio and no model
 * and keeps no state in globals (the service worker can stop at any time): jobs live in
 * storage.local, audio in IndexedDB, inference in the host (platform/<browser>/inference-host.js).
 */
import { api } from '../platform/browser-api.js';
import { connectHost } from '../platform/inference-host.js';
import { CAN_CAPTURE_TABS } from '../platform/tab-capture.js';
import { MSG, TARGET, isOwnSender } from '../shared/messages.js';
import { changeJobs, listJobs, updateJob } from '../shared/jobs.js';
import { nameFromUrl } from '../shared/names.js';
import { loadSettings, saveSettings } from '../shared/settings.js';
import { deleteFailedJobData, deleteJobData, storedJobIds } from '../shared/store.js';
import { LIVE_MENU, MENUS, clickAction } from './menus.js';

const host = connectHost(route);

api.runtime.onInstalled.addListener(() => {
  api.contextMenus.removeAll(() => {
    for (const item of CAN_CAPTURE_TABS ? [...MENUS, LIVE_MENU] : MENUS) api.contextMenus.create(item);
  });
});

api.contextMenus.onClicked.addListener((info, tab) => {
  const action = clickAction(info, CAN_CAPTURE_TABS);
  if (!action) return;
  if (action.kind === 'live') {
    if (tab?.id !== undefined) offerLive(tab.id, tab.title);
    return;
  }
  const { url } = action;
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

/**
 * Live: the popup asks for the tab's stream id (tabCapture needs the extension invoked for the
 * tab) and the offscreen document opens the stream and demixes it. Not this service worker: an
 * id is usable only in the render process that asked for it, and the cross-origin-isolated
 * offscreen document lives in another one than this worker ("Error starting tab capture",
 * Chromium 156), but in the same one as the popup. The state the popup shows lives in
 * storage.session (`live`), written from the host's reports.
 * @param {import('../shared/messages.js').StartLiveData} request
 */
async function startLive({ tabId, title, streamId, recordOutput = false }) {
  const live = await readLive();
  // A capture whose host stopped reporting (its document was closed) no longer blocks a new one.
  if (live && !live.ended && Date.now() - (live.updatedAt ?? 0) < LIVE_STALE_MS) {
    throw new Error('A tab is already being demixed: stop it first.');
  }
  const settings = await loadSettings();
  const name = `${title || (await api.tabs.get(tabId).catch(() => null))?.title || 'Tab audio'} (live)`;
  const jobId = crypto.randomUUID();
  /** @type {import('../shared/messages.js').LiveRecord} */
  const state = {
    jobId, tabId, name, stems: [], gains: [], keep: settings.keepLiveStems, health: null, starting: true,
    updatedAt: Date.now(),
  }; // prettier-ignore
  await api.storage.session.set({ [LIVE_KEY]: state });
  await api.action.setBadgeText({ text: 'LIVE' });
  try {
    await host.send(MSG.LIVE_CAPTURE, {
      streamId, tabId, jobId, name, keep: settings.keepLiveStems, recordOutput, threads: settings.threads,
    }); // prettier-ignore
  } catch (failure) {
    await api.action.setBadgeText({ text: '' });
    /** @type {import('../shared/messages.js').LiveRecord} */
    const ended = { jobId, name, stems: [], gains: [], keep: false, ended: true, error: String(failure) };
    await api.storage.session.set({ [LIVE_KEY]: ended });
    throw failure;
  }
  return { jobId };
}
const LIVE_KEY = 'live';
const PENDING_KEY = 'live-pending';

/**
 * A menu click on a tab (or on a blob: media element) opens the popup, which starts the capture
 * of that tab (see startLive for why the popup). The click has invoked the extension for the tab.
 * @param {number} tabId @param {string} [title]
 */
function offerLive(tabId, title) {
  // Both asked for at once, inside the click's gesture; the write is the first to be sent.
  api.storage.session.set({ [PENDING_KEY]: { tabId, title, at: Date.now() } });
  api.action.openPopup().catch(() =>
    notify('live', 'Demix this tab', 'Click the Demixer button in the toolbar, then “Demix this tab (live)”.'),
  );
}
const readLive = async () =>
  /** @type {import('../shared/messages.js').LiveRecord | undefined} */ ((await api.storage.session.get(LIVE_KEY))[LIVE_KEY]);
/** The host reports every 0.5 s while it captures (inference/live-host.js) and starts within seconds. */
const LIVE_STALE_MS = 30_000;

/** @param {number} tabId @param {string} reason */
async function endLiveOfTab(tabId, reason) {
  const live = await readLive();
  if (live && !live.ended && live.tabId === tabId) await host.send(MSG.LIVE_END, { reason });
}

// A capture ends with its tab: closed, or loading another page (the stream itself may go on).
api.tabs.onRemoved.addListener((tabId) => {
  endLiveOfTab(tabId, 'The tab was closed.');
});
api.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status === 'loading') endLiveOfTab(tabId, 'The tab loaded another page.');
});

/** @param {string} id @param {string} title @param {string} text */
function notify(id, title, text) {
  api.notifications.create(id, {
    type: 'basic', iconUrl: api.runtime.getURL('icons/icon-128.png'), title, message: text,
  }); // prettier-ignore
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
  [MSG.START_LIVE]: (data) => startLive(data),
  [MSG.STOP_LIVE]: () => host.send(MSG.LIVE_END, { reason: 'Stopped.' }),
  [MSG.SET_LIVE_MIX]: async (/** @type {import('../shared/messages.js').LiveMixData} */ mix) => {
    if (mix.keep !== undefined) await saveSettings({ keepLiveStems: mix.keep });
    await host.send(MSG.LIVE_MIX, mix);
  },
  [MSG.LIVE_STATE]: async (/** @type {import('../shared/messages.js').LiveStateData} */ state) => {
    const live = await readLive();
    if (live && live.jobId !== state.jobId) return; // a late report of an ended capture
    await api.storage.session.set({ [LIVE_KEY]: { ...state, updatedAt: Date.now() } });
    await api.action.setBadgeText({ text: state.health?.fallingBehind ? 'SLOW' : 'LIVE' });
  },
  [MSG.LIVE_ENDED]: async (/** @type {import('../shared/messages.js').LiveEndedData} */ end) => {
    await api.action.setBadgeText({ text: '' });
    // Kept for the popup until the next capture: why it ended, and its last health figures.
    await api.storage.session.set({ [LIVE_KEY]: { ...end, stems: [], gains: [], keep: end.kept, ended: true } });
    if (end.error) notify(`live-${end.jobId}`, 'Live demixing stopped', end.error);
    if (end.kept) await addJob({ id: end.jobId, name: end.name, source: { kind: 'recorded' } });
  },
  [MSG.JOB_PROGRESS]: ({ jobId, phase, done, total }) =>
    changeJobs((jobs) => {
      const job = jobs.find((j) => j.id === jobId);
      if (!job || job.state === 'cancelled') return;
      if (job.state === 'queued') Object.assign(job, { state: 'running', startedAt: Date.now() });
      Object.assign(job, { phase, done, total, updatedAt: Date.now() });
    }),
  [MSG.JOB_DONE]: async ({ jobId, stems, durationS, timings, threads, decoder }) => {
    const job = await saveEnd(jobId, { state: 'done', stems, durationS, timings, threads, decoder, phase: undefined });
    if (job) notify(jobId, 'Stems ready', `${job.name}: ${stems.map((/** @type {{stem: string}} */ s) => s.stem).join(', ')}`);
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
  // A live capture records its mix before its job is listed (when it stops).
  const live = await readLive();
  if (live && !live.ended) states.set(live.jobId, 'running');
  const ended = (/** @type {string} */ id) => states.get(id) === 'failed' || states.get(id) === 'cancelled';
  const { inputs, results } = await storedJobIds();
  const stale = new Set([...inputs].filter(ended));
  for (const id of results) if (!states.has(id) || ended(id)) stale.add(id);
  for (const id of stale) await deleteJobData(id);
}

resumeUnfinishedJobs();
sweepStoredData().catch((e) => console.warn('demixer: sweep of stored audio', e));
