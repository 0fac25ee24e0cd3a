// @ts-check
/**
 * The one message protocol. Every message is `{target, type, data}`; each context has one
 * router that ignores messages for other targets (chrome-extensions-samples' offscreen cookbook).
 * Audio never travels in a message: jobs refer to it by IndexedDB key.
 */

/** Where a message is going. */
export const TARGET = Object.freeze({
  BACKGROUND: 'background',
  HOST: 'inference-host', // Chrome: the offscreen document; Firefox: the background page itself
});

/** Every message type, each handled by exactly one context (tests/structure checks it). */
export const MSG = Object.freeze({
  // page/popup -> background
  START_FILE_JOB: 'start-file-job',
  START_URL_JOB: 'start-url-job',
  CANCEL_JOB: 'cancel-job',
  CLEAR_JOB: 'clear-job',
  STOP_RECORDING: 'stop-recording',
  RETRY_JOB: 'retry-job', // a failed or cancelled job of a recording, run again from it (shared/recordings.js)
  CHECK_MODEL: 'check-model', // an imported bundle, stored as 'checking': run it once before offering it
  CANCEL_MODEL_CHECK: 'cancel-model-check', // the import's Cancel: its check stops, the model is not added
  MODEL_REMOVED: 'model-removed', // the context menu's "Demix with…" follows the installed models
  // recorder (a content script this extension injected into a page; Firefox) -> background
  RECORD_CHUNK: 'record-chunk',
  RECORD_END: 'record-end',
  PREPARE_LIVE: 'prepare-live', // the popup opened: the model loads before a capture mutes a tab
  START_LIVE: 'start-live',
  STOP_LIVE: 'stop-live',
  SET_LIVE_MIX: 'set-live-mix',
  START_SYNC: 'start-sync', // popup -> background: "Karaoke in sync" for a tab (its site granted in the click)
  SYNC_SITES: 'sync-sites', // page -> background: the sites sync is on for (answered: string[] of patterns)
  REMOVE_SYNC_SITE: 'remove-sync-site', // page -> background: sync off for a site, its permission removed
  // background -> inference host
  RUN_JOB: 'run-job',
  STOP_JOB: 'stop-job',
  LIVE_PREPARE: 'live-prepare',
  LIVE_CAPTURE: 'live-capture',
  LIVE_END: 'live-end',
  LIVE_MIX: 'live-mix',
  VERIFY_MODEL: 'verify-model', // answered (not reported) with a ModelVerdict
  STOP_MODEL_CHECK: 'stop-model-check', // CANCEL_MODEL_CHECK, to the host running the check
  // inference host -> background
  JOB_PROGRESS: 'job-progress',
  JOB_DONE: 'job-done',
  JOB_FAILED: 'job-failed',
  LIVE_STATE: 'live-state',
  LIVE_ENDED: 'live-ended',
  SYNC_STATE: 'sync-state', // a tab in sync mode (sync/sync-host.js): first sound, health, end
});

/** @typedef {typeof MSG[keyof typeof MSG]} MessageType */
/** @typedef {typeof TARGET[keyof typeof TARGET]} Target */

