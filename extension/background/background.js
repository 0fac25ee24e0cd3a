// @ts-check
/**
 * The background: context menu, job bookkeeping, notifications. It holds no audio and no model
 * and keeps no state in globals (the service worker can stop at any time): jobs live in
 * storage.local, audio in IndexedDB, inference in the host (platform/<browser>/inference-host.js).
 */
import { api } from '../platform/browser-api.js';
import { connectHost } from '../platform/inference-host.js';
import { RECORDING_TYPE, RECORDS_IN_PAGE, startRecorder, stopRecorder } from '../platform/media-capture.js';
import { CAN_CAPTURE_TABS } from '../platform/tab-capture.js';
import { MSG, RECORDER_MESSAGES, TARGET, isOwnSender, isRecorderSender } from '../shared/messages.js';
import { changeJobs, listJobs, updateJob } from '../shared/jobs.js';
import { nameFromUrl } from '../shared/names.js';
import { replacedWarning } from '../shared/bad-samples.js';
import { loadSettings, saveSettings } from '../shared/settings.js';
import {
  RECORDING_PART, allModels, deleteAllButRecording, deleteFailedJobData, deleteJobData, inputFromChunks, putChunk,
  storedJobIds,
} from '../shared/store.js';
import { deleteFailedJob, isRecording, saveRecording } from '../shared/recordings.js';
import { errorText } from '../shared/errors.js';
import { clickAction, menuItems } from './menus.js';
import { removeSyncSite, startSync, syncSites, syncState } from './sync-sites.js';
import { sitePattern } from '../platform/site-pattern.js';
import { t } from '../shared/i18n.js';

const host = connectHost(route);

/** The context menus, with "Demix with…" when models were imported (built again when they change). */
async function installMenus() {
  const models = (await allModels().catch(() => [])).filter((m) => m.state === 'ready')
    .map((m) => ({ id: m.id, title: `${m.name} (${m.precision})` })); // prettier-ignore
  const items = menuItems(models, {
    canCaptureTabs: CAN_CAPTURE_TABS, withTitle: t('bundleMenuWith'), builtinTitle: t('bundleBundledOption'),
  }); // prettier-ignore
  await new Promise((resolve) => api.contextMenus.removeAll(() => resolve(undefined)));
  for (const item of items) api.contextMenus.create(item);
}

api.runtime.onInstalled.addListener(() => {
  installMenus().catch((e) => console.warn('demixer: menus', e));
});

// The keyboard's way to the context menu's "Demix this tab" (manifest `commands`, Chrome: where
// tabs can be captured); the key press invokes the extension for the tab as the click does.
if (CAN_CAPTURE_TABS) {
  api.commands.onCommand.addListener((command, tab) => {
    if (command === 'demix-tab' && tab?.id !== undefined) offerLive(tab.id, tab.title);
  });
}

