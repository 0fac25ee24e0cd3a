// @ts-check
/**
 * Audio at rest: IndexedDB, shared by every page of the extension's origin.
 * - inputs: jobId -> the user's file (Blob), until its job ends;
 * - chunks: [jobId, stem, index] -> encoded PCM pieces, written as separation proceeds (where
 *   stems are files, the pieces go straight into them instead: openStems) and as recordings are made;
 * - stems:  [jobId, stem] -> the finished WAV: where the platform stores stems as files
 *   (platform/<browser>/stem-storage.js: Firefox), the marker {file: stem} of its origin-private
 *   file stems/<jobId>/<stem>.wav (shared/stem-file.js); otherwise (Chrome, and records saved
 *   before 2026-12-01 in either) the WAV Blob itself (its parts stay on disk, not in memory).
 *   getStem answers a Blob (or file-backed File) either way;
 * - models: id -> an imported model bundle (shared/bundle.js): its ONNX Blob, descriptor, report.
 * A stem file is written before its marker and deleted after it: a file without a marker (an
 * interrupted save or delete) is found by storedJobIds and swept with its job.
 */

import { STEMS_AS_FILES } from '../platform/stem-storage.js';
import { withDeadline } from './deadline.js';
import { t } from './i18n.js';
import { deleteStemFiles, openStemFile, readStemFile, stemFileJobs, writeStemFile } from './stem-file.js';

export const DB_NAME = 'demixer';
// 2: adds `models` (imported bundles); the upgrade from 1 creates only what is missing, so
// the jobs' stored audio is kept.
const DB_VERSION = 2;
/** The object stores (tests read these names from here). */
export const STORE = Object.freeze({ INPUTS: 'inputs', CHUNKS: 'chunks', STEMS: 'stems', MODELS: 'models' });

/** @type {Promise<IDBDatabase> | null} */
let opening = null;

/** @returns {Promise<IDBDatabase>} */
function db() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const database = request.result;
      for (const name of Object.values(STORE)) {
        if (!database.objectStoreNames.contains(name)) database.createObjectStore(name);
      }
    };
    request.onsuccess = () => {
      // The browser closes a connection itself when its store fails (e.g. a write error on a
      // full disk): the next call opens a new one instead of failing on the closed one.
      request.result.onclose = () => {
        opening = null;
      };
      resolve(request.result);
    };
    request.onerror = () => {
      opening = null;
      reject(request.error);
    };
  });
  return opening;
}

/**
 * @template T
 * @param {string} storeName
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest<T> | void} action
 * @returns {Promise<T>}
 */
async function run(storeName, mode, action) {
  const database = await db();
  return new Promise((resolve, reject) => {
    const tx = database.transaction(storeName, mode);
    // A transaction that neither completes nor fails would leave its job running for ever:
    // past the bound it is aborted, and if even the abort goes unanswered the call fails.
    // `watchdog` holds whichever of the two timers is pending, so that an answer clears it.
    let watchdog = setTimeout(() => {
      try {
        tx.abort();
      } catch {}
      watchdog = setTimeout(() => storageError(tx.error).then(reject), ABORT_GRACE_MS);
    }, TRANSACTION_LIMIT_MS);
    const request = action(tx.objectStore(storeName));
    const fail = () => {
      clearTimeout(watchdog);
      storageError(tx.error).then(reject);
    };
    tx.oncomplete = () => {
      clearTimeout(watchdog);
      resolve(/** @type {T} */ (request ? request.result : undefined));
    };
    tx.onerror = fail;
    tx.onabort = fail;
  });
}

/** Far above any write of a stem chunk (milliseconds) or of an hour-long input file (seconds). */
const TRANSACTION_LIMIT_MS = 60_000;
const ABORT_GRACE_MS = 2_000;
const ESTIMATE_LIMIT_MS = 5_000;
const CLEANUP_LIMIT_MS = 10_000;

const LOW_SPACE_BYTES = 64 * 2 ** 20; // a few model runs' worth of stem chunks