/**
 * @typedef {{jobId: string, name: string, modelId?: string}} StartFileJobData  the file is already in
 *   IndexedDB; modelId: an imported model's id (shared/store.js models), absent: the default model
 * @typedef {{modelId: string}} CheckModelData
 * @typedef {{modelId: string, checkS: number}} VerifyModelData  checkS: the check's deadline
 *   before its margin per MB (the `modelCheckS` setting; inference/verify-model.js)
 * @typedef {{ok: true} | {ok: false, key: string, subs: string[], detail?: string}} ModelVerdict  key, subs: the
 *   refusal's message in _locales (the offscreen document has no i18n API; the page words it);
 *   detail: the runtime's own text (shown folded under the plain message)
 * @typedef {{url: string, name: string}} StartUrlJobData
 * @typedef {{jobId: string}} JobRef
 * @typedef {{jobId: string, source: JobSource, name: string, starts?: number, lastPhase?: Phase,
 *   modelId?: string}
 *   & Partial<import('./settings.js').Settings>} RunJobData  starts: how many times a host began
 *   it before (inference/host.js MAX_STARTS); lastPhase: where the last start got to
 * @typedef {{kind: 'stored', recorded?: boolean} | {kind: 'url', url: string} | {kind: 'recorded'}} JobSource
 *   recorded: a live capture's mix, stored as the job's RECORDED_MIX (shared/store.js), also
 *   offered for download; stored with `recorded`: a page recording (Firefox) as the job's input.
 *   Either is the only copy of what the user heard: kept when the job fails (shared/recordings.js)
 * @typedef {{jobId: string, phase: Phase, done: number, total: number, started?: boolean, audioS?: number}} JobProgressData
 *   started: the host begins the job (again, after a restart); fetching: done/total in bytes
 *   (total 0: not known), audioS: the audio time received (a download without a length, in a
 *   container inference/audio-time.js reads)
 * @typedef {'queued'|'fetching'|'decoding'|'separating'|'paused'|'saving'} Phase  paused: the job gives way
 *   to a live session (inference/live-priority.js)
 * @typedef {{jobId: string, stems: StemInfo[], durationS: number, timings: Record<string, number>,
 *   decoder: Decoder, replaced: Replaced, model: string, madeBy?: MadeBy, threads?: number,
 *   sharedCode?: boolean, compute?: import('../inference/compute.js').Compute}} JobDoneData
 *   compute: GPU or CPU, and why; threads, sharedCode: the model runner's (model-runner.js ModelRunner)
 * @typedef {{name: string, sha256: string, precision: string, imported: boolean}} MadeBy  the model
 *   that made a job's stems
 * @typedef {{notNumbers: number, outOfRange: number}} Replaced  input samples replaced by silence
 *   (shared/bad-samples.js)
 * @typedef {'streamed' | 'whole-file'} Decoder  how the input was decoded (inference/decode.js)
 * @typedef {{stem: string, bytes: number}} StemInfo
 * @typedef {{jobId: string, error: string, cancelled?: boolean}} JobFailedData
 * @typedef {{token: string, index: number, blob: Blob}} RecordChunkData  Firefox clones the Blob
 * @typedef {{token: string, reason: string, error?: string}} RecordEndData
 * @typedef {{jobId: string, tabId: number, frameId: number}} Recorder  what a recorder's token grants
 *
 * Live (a tab's audio demixed as it plays; inference/live.js):
 * @typedef {{tabId: number, streamId: string, title?: string, recordOutput?: boolean}} StartLiveData
 *   streamId: from tabCapture in the page that asks (platform/<browser>/tab-capture.js);
 *   recordOutput: keep what was played too (tests and the bench compare it with the offline stems)
 * @typedef {{threads?: number}} LivePrepareData  the model's threads (the `threads` setting)
 * @typedef {{gains?: number[], keep?: boolean}} LiveMixData  one gain per stem of the model
 * @typedef {{streamId: string, tabId: number, jobId: string, name: string, keep: boolean,
 *   recordOutput: boolean, gains?: number[], threads?: number}} LiveCaptureData
 * @typedef {{latencyS: number, delayFrames: number, bufferS: number, backlogS: number, underruns: number,
 *   fallbackS: number, droppedHops: number, hops: number, cpuFraction: number, capturedS: number,
 *   recordedS: number, fallingBehind: boolean, paused?: boolean, pausedS?: number,
 *   cpuByMinute?: number[], runFraction?: number, hopStats?: import('../inference/live-timing.js').HopStats,
 *   marginS?: number, openS?: number, original?: boolean, switchedS?: number}} LiveHealth
 *   openS: how long the tab's stream took to open (the tab is silent meanwhile);
 *   original: the tab's audio still plays as it comes (the model is not ready yet); switchedS:
 *   render time of the cross-fade to the delayed stems (0: not yet);
 *   underruns: episodes in which the
 *   original was played because the stems were late; fallbackS: their total length; delayFrames:
 *   render frames from a frame's capture to its playback (latencyS adds the device's latency);
 *   cpuFraction: the separator's time (STFT, model, iSTFT) / audio time; runFraction: the model
 *   run's alone (onnxruntime's worker and the transfers); cpuByMinute: cpuFraction for each minute of the capture (0 for one wholly paused);
 *   hopStats: per-hop timing (where an underrun came from); marginS: the time allowed for a hop's
 *   separation beyond the hop itself;
 *   paused: the tab has been digitally silent (its media paused), nothing is recorded or separated
 * @typedef {{jobId: string, tabId: number, name: string, stems: string[], gains: number[],
 *   keep: boolean, health: LiveHealth | null}} LiveStateData
 * @typedef {{jobId: string, name: string, kept: boolean, durationS: number, reason: string,
 *   health: LiveHealth | null, error?: string, notSaved?: string, sampleRate?: number}} LiveEndedData
 *   notSaved: the kept mix could not be joined at Stop (why): its chunks stay, at `sampleRate`
 * @typedef {Partial<LiveStateData> & Partial<LiveEndedData> & {jobId: string, stems: string[],
 *   gains: number[], keep: boolean, ended?: boolean, starting?: boolean, updatedAt?: number}} LiveRecord
 *   storage.session `live`, written by the background: the capture running, or the last one's end
 *
 * Sync (a page's MediaSource audio tapped, separated ahead of the playhead, played in step; sync/):
 * @typedef {{tabId: number, url: string}} StartSyncData  url: the tab's page (its origin gets the tap)
 * @typedef {{pattern: string}} RemoveSyncSiteData  pattern: one of SYNC_SITES's answer
 * @typedef {{tabId: number, firstSoundAt?: number, ended?: boolean,
 *   health?: ReturnType<import('../sync/sync-session.js').SyncSession['health']> | null}} SyncStateData
 *   firstSoundAt: wall time (ms, performance.timeOrigin-based) when the extension's playback is first
 *   heard (the tab is muted then); ended: the tab's page is gone (the tab is unmuted)
 */

