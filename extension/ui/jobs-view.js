// @ts-check
/**
 * The job list, shared by the popup and the full-tab page: state, progress with time left,
 * Cancel; when done, a player and a download per stem, and all stems as one zip.
 */
import { api } from '../platform/browser-api.js';
import { MSG, TARGET, message } from '../shared/messages.js';
import { listJobs, onJobsChanged } from '../shared/jobs.js';
import { safeFileName } from '../shared/names.js';
import { replacedWarning } from '../shared/bad-samples.js';
import { getStem } from '../shared/store.js';
import { isRecording, recordingFile } from '../shared/recordings.js';
import { downloadZip } from '../vendor/client-zip.js';
import { chosenFormat, stemFile, stemZipEntries } from './stem-files.js';
import { stemColor } from '../shared/mix.js';
import { renderMixer } from './mixer-view.js';
import { t } from '../shared/i18n.js';
import { el, saveBlob } from './dom.js';
import { errorText } from '../shared/errors.js';

/** @typedef {import('../shared/jobs.js').Job} Job */

/** @param {string} type @param {unknown} data */
export async function sendToBackground(type, data) {
  const reply = await api.runtime.sendMessage(message(TARGET.BACKGROUND, /** @type {any} */ (type), data));
  if (reply && reply.ok === false) throw new Error(reply.error);
  return reply?.result;
}

/** @param {number} seconds */
function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** @param {number} bytes */
const megabytes = (bytes) => t('unitMegabytes', (bytes / 1e6).toFixed(1));

/** @type {Record<string, () => string>} */
const PHASE_TEXT = {
  queued: () => t('jobsPhaseQueued'),
  fetching: () => t('jobsPhaseFetching'),
  decoding: () => t('jobsPhaseDecoding'),
  separating: () => t('jobsPhaseSeparating'),
  paused: () => t('jobsPhasePausedForLive'),
  saving: () => t('jobsPhaseSaving'),
};

/** @param {Job} job */
export function progressText(job) {
  const phase = job.phase ?? 'queued';
  if (job.state === 'queued') return t('jobsWaiting');
  if (phase === 'fetching' && job.done) {
    // A slow download is visible: bytes so far, and of how many when the server said.
    return job.total
      ? t('jobsDownloadingOf', (job.done / 1e6).toFixed(1), megabytes(job.total))
      : job.audioS !== undefined
        ? t('jobsReceivedAudio', megabytes(job.done), clock(job.audioS))
        : t('jobsReceived', megabytes(job.done));
  }
  if (phase !== 'separating' || !job.total) return PHASE_TEXT[phase]?.() ?? `${phase[0].toUpperCase()}${phase.slice(1)}…`;
  const fraction = (job.done ?? 0) / job.total;
  const elapsed = (Date.now() - (job.startedAt ?? Date.now())) / 1000;
  const left = fraction > 0.02 ? elapsed / fraction - elapsed : NaN;
  return `${Math.floor(fraction * 100)}%${Number.isFinite(left) ? ` · ${t('jobsTimeLeft', clock(left))}` : ''}`;
}

/** @param {Job} job */
async function downloadAll(job) {
  const zip = await downloadZip(stemZipEntries(job, await chosenFormat())).blob();
  saveBlob(zip, `${safeFileName(job.name)}-stems.zip`);
}

/**
 * Run a download; its failure (a format this browser cannot encode, a stem removed meanwhile)
 * is shown in the job's row until the next attempt. Nothing is stored while encoding.
 * @param {HTMLElement} status @param {() => Promise<void>} action
 */
async function downloading(status, action) {
  status.textContent = '';
  status.hidden = true;
  try {
    await action();
  } catch (error) {
    status.textContent = t('formatsDownloadFailed', errorText(error));
    status.hidden = false;
  }
}

/** @type {Map<string, string>} */
const objectUrls = new Map();

/** @param {Job} job */
function renderDone(job) {
  // not `.error`: that class marks a job's own failure (tests read the failures by it)
  const failure = el('div', { class: 'download-error', role: 'alert' });
  failure.hidden = true;
  const stems = (job.stems ?? []).map(({ stem }, index) => {
    const player = el('audio', { controls: '', preload: 'none', 'data-stem': stem });
    const key = `${job.id}/${stem}`;
    const known = objectUrls.get(key);
    if (known) player.src = known;
    else {
      getStem(job.id, stem).then((blob) => {
        if (!blob) return;
        const url = URL.createObjectURL(blob);
        objectUrls.set(key, url);
        player.src = url;
      });
    }
    const button = el('button', { class: 'download', 'data-stem': stem }, [`⬇ ${stem}`]);
    button.addEventListener('click', () =>
      downloading(failure, async () => {
        const { name, blob } = await stemFile(job, stem, await chosenFormat());
        saveBlob(blob, name);
      }),
    );
    const name = el('span', { class: 'stem-name' }, [stem]);
    const row = el('div', { class: 'stem', 'data-stem': stem }, [name, player, button]);
    // through the CSSOM, which the CSP allows (a style attribute it would refuse)
    row.style.setProperty('--stem-color', stemColor(index));
    return row;
  });
  const all = el('button', { class: 'download-all' }, [t('jobsAllStems')]);
  all.addEventListener('click', () => downloading(failure, () => downloadAll(job)));
  const warning = job.replaced ? replacedWarning(job.replaced) : '';
  const shown = [
    ...(warning ? [el('div', { class: 'warning', role: 'status' }, [warning])] : []), renderMixer(job), ...stems, all, failure,
  ];
  if (job.source.kind !== 'recorded') return shown;
  // A live capture's job: the mix it recorded is the user's too.
  return [...shown, recordingButton(job, failure, 'download-mix', t('jobsRecordedMix'))];
}

