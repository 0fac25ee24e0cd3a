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
  START_LIVE: 'start-live',
  STOP_LIVE: 'stop-live',
  SET_LIVE_MIX: 'set-live-mix',
  // background -> inference host
  RUN_JOB: 'run-job',
  STOP_JOB: 'stop-job',
  LIVE_CAPTURE: 'live-capture',
  LIVE_END: 'live-end',
  LIVE_MIX: 'live-mix',
  // inference host -> background
  JOB_PROGRESS: 'job-progress',
  JOB_DONE: 'job-done',
  JOB_FAILED: 'job-failed',
  LIVE_STATE: 'live-state',
  LIVE_ENDED: 'live-ended',
});

/** @typedef {typeof MSG[keyof typeof MSG]} MessageType */
/** @typedef {typeof TARGET[keyof typeof TARGET]} Target */

/**
 * @typedef {{jobId: string, name: string}} StartFileJobData  the file is already in IndexedDB
 * @typedef {{url: string, name: string}} StartUrlJobData
 * @typedef {{jobId: string}} JobRef
 * @typedef {{jobId: string, source: JobSource, name: string} & Partial<import('./settings.js').Settings>} RunJobData
 * @typedef {{kind: 'stored'} | {kind: 'url', url: string} | {kind: 'recorded'}} JobSource  recorded: a live
 *   capture's mix, stored as the job's RECORDED_MIX (shared/store.js), also offered for download
 * @typedef {{jobId: string, phase: Phase, done: number, total: number}} JobProgressData
 * @typedef {'queued'|'fetching'|'decoding'|'separating'|'saving'} Phase
 * @typedef {{jobId: string, stems: StemInfo[], durationS: number, timings: Record<string, number>,
 *   decoder: Decoder}} JobDoneData
 * @typedef {'streamed' | 'whole-file'} Decoder  how the input was decoded (inference/decode.js)
 * @typedef {{stem: string, bytes: number}} StemInfo
 * @typedef {{jobId: string, error: string, cancelled?: boolean}} JobFailedData
 *
 * Live (a tab's audio demixed as it plays; inference/live.js):
 * @typedef {{tabId: number, streamId: string, title?: string, recordOutput?: boolean}} StartLiveData
 *   streamId: from tabCapture in the page that asks (platform/<browser>/tab-capture.js);
 *   recordOutput: keep what was played too (tests and the bench compare it with the offline stems)
 * @typedef {{gains?: number[], keep?: boolean}} LiveMixData  one gain per stem of the model
 * @typedef {{streamId: string, tabId: number, jobId: string, name: string, keep: boolean,
 *   recordOutput: boolean, gains?: number[], threads?: number}} LiveCaptureData
 * @typedef {{latencyS: number, delayFrames: number, bufferS: number, backlogS: number, underruns: number,
 *   fallbackS: number, droppedHops: number, hops: number, cpuFraction: number, capturedS: number,
 *   recordedS: number, fallingBehind: boolean}} LiveHealth  underruns: episodes in which the
 *   original was played because the stems were late; fallbackS: their total length; delayFrames:
 *   render frames from a frame's capture to its playback (latencyS adds the device's latency)
 * @typedef {{jobId: string, tabId: number, name: string, stems: string[], gains: number[],
 *   keep: boolean, health: LiveHealth | null}} LiveStateData
 * @typedef {{jobId: string, name: string, kept: boolean, durationS: number, reason: string,
 *   health: LiveHealth | null, error?: string}} LiveEndedData
 * @typedef {Partial<LiveStateData> & Partial<LiveEndedData> & {jobId: string, stems: string[],
 *   gains: number[], keep: boolean, ended?: boolean, starting?: boolean, updatedAt?: number}} LiveRecord
 *   storage.session `live`, written by the background: the capture running, or the last one's end
 */

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