/**
 * A failed write as the user should read it. A full disk is not always a QuotaExceededError:
 * Chromium, whose quota for this extension (unlimitedStorage) is the disk, reports "Failed to
 * write blobs (IOError)" when the disk fills (tests/e2e/test_disk_full.py); so any failure with
 * less than LOW_SPACE_BYTES left of the quota is reported as a lack of space.
 * @param {DOMException | null} error
 * @returns {Promise<Error>}
 */
async function storageError(error) {
  const full = new Error(t('storeDiskFull'));
  if (error?.name === 'QuotaExceededError') return full;
  const asking = navigator.storage?.estimate?.() ?? Promise.resolve(undefined);
  const estimate = await withDeadline(asking, ESTIMATE_LIMIT_MS, 'no estimate').catch(() => null);
  if (estimate?.quota !== undefined && estimate.quota - (estimate.usage ?? 0) < LOW_SPACE_BYTES) return full;
  return error ?? new Error(t('storeNoAnswer'));
}

/**
 * Keys, among a job's stems, of a live capture's recordings: the mix it captured (the input of
 * its job, and a download) and, when asked for, what it played (inference/live.js).
 */
export const RECORDED_MIX = 'recorded-mix';
export const RECORDED_OUTPUT = 'live-output';

/** @param {string} jobId @param {Blob} file */
export const putInput = (jobId, file) => run(STORE.INPUTS, 'readwrite', (s) => s.put(file, jobId));
/** @param {string} jobId @returns {Promise<Blob | undefined>} */
export const getInput = (jobId) => run(STORE.INPUTS, 'readonly', (s) => s.get(jobId));

/** @param {string} jobId @param {string} stem @param {number} index @param {Blob} blob */
export const putChunk = (jobId, stem, index, blob) =>
  run(STORE.CHUNKS, 'readwrite', (s) => s.put(blob, [jobId, stem, index]));

/** The record of a stem written as a file (written after the file). @param {string} jobId @param {string} stem */
const markFiled = (jobId, stem) =>
  run(STORE.STEMS, 'readwrite', (s) => s.put(/** @type {StemFileRecord} */ ({ file: stem }), [jobId, stem]));

/**
 * Join a stem's chunks behind `header` into its final WAV (a file or one Blob: see the header),
 * then drop the chunks; a failed write keeps them.
 * @param {string} jobId @param {string} stem @param {Blob} header
 * @returns {Promise<Blob>}
 */
export async function finishStem(jobId, stem, header) {
  if (STEMS_AS_FILES) {
    /** @type {IDBValidKey[]} */
    const keys = await run(STORE.CHUNKS, 'readonly', (s) => s.getAllKeys(partKeys(jobId, stem)));
    const pieces = [async () => header, ...keys.map((key) => () => run(STORE.CHUNKS, 'readonly', (s) => s.get(key)))];
    const file = await writeStemFile(jobId, stem, pieces).catch(async (e) => {
      throw await storageError(e);
    });
    await markFiled(jobId, stem);
    await deleteParts(jobId, stem);
    return file;
  }
  const parts = await getParts(jobId, stem);
  const wav = new Blob([header, ...parts], { type: 'audio/wav' });
  await run(STORE.STEMS, 'readwrite', (s) => s.put(wav, [jobId, stem]));
  await deleteParts(jobId, stem);
  return wav;
}

/**
 * @typedef {{append: (pieces: ArrayBuffer[]) => Promise<void>,
 *   finish: (header: ArrayBuffer) => Promise<Blob[]>, abort: () => Promise<void>}} StemWriter
 *   append: the next piece of each stem, in the stems' order; finish: each stem's WAV with
 *   `header` before it, in order; abort: the pieces written are dropped (a failed job's)
 */

/**
 * A job's stems, written as separation makes them. Where stems are files (Firefox) each piece goes
 * straight into its stem's file, which `finish` completes: no second pass over stored parts at the
 * end (a 3-minute track's `store` step in Firefox: 0.87-1.44 s -> 0.12-0.16 s, docs/benchmarks.md). Elsewhere
 * the pieces are chunks, and `finish` joins them (finishStem).
 * @param {string} jobId @param {string[]} stems @param {number} headerBytes  the header's size
 * @returns {Promise<StemWriter>}
 */