/**
 * Download a job's recording (shared/recordings.js), its failure shown in `status`.
 * @param {Job} job @param {HTMLElement} status @param {string} className @param {string} label
 */
function recordingButton(job, status, className, label) {
  const button = el('button', { class: className, type: 'button' }, [label]);
  button.addEventListener('click', () =>
    downloading(status, async () => {
      const { blob, suffix } = await recordingFile(job);
      saveBlob(blob, `${safeFileName(job.name)}-${suffix}`);
    }),
  );
  return button;
}

/**
 * A failed or cancelled job of a recording keeps it (the only copy): offered for download, and
 * to run the job again from it.
 * @param {Job} job
 */
function renderKeptRecording(job) {
  const status = el('div', { class: 'download-error', role: 'alert' });
  status.hidden = true;
  const name = safeFileName(job.name);
  const download = recordingButton(job, status, 'download-recording', t('keepDownloadRecording'));
  download.setAttribute('aria-label', t('keepDownloadRecordingLabel', name));
  const retry = el('button', { class: 'retry', type: 'button', 'aria-label': t('keepTryAgainLabel', name) }, [
    t('keepTryAgain'),
  ]);
  retry.addEventListener('click', async () => {
    retry.disabled = true;
    status.hidden = true;
    try {
      await sendToBackground(MSG.RETRY_JOB, { jobId: job.id });
    } catch (error) {
      status.textContent = errorText(error);
      status.hidden = false;
      retry.disabled = false;
    }
  });
  return [el('div', { class: 'note' }, [t('keepRecordingKept')]), download, retry, status];
}

/**
 * The questions open in the list, by `${jobId}/${button class}`: a row is rebuilt whenever its
 * job's record changes (progress), and an open question must outlive that, or the user's second
 * click finds nothing to press.
 * @type {Set<string>}
 */
const asking = new Set();

/**
 * A button whose action is asked for once more, in the page (a popup cannot show
 * window.confirm): the button gives way to the question, a confirming button and Keep; focus
 * moves to Keep, so a second Enter or Space by accident loses nothing.
 * @param {HTMLButtonElement} button @param {string} question @param {string} yes
 * @param {() => unknown} action @param {string} key this question in `asking`
 * @returns {HTMLElement} what the row shows: the button, or the question where it was open
 */
function confirmFirst(button, question, yes, action, key) {
  const confirm = el('button', { class: 'confirm', type: 'button' }, [yes]);
  const keep = el('button', { class: 'keep', type: 'button' }, [t('jobsConfirmKeep')]);
  const text = el('span', {}, [question]);
  const ask = el('span', { class: 'confirm-ask', role: 'group', 'aria-label': question, 'data-asks': key }, [
    text, confirm, keep,
  ]);
  confirm.addEventListener('click', () => {
    confirm.disabled = true;
    asking.delete(key);
    action();
  });
  keep.addEventListener('click', () => {
    asking.delete(key);
    ask.replaceWith(button);
    button.focus();
  });
  button.addEventListener('click', () => {
    asking.add(key);
    button.replaceWith(ask);
    keep.focus();
  });
  // a rebuilt row asks again where the old one was asking (the focus follows in mountJobsView)
  return asking.has(key) ? ask : button;
}

/** @param {number} epochMs */
const when = (epochMs) => new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' }).format(epochMs);

/**
 * What a done job is, in one line: length, model, when it was added, how long it took.
 * @param {Job} job
 */
export function jobFacts(job) {
  const parts = [];
  if (job.durationS) parts.push(clock(job.durationS));
  if (job.model) parts.push(job.model);
  if (job.compute) parts.push(computeText(job.compute));
  parts.push(when(job.createdAt));
  if (job.state === 'done' && job.startedAt && job.updatedAt > job.startedAt) {
    parts.push(t('jobsTook', clock((job.updatedAt - job.startedAt) / 1000)));
  }
  return parts.join(' · ');
}

/**
 * GPU or CPU; said for a CPU job only where the GPU was not used for a reason (no adapter, a
 * software one under Auto, a failure).
 * @param {import('../inference/compute.js').Compute} compute
 */
function computeText({ backend, adapter, reason }) {
  if (backend === 'webgpu') return t('computeRanOnGpu', adapter ?? '');
  return reason ? t('computeRanOnCpuBecause', reason) : t('computeRanOnCpu');
}