/** The only messages a recorder may send; nothing else is obeyed from a page. */
export const RECORDER_MESSAGES = Object.freeze([MSG.RECORD_CHUNK, MSG.RECORD_END]);

/**
 * @template {MessageType} T
 * @typedef {{target: Target, type: T, data: any}} Message
 */

/**
 * @param {Target} target
 * @param {MessageType} type
 * @param {unknown} data
 */
export function message(target, type, data) {
  return { target, type, data };
}

/**
 * True when `sender` is one of this extension's own pages or workers (never a web page or
 * another extension): the only senders any router obeys.
 * @param {{id?: string, url?: string, tab?: unknown}} sender
 * @param {string} ownId
 * @param {string} ownOrigin  e.g. "chrome-extension://<id>/"
 */
export function isOwnSender(sender, ownId, ownOrigin) {
  return sender.id === ownId && (sender.url === undefined || sender.url.startsWith(ownOrigin));
}

/**
 * True when `sender` is the recorder `recorder` describes: this extension's content script in
 * that tab and frame, holding the one-time token given to it at injection (the caller looked
 * the token up). A web page cannot message the extension at all, and no other frame, tab or
 * extension holds the token.
 * @param {{id?: string, tab?: {id?: number}, frameId?: number}} sender
 * @param {string} ownId
 * @param {Recorder | undefined} recorder  the record stored for the message's token, if any
 */
export function isRecorderSender(sender, ownId, recorder) {
  return Boolean(
    recorder && sender.id === ownId && sender.tab?.id === recorder.tabId && sender.frameId === recorder.frameId,
  );
}