export async function openStems(jobId, stems, headerBytes) {
  if (!STEMS_AS_FILES) {
    let index = 0;
    return {
      async append(pieces) {
        const at = index++;
        await Promise.all(pieces.map((bytes, s) => putChunk(jobId, stems[s], at, new Blob([bytes]))));
      },
      async finish(header) {
        const done = [];
        const before = new Blob([header]);
        for (const stem of stems) done.push(await finishStem(jobId, stem, before));
        return done;
      },
      abort: async () => {},
    };
  }
  /** @type {import('./stem-file.js').StemFile[]} */
  const files = [];
  const abort = async () => {
    await Promise.all(files.map((file) => file.abort()));
  };
  /** @param {unknown} error @returns {Promise<never>} */
  const failed = async (error) => {
    await abort();
    throw await storageError(/** @type {DOMException | null} */ (error));
  };
  for (const stem of stems) files.push(await openStemFile(jobId, stem, headerBytes).catch(failed));
  return {
    append: (pieces) => Promise.all(pieces.map((bytes, s) => files[s].write(bytes))).then(() => {}, failed),
    async finish(header) {
      const done = [];
      for (const [s, stem] of stems.entries()) {
        done.push(await files[s].finish(header).catch(failed));
        await markFiled(jobId, stem);
      }
      return done;
    },
    abort,
  };
}

/**
 * The chunks [jobId, part, i] of one stem or recording, from index `from` on.
 * @param {string} jobId @param {string} part @param {number} [from]
 */
const partKeys = (jobId, part, from = 0) => IDBKeyRange.bound([jobId, part, from], [jobId, part, Infinity]);
/** @param {string} jobId @param {string} part @returns {Promise<Blob[]>} in index order */
const getParts = (jobId, part) => run(STORE.CHUNKS, 'readonly', (s) => s.getAll(partKeys(jobId, part)));
/** @param {string} jobId @param {string} part @param {number} [from] */
const deleteParts = (jobId, part, from = 0) =>
  run(STORE.CHUNKS, 'readwrite', (s) => s.delete(partKeys(jobId, part, from)));

/**
 * A recording, stored as it arrives in chunks [jobId, part, index], becomes the job's input:
 * one Blob of `type`, then the chunks go. Returns the input's size (0: nothing was recorded).
 * Safe to repeat after an interruption: an input already made is kept.
 * @param {string} jobId @param {string} part @param {string} type
 */
export async function inputFromChunks(jobId, part, type) {
  const parts = await getParts(jobId, part);
  if (parts.length) await putInput(jobId, new Blob(parts, { type }));
  await deleteParts(jobId, part);
  return (await getInput(jobId))?.size ?? 0;
}

/** A `stems` record that stands for the stem's file. @typedef {{file: string}} StemFileRecord */

/** @param {string} jobId @param {string} stem @returns {Promise<Blob | undefined>} */
export async function getStem(jobId, stem) {
  /** @type {Blob | StemFileRecord | undefined} */
  const record = await run(STORE.STEMS, 'readonly', (s) => s.get([jobId, stem]));
  const filed = record && !(record instanceof Blob) && typeof record.file === 'string';
  return filed ? readStemFile(jobId, record.file) : /** @type {Blob | undefined} */ (record);
}

/** Every [jobId, ...] key of a job. @param {string} jobId */
const jobKeys = (jobId) => IDBKeyRange.bound([jobId], [jobId, []]);

/** Drop a job's partial chunks (a restarted job writes them again). @param {string} jobId */
export async function deleteChunks(jobId) {
  await run(STORE.CHUNKS, 'readwrite', (s) => s.delete(jobKeys(jobId)));
}

/** Delete everything stored for a job (input, partial chunks, stems). @param {string} jobId */
export async function deleteJobData(jobId) {
  await run(STORE.INPUTS, 'readwrite', (s) => s.delete(jobId));
  await deleteChunks(jobId);
  await run(STORE.STEMS, 'readwrite', (s) => s.delete(jobKeys(jobId)));
  if (STEMS_AS_FILES) await deleteStemFiles(jobId);
}

/**
 * deleteJobData for a job that failed: gives up after CLEANUP_LIMIT_MS so that the failure can
 * still be reported (on a full disk a delete can fail or stall too; the background's sweep at
 * its next start deletes what is left).
 * @param {string} jobId
 */