/** @param {Job} job */
function renderJob(job) {
  const item = el('li', { class: `job ${job.state}`, 'data-job': job.id, 'data-state': job.state });
  // as its files will be named: a bidi control in a title must not reorder what the list shows
  const name = safeFileName(job.name);
  item.append(el('div', { class: 'job-name', title: name }, [name]));
  const facts = jobFacts(job);
  if (facts) item.append(el('div', { class: 'job-facts' }, [facts]));
  if (job.state === 'recording') {
    // Recording what a page plays (Firefox): it becomes a job when the media ends or at Stop.
    const stop = el('button', { class: 'stop-recording' }, [t('jobsStopRecording')]);
    stop.addEventListener('click', () => {
      stop.setAttribute('disabled', '');
      sendToBackground(MSG.STOP_RECORDING, { jobId: job.id });
    });
    item.append(el('span', { class: 'progress-text' }, [t('jobsRecordingPage')]), stop);
  } else if (job.state === 'queued' || job.state === 'running') {
    const fraction = job.total ? (job.done ?? 0) / job.total : 0;
    const bar = el('progress', { max: '1', value: String(fraction) });
    const cancel = confirmFirst(
      el('button', { class: 'cancel' }, [t('jobsCancel')]), t('jobsConfirmCancel'), t('jobsConfirmCancelYes'),
      () => sendToBackground(MSG.CANCEL_JOB, { jobId: job.id }), `${job.id}/cancel`,
    );
    item.append(bar, el('span', { class: 'progress-text' }, [progressText(job)]), cancel);
  } else {
    if (job.state === 'done') item.append(...renderDone(job));
    if (job.state === 'failed') item.append(el('div', { class: 'error', role: 'alert' }, [job.error ?? t('jobsFailed')]));
    if (job.state === 'cancelled') item.append(el('div', { class: 'note' }, [t('jobsCancelled')]));
    if (job.state !== 'done' && isRecording(job.source)) item.append(...renderKeptRecording(job));
  }
  // In every state: a running job is cancelled, then removed (the background does both).
  const remove = el('button', { class: 'remove' }, [t('jobsRemove')]);
  const clear = () => sendToBackground(MSG.CLEAR_JOB, { jobId: job.id });
  // asked first only where something is lost: stems, a job's progress, or a kept recording
  if ((job.state === 'failed' || job.state === 'cancelled') && !isRecording(job.source)) {
    remove.addEventListener('click', clear);
    item.append(remove);
  } else {
    item.append(confirmFirst(remove, t('jobsConfirmRemove'), t('jobsConfirmRemoveYes'), clear, `${job.id}/remove`));
  }
  return item;
}

/**
 * Replace a job's row; a keyboard user's focus in it moves to the same control in the new one
 * (or, where that control is gone, the row's first button) instead of falling to the page.
 * @param {HTMLElement} old @param {HTMLElement} row
 */
function replaceKeepingFocus(old, row) {
  const focused = document.activeElement;
  const had = focused instanceof HTMLElement && old.contains(focused) ? focused : null;
  old.replaceWith(row);
  if (!had) return;
  const stem = had.dataset.stem ? `[data-stem="${CSS.escape(had.dataset.stem)}"]` : '';
  const same = had.classList[0] ? row.querySelector(`${had.tagName}.${CSS.escape(had.classList[0])}${stem}`) : null;
  /** @type {HTMLElement | null} */ (same ?? row.querySelector('button:not([disabled])'))?.focus();
}

/** @param {HTMLElement} container */
export async function mountJobsView(container) {
  const list = el('ul', { class: 'jobs' });
  const empty = el('p', { class: 'empty' }, [t('jobsEmpty')]);
  container.append(empty, list);
  // In place: a row is rebuilt only when its job's record changed, and rows are moved only when
  // the order changed, so a stem being played keeps playing while another job progresses.
  /** @type {Map<string, {record: string, row: HTMLLIElement}>} */
  const rows = new Map();
  /** @param {Job[]} jobs */
  const render = (jobs) => {
    empty.hidden = jobs.length > 0;
    const wanted = jobs.map((job) => {
      const record = JSON.stringify(job);
      const known = rows.get(job.id);
      if (known?.record === record) return known.row;
      const row = renderJob(job);
      for (const key of asking) {
        // a question whose button is gone (the job ended) is not asked again later
        if (key.startsWith(`${job.id}/`) && !row.querySelector(`[data-asks="${CSS.escape(key)}"]`)) asking.delete(key);
      }
      if (known) replaceKeepingFocus(known.row, row);
      rows.set(job.id, { record, row });
      return row;
    });
    const ids = new Set(jobs.map((job) => job.id));
    for (const [id, { row }] of rows) {
      if (ids.has(id)) continue;
      row.remove();
      rows.delete(id);
      for (const key of asking) if (key.startsWith(`${id}/`)) asking.delete(key);
    }
    wanted.forEach((row, index) => {
      if (list.children[index] !== row) list.insertBefore(row, list.children[index] ?? null);
    });
  };
  render(await listJobs());
  onJobsChanged(render);
}