api.contextMenus.onClicked.addListener((info, tab) => {
  const action = clickAction(info, CAN_CAPTURE_TABS);
  if (action?.kind === 'live') {
    if (tab?.id !== undefined) offerLive(tab.id, tab.title);
    return;
  }
  const url = action?.url ?? '';
  const { frameId = 0, mediaType } = info;
  const media = String(info.menuItemId).startsWith('demix-media') && tab?.id !== undefined && RECORDS_IN_PAGE
    ? { tabId: tab.id, frameId, mediaType, srcUrl: url, name: tab.title || t('recordDefaultName') }
    : null;
  if (media && !isFetchable(url)) {
    // Nothing to download: a MediaSource stream (Firefox gives its element no srcUrl) or a
    // blob: address. Record what the element plays instead (where tabs can be captured, the
    // click asked for the tab's live capture above).
    recordMedia(media).catch((e) => console.warn('demixer: recording', e));
    return;
  }
  if (!url) return;
  // Ask for this one origin now, inside the click's user gesture. If the user says no, the
  // extension could fetch the file only if its site allows any origin (CORS), which media
  // hosts rarely do, while the page itself plays it: where the page's media can be recorded
  // (Firefox) it is; otherwise the fetch is tried and fails with a clear message.
  const origin = originPattern(url);
  const asked = origin ? api.permissions.request({ origins: [origin] }).catch(() => false) : Promise.resolve(false);
  asked.then((granted) => {
    if (media && !granted) recordMedia(media).catch((e) => console.warn('demixer: recording', e));
    else startUrlJob({ url, name: nameFromUrl(url) || tab?.title || 'audio', modelId: action?.modelId });
  });
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

/** @param {string} url */
const isFetchable = (url) => /^(https?|file):/.test(url);

/** @param {{url: string, name: string, modelId?: string}} data */
async function startUrlJob({ url, name, modelId }) {
  if (!isFetchable(url)) {
    return addJob({ name, source: { kind: 'url', url }, error: t('fetchUnreadableScheme', url.split(':')[0]) });
  }
  return addJob({ name, source: { kind: 'url', url }, modelId });
}

/**
 * @param {{name: string, source: import('../shared/messages.js').JobSource, id?: string, error?: string,
 *   modelId?: string, unsaved?: import('../shared/recordings.js').UnsavedRecording}} spec  modelId: an
 *   imported model chosen for this job (absent: the default model); unsaved: a recording to join first
 */
async function addJob({ name, source, id = crypto.randomUUID(), error, modelId, unsaved }) {
  const now = Date.now();
  const added = await changeJobs((jobs) => {
    if (jobs.some((j) => j.id === id)) return false;
    jobs.unshift({
      id, name, source, createdAt: now, updatedAt: now,
      state: error ? 'failed' : 'queued',
      ...(error ? { error } : {}),
      ...(modelId === undefined ? {} : { modelId }),
      ...(unsaved ? { unsaved } : {}),
    });
    return true;
  });
  // Ids are single-use: a second start (a double submit) must not run a finished job again,
  // which would delete its stems.
  if (!added) throw new Error(t('jobsDuplicateId', id));
  if (!error) {
    try {
      await runJob({ id, source, name, modelId });
    } catch (failure) {
      await updateJob(id, { state: 'failed', error: t('jobsCouldNotStart', String(failure)) });
    }
  }
  return id;
}

/**
 * Hand a job to the inference host with the current settings.
 * @param {{id: string, source: import('../shared/messages.js').JobSource, name: string,
 *   starts?: number, phase?: import('../shared/messages.js').Phase, modelId?: string}} job
 */
async function runJob({ id, source, name, starts = 0, phase, modelId }) {
  const settings = await loadSettings();
  await host.send(MSG.RUN_JOB, { jobId: id, source, name, starts, lastPhase: phase, ...settings, modelId });
}

/**
 * Recording a media element in a page (platform/<browser>/media-capture.js): the job is listed
 * at once in state 'recording' (the popup shows it with Stop; the sweep leaves its chunks
 * alone), its one-time token in storage.session (which content scripts cannot read), and what
 * the recorder sends is stored as chunks; at the end the chunks become the job's input and the
 * job runs like any stored file.
 * @param {{tabId: number, frameId: number, mediaType?: string, srcUrl: string, name: string}} where
 */
async function recordMedia({ tabId, frameId, mediaType, srcUrl, name }) {
  const jobId = crypto.randomUUID();
  const token = crypto.randomUUID();
  /** @type {import('../shared/messages.js').Recorder} */
  const recorder = { jobId, tabId, frameId };
  await api.storage.session.set({ [recorderKey(token)]: recorder });
  const now = Date.now();
  await changeJobs((jobs) => {
    jobs.unshift({
      id: jobId, name, source: { kind: 'stored', recorded: true }, createdAt: now, updatedAt: now,
      state: 'recording', recording: { tabId, frameId, token },
    });
  });
  await showRecordingBadge();
  const started = await startRecorder({ tabId, frameId, mediaType, srcUrl, token });
  if ('error' in started) await endRecording(jobId, started.error);
  return jobId;
}

/** How long a recorder asked to stop may take to send its last chunk before the rest is kept without it. */
const STOP_GRACE_MS = 10_000;

/** @param {string} token */
const recorderKey = (token) => `recorder:${token}`;

/** @param {string} token @returns {Promise<import('../shared/messages.js').Recorder | undefined>} */
async function recorderOf(token) {
  if (typeof token !== 'string') return undefined;
  const key = recorderKey(token);
  return /** @type {import('../shared/messages.js').Recorder | undefined} */ ((await api.storage.session.get(key))[key]);
}

/**
 * A recording's end, whatever caused it (the recorder's end message, Stop, the tab closed or
 * navigated, a failed start): once only, the chunks become the input and the job is queued; a
 * recording with nothing in it fails with `error` or a message saying so.
 * @param {string} jobId @param {string} [error]
 * @param {boolean} [again]  at a start of this context: a recording whose end was cut short
 */
async function endRecording(jobId, error, again = false) {
  const claimed = await changeJobs((jobs) => {
    const job = jobs.find((j) => j.id === jobId);
    if (!job?.recording || job.state !== 'recording' || (job.recording.ending && !again)) return undefined;
    job.recording = { ...job.recording, ending: true };
    return { ...job };
  });
  if (!claimed) return;
  if (claimed.recording) await api.storage.session.remove(recorderKey(claimed.recording.token));
  await showRecordingBadge();
  let bytes = 0;
  try {
    bytes = await inputFromChunks(jobId, RECORDING_PART, RECORDING_TYPE);
  } catch (failure) {
    // The chunks stay, joined again at the next start or by Try again (shared/recordings.js).
    await saveEnd(jobId, {
      state: 'failed', recording: undefined, error: t('keepRecordingNotSaved', errorText(failure)),
      unsaved: { into: 'input', type: RECORDING_TYPE },
    }); // prettier-ignore
    return;
  }
  if (!bytes) {
    await deleteFailedJobData(jobId).catch(() => {});
    await saveEnd(jobId, {
      state: 'failed', recording: undefined,
      error: error ?? t('recordNothing'),
    });
    return;
  }
  if (error) console.warn('demixer: recording of', jobId, 'ended with', error, '- keeping what was recorded');
  const job = await updateJob(jobId, { state: 'queued', recording: undefined });
  if (job) await runJob(job);
}

/** The action's badge says "REC" while any recording runs (the popup has its Stop). */
async function showRecordingBadge() {
  const recording = (await listJobs()).some((job) => job.state === 'recording' && !job.recording?.ending);
  await api.action.setBadgeBackgroundColor({ color: '#c62828' });
  await api.action.setBadgeText({ text: recording ? 'REC' : '' });
}

/** A tab closed or loading another page ends its recordings with what they have sent. */
async function endRecordingsOfTab(/** @type {number} */ tabId) {
  for (const job of await listJobs()) {
    if (job.state === 'recording' && job.recording?.tabId === tabId) await endRecording(job.id);
  }
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
    throw new Error(t('liveAlreadyRunning'));
  }
  const settings = await loadSettings();
  const name = t('liveJobName', title || (await api.tabs.get(tabId).catch(() => null))?.title || t('liveTabAudio'));
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
 * The popup opened, or the keyboard command fired: the host loads and warms the model and its
 * AudioContext now, before a capture mutes the tab (inference/live-host.js prepare), so the
 * first capture of a session starts as quickly as the later ones.
 */
async function prepareLive() {
  if (!CAN_CAPTURE_TABS) return;
  const { threads } = await loadSettings();
  await host.send(MSG.LIVE_PREPARE, { threads });
}

/**
 * A menu click on a tab (or on a blob: media element) opens the popup, which starts the capture
 * of that tab (see startLive for why the popup). The click has invoked the extension for the tab.
 * @param {number} tabId @param {string} [title]
 */
function offerLive(tabId, title) {
  // Both asked for at once, inside the click's gesture; the write is the first to be sent.
  api.storage.session.set({ [PENDING_KEY]: { tabId, title, at: Date.now() } });
  api.action.openPopup().catch(() =>
    notify('live', t('notifyDemixTab'), t('notifyDemixTabHow')),
  );
  prepareLive().catch((e) => console.warn('demixer: live not prepared', e));
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

// Recordings and live captures end with their tab: closed, or loading another page (a stream
// may go on by itself).
api.tabs.onRemoved.addListener((tabId) => {
  endRecordingsOfTab(tabId);
  endLiveOfTab(tabId, t('liveTabClosed'));
});
api.tabs.onUpdated.addListener((tabId, change) => {
  if (change.status !== 'loading') return;
  endRecordingsOfTab(tabId);
  endLiveOfTab(tabId, t('liveTabNavigated'));
});

/** @param {string} id @param {string} title @param {string} text */
function notify(id, title, text) {
  api.notifications.create(id, {
    type: 'basic', iconUrl: api.runtime.getURL('icons/icon-128.png'), title, message: text,
  }); // prettier-ignore
}

/** One handler per message type this context owns. @type {Record<string, (data: any) => Promise<unknown> | void>} */
const handlers = {
  [MSG.START_FILE_JOB]: ({ jobId, name, modelId }) => addJob({ id: jobId, name, source: { kind: 'stored' }, modelId }),
  [MSG.CHECK_MODEL]: async ({ modelId }) => {
    const { modelCheckS } = await loadSettings();
    const verdict = /** @type {import('../shared/messages.js').ModelVerdict | undefined} */ (
      await host.send(MSG.VERIFY_MODEL, { modelId, checkS: modelCheckS })
    );
    if (verdict?.ok) await installMenus();
    return verdict;
  },
  [MSG.CANCEL_MODEL_CHECK]: async ({ modelId }) => {
    await host.send(MSG.STOP_MODEL_CHECK, { modelId });
  },
  [MSG.MODEL_REMOVED]: () => installMenus(),
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
  [MSG.RETRY_JOB]: async ({ jobId }) => {
    const job = (await listJobs()).find((j) => j.id === jobId);
    if (!job || (job.state !== 'failed' && job.state !== 'cancelled') || !isRecording(job.source)) {
      throw new Error(t('keepCannotRetry'));
    }
    await runAgain(job);
  },
  [MSG.STOP_RECORDING]: async ({ jobId }) => {
    const job = (await listJobs()).find((j) => j.id === jobId);
    if (job?.state !== 'recording' || !job.recording) return;
    // The recorder sends its last chunk and its end (which ends the job); if it is gone or
    // silent, what it sent so far is kept.
    if (await stopRecorder(job.recording)) {
      for (let waited = 0; waited < STOP_GRACE_MS; waited += 250) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        if ((await listJobs()).find((j) => j.id === jobId)?.state !== 'recording') return;
      }
    }
    await endRecording(jobId);
  },
  [MSG.RECORD_CHUNK]: async ({ token, index, blob }) => {
    const recorder = await recorderOf(token);
    if (!recorder || !(blob instanceof Blob) || !Number.isSafeInteger(index)) throw new Error('not recording');
    await putChunk(recorder.jobId, RECORDING_PART, index, blob);
  },
  [MSG.RECORD_END]: async ({ token, error }) => {
    const recorder = await recorderOf(token);
    if (recorder) await endRecording(recorder.jobId, typeof error === 'string' ? error : undefined);
  },
  [MSG.PREPARE_LIVE]: () => prepareLive(),
  [MSG.START_LIVE]: (data) => startLive(data),
  [MSG.START_SYNC]: async (/** @type {import('../shared/messages.js').StartSyncData} */ { tabId, url }) => {
    const pattern = sitePattern(url);
    if (!pattern) throw new Error(t('syncNotHere'));
    await host.prepare(); // the host's document listens for the relay's port before the page reloads
    return startSync(tabId, pattern);
  },
  [MSG.SYNC_STATE]: (/** @type {import('../shared/messages.js').SyncStateData} */ state) => syncState(state),
  [MSG.SYNC_SITES]: () => syncSites(),
  [MSG.REMOVE_SYNC_SITE]: (/** @type {import('../shared/messages.js').RemoveSyncSiteData} */ { pattern }) =>
    removeSyncSite(pattern),
  [MSG.STOP_LIVE]: () => host.send(MSG.LIVE_END, { reason: t('liveStoppedByUser') }),
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
    const notSaved = end.kept && end.notSaved ? t('keepRecordingNotSaved', end.notSaved) : undefined;
    const error = end.error ?? notSaved;
    // Kept for the popup until the next capture: why it ended, and its last health figures.
    await api.storage.session.set({ [LIVE_KEY]: { ...end, error, stems: [], gains: [], keep: end.kept, ended: true } });
    if (error) notify(`live-${end.jobId}`, t('notifyLiveStopped'), error);
    if (!end.kept) return;
    // A mix that Stop could not join is listed all the same: failed, its chunks kept.
    const unsaved = notSaved ? { into: /** @type {const} */ ('mix'), sampleRate: end.sampleRate ?? 0 } : undefined;
    await addJob({ id: end.jobId, name: end.name, source: { kind: 'recorded' }, error: notSaved, unsaved });
  },
  [MSG.JOB_PROGRESS]: ({ jobId, phase, done, total, started, audioS }) =>
    changeJobs((jobs) => {
      const job = jobs.find((j) => j.id === jobId);
      if (!job || (job.state !== 'queued' && job.state !== 'running')) return;
      if (started) job.starts = (job.starts ?? 0) + 1;
      const now = Date.now();
      if (job.state === 'queued') Object.assign(job, { state: 'running', startedAt: now });
      // The time left (jobs-view.js) is reckoned from the start: a pause for live is left out.
      if (phase === 'paused' && job.phase !== 'paused') job.pausedAt = now;
      if (phase !== 'paused' && job.phase === 'paused' && job.pausedAt && job.startedAt) {
        job.startedAt += now - job.pausedAt;
      }
      Object.assign(job, { phase, done, total, updatedAt: now });
      if (audioS === undefined) delete job.audioS;
      else job.audioS = audioS;
    }),
  [MSG.JOB_DONE]: async ({ jobId, stems, durationS, timings, threads, sharedCode, decoder, replaced, model, madeBy, compute }) => {
    const job = await saveEnd(jobId, {
      state: 'done', stems, durationS, timings, threads, sharedCode, decoder, replaced, model, madeBy, compute, phase: undefined,
    });
    if (job) {
      const names = `${job.name}: ${stems.map((/** @type {{stem: string}} */ s) => s.stem).join(', ')}`;
      notify(jobId, t('notifyStemsReady'), [names, replaced ? replacedWarning(replaced) : ''].join('\n').trim());
    }
  },
  [MSG.JOB_FAILED]: async ({ jobId, error, cancelled }) => {
    // The host has deleted what the job stored; if that failed (a full disk can fail a delete
    // too), this is the second try, and sweepStoredData the third, at the next start. A
    // recording stays: it is the only copy.
    const source = (await listJobs()).find((j) => j.id === jobId)?.source ?? { kind: 'stored' };
    await deleteFailedJob(jobId, source).catch((e) => console.warn('demixer: cleanup of a failed job', jobId, e));
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

/**
 * A failed or cancelled job of a recording, run again from it: its recording joined first if its
 * end could not store it (then, if that fails again, the job stays failed and says why).
 * @param {import('../shared/jobs.js').Job} job
 */
async function runAgain(job) {
  if (job.unsaved) {
    try {
      await saveRecording(job.id, job.unsaved);
    } catch (failure) {
      await updateJob(job.id, { error: t('keepRecordingNotSaved', errorText(failure)) });
      throw failure;
    }
  }
  const queued = await updateJob(job.id, {
    state: 'queued', error: undefined, unsaved: undefined, phase: undefined, done: undefined, total: undefined,
    starts: 0, startedAt: undefined,
  }); // prettier-ignore
  if (!queued) return;
  try {
    await runJob(queued);
  } catch (failure) {
    await updateJob(job.id, { state: 'failed', error: t('jobsCouldNotStart', String(failure)) });
    throw failure;
  }
}

/** @param {{target: string, type: string, data: any}} msg */
function route(msg) {
  if (msg?.target !== TARGET.BACKGROUND) return undefined;
  return handlers[msg.type]?.(msg.data);
}

/**
 * The recorder's messages come from a content script in a web page: obeyed only from the one
 * holding their token (from the tab and frame it was injected into).
 * @param {{data: any}} msg @param {chrome.runtime.MessageSender} sender
 */
async function isOwnRecorder(msg, sender) {
  return isRecorderSender(sender, api.runtime.id, await recorderOf(msg.data?.token));
}

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (msg?.target !== TARGET.BACKGROUND) return false;
  const fromRecorder = RECORDER_MESSAGES.includes(msg.type);
  // Synchronous refusal of a stranger, so that another listener may answer instead.
  if (!fromRecorder && !isOwnSender(sender, api.runtime.id, api.runtime.getURL(''))) return false;
  (fromRecorder ? isOwnRecorder(msg, sender) : Promise.resolve(true)).then((allowed) => {
    if (!allowed) throw new Error('refused: not this extension\'s recorder');
    return route(msg);
  }).then(
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
  // Oldest first, the order they were queued in (the list shows the newest first).
  for (const job of (await listJobs()).reverse()) {
    // A recorder outlives this context (the event page unloaded) but not a browser restart,
    // which empties storage.session: then what it sent is kept.
    if (job.state === 'recording' && (job.recording?.ending || !(await recorderOf(job.recording?.token ?? '')))) {
      await endRecording(job.id, undefined, true);
    }
    if (job.state === 'queued' || job.state === 'running') {
      await runJob(job);
    }
    // A recording its end could not store (a write refused): joined now, and run as it would
    // have been; if the store still refuses, the job stays failed for Try again.
    if (job.state === 'failed' && job.unsaved) {
      await runAgain(job).catch((e) => console.warn('demixer: a recording still not saved', job.id, e));
    }
  }
}

/**
 * Audio left behind: everything of failed and cancelled jobs (their own cleanup failed) but a
 * recording, and chunks and stems of jobs no longer listed (removed while the disk was full).
 * Inputs of unlisted jobs stay: a page stores its file before it asks for the job, which may be
 * what started this context.
 */
async function sweepStoredData() {
  const jobs = await listJobs();
  const states = new Map(jobs.map((job) => [job.id, job.state]));
  const recorded = new Set(jobs.filter((job) => isRecording(job.source)).map((job) => job.id));
  // A live capture records its mix before its job is listed (when it stops).
  const live = await readLive();
  if (live && !live.ended) states.set(live.jobId, 'running');
  const ended = (/** @type {string} */ id) => states.get(id) === 'failed' || states.get(id) === 'cancelled';
  const { inputs, results } = await storedJobIds();
  const stale = new Set([...inputs].filter(ended));
  for (const id of results) if (!states.has(id) || ended(id)) stale.add(id);
  for (const id of stale) await (ended(id) && recorded.has(id) ? deleteAllButRecording(id) : deleteJobData(id));
}

// The sweep after the resumption: a failed recording joined and run again at this start
// (runAgain) is no longer failed when the sweep reads the list, so its new stems are left alone.
resumeUnfinishedJobs()
  .catch((e) => console.warn('demixer: resuming jobs', e))
  .then(sweepStoredData)
  .catch((e) => console.warn('demixer: sweep of stored audio', e));