export const deleteFailedJobData = (jobId) =>
  withDeadline(deleteJobData(jobId), CLEANUP_LIMIT_MS, 'the cleanup of a failed job did not end');

/** @param {string} jobId */
export async function deleteInput(jobId) {
  await run(STORE.INPUTS, 'readwrite', (s) => s.delete(jobId));
}

/**
 * The jobs that own stored records: `inputs` holds input keys, `results` the jobs of chunk and
 * stem keys and of stem files.
 */
export async function storedJobIds() {
  /** @type {IDBValidKey[][]} */
  const [inputs, chunks, stems] = await Promise.all(
    [STORE.INPUTS, STORE.CHUNKS, STORE.STEMS].map((name) => run(name, 'readonly', (s) => s.getAllKeys())),
  );
  const files = STEMS_AS_FILES ? await stemFileJobs() : [];
  const jobOf = (/** @type {IDBValidKey} */ key) => String(Array.isArray(key) ? key[0] : key);
  return { inputs: new Set(inputs.map(jobOf)), results: new Set([...chunks, ...stems].map(jobOf).concat(files)) };
}

/**
 * An imported model. `state` is 'checking' from the moment the page stores it until the
 * inference host has run it (inference/model-check.js), then 'ready'; a record left 'checking'
 * (the browser closed mid-check) is never offered and is deleted by the next import or listing.
 * @typedef {{id: string, state: 'checking' | 'ready', name: string, precision: string, sha256: string,
 *   stems: string[], bytes: number, addedAt: number, model: Blob,
 *   descriptor: import('./bundle.js').BundleDescriptor, report: Record<string, any>}} ModelRecord
 */

/** @param {ModelRecord} record */
export const putModel = (record) => run(STORE.MODELS, 'readwrite', (s) => s.put(record, record.id));
/** @param {string} id @returns {Promise<ModelRecord | undefined>} */
export const getModel = (id) => run(STORE.MODELS, 'readonly', (s) => s.get(id));
/** @param {string} id */
export const deleteModel = (id) => run(STORE.MODELS, 'readwrite', (s) => s.delete(id));
/** @returns {Promise<ModelRecord[]>} every record, 'checking' ones included */
export const allModels = () => run(STORE.MODELS, 'readonly', (s) => s.getAll());

/**
 * Recordings: a live capture's mix (stem RECORDED_MIX, or its chunks [jobId, RECORDED_MIX, i]
 * until Stop joins them) and a page recording (chunks [jobId, RECORDING_PART, i], then the job's
 * input). They are the only copy of what the user heard: a failed or cancelled job keeps them
 * (shared/recordings.js), and only removing the job deletes them.
 */
export const RECORDING_PART = 'recording';

/** @param {IDBValidKey} key  a chunk or stem key [jobId, part, ...] */
const isRecordingKey = (key) => Array.isArray(key) && (key[1] === RECORDED_MIX || key[1] === RECORDING_PART);

/** The chunks [jobId, part, i] of a recording, in order (not joined: nothing is written). */
export const recordingChunks = getParts;

/**
 * A job's partial chunks and stems, its recording excepted; its input is left alone (a recorded
 * job's input is its recording).
 * @param {string} jobId
 */
export async function deleteAllButRecording(jobId) {
  for (const name of [STORE.CHUNKS, STORE.STEMS]) {
    /** @type {IDBValidKey[]} */
    const keys = await run(name, 'readonly', (s) => s.getAllKeys(jobKeys(jobId)));
    const drop = keys.filter((key) => !isRecordingKey(key));
    if (drop.length) await run(name, 'readwrite', (s) => drop.forEach((key) => s.delete(key)));
  }
  if (STEMS_AS_FILES) await deleteStemFiles(jobId, [RECORDED_MIX, RECORDING_PART]);
}

/**
 * Drop a recording's chunks from index `from` on: what followed a chunk the store refused would
 * have a hole in it.
 */
export const deleteChunksFrom = deleteParts;

/** deleteAllButRecording, bounded as deleteFailedJobData is. @param {string} jobId */
export const deleteFailedResults = (jobId) =>
  withDeadline(deleteAllButRecording(jobId), CLEANUP_LIMIT_MS, 'the cleanup of a failed job did not end');
