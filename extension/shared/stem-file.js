// @ts-check
/**
 * A finished stem as one file of the origin-private file system (OPFS): stems/<jobId>/<stem>.wav,
 * written piece by piece, read back as a file-backed File. Used where the platform says so
 * (platform/<browser>/stem-storage.js): in Firefox a 60-minute stem joined into one IndexedDB
 * Blob is copied whole through the parent process when saved (+635 MB), and a Blob joined from
 * stored parts once more per object URL; a file written here is neither (docs/benchmarks.md "Firefox
 * 60-minute peak", scripts/probe_opfs.py).
 */

import { withDeadline } from './deadline.js';
import { t } from './i18n.js';

const STEMS_DIR = 'stems';
/**
 * One piece (a few MB) is written, and a file found or deleted, in well under a second: a call
 * left unanswered fails instead (nothing waits for storage unbounded: docs/reliability.md).
 */
const PIECE_LIMIT_MS = 60_000;
/** @template T @param {Promise<T>} call */
const bounded = (call) => withDeadline(call, PIECE_LIMIT_MS, () => t('storeNoAnswer'));

/** @param {string} name  a job id or stem name, as one OPFS entry name (no '/', never '.' or '..') */
const entry = (name) => encodeURIComponent(name).replaceAll('.', '%2E');
/** @param {string} stem */
const fileName = (stem) => `${entry(stem)}.wav`;

/**
 * The entry names of a folder. By next(), not `for await`: Firefox 153's iterator from keys()
 * is not itself async-iterable ("job.keys() is not iterable").
 * @param {FileSystemDirectoryHandle} dir @returns {Promise<string[]>}
 */
async function names(dir) {
  const found = [];
  const entries = dir.keys();
  for (let next = await entries.next(); !next.done; next = await entries.next()) found.push(next.value);
  return found;
}

/**
 * `lookup`'s answer, or null where what it looks up is not there (NotFoundError).
 * @template T @param {Promise<T>} lookup @returns {Promise<T | null>}
 */
const unlessMissing = (lookup) =>
  lookup.catch((e) => {
    if (/** @type {DOMException} */ (e)?.name === 'NotFoundError') return null;
    throw e;
  });

/** @param {boolean} create @returns {Promise<FileSystemDirectoryHandle | null>} */
async function stemsDir(create) {
  const root = await navigator.storage.getDirectory();
  const lookup = root.getDirectoryHandle(STEMS_DIR, { create });
  return create ? lookup : unlessMissing(lookup);
}

/** @param {string} jobId @param {boolean} create @returns {Promise<FileSystemDirectoryHandle | null>} */
async function jobDir(jobId, create) {
  const dir = await stemsDir(create);
  if (!dir) return null;
  const lookup = dir.getDirectoryHandle(entry(jobId), { create });
  return create ? lookup : unlessMissing(lookup);
}

/**
 * @typedef {{write: (bytes: ArrayBuffer) => Promise<void>,
 *   finish: (header?: ArrayBuffer | null) => Promise<File>, abort: () => Promise<void>}} StemFile
 *   write: the next piece; finish: `header` written over the room left for it, and the file in
 *   place; abort: nothing written stays. A failed write or finish aborts.
 */

/**
 * A stem's file, written as it is made: `headerBytes` of room first (a WAV header's sizes are
 * known only at the end), then its pieces in order. A writable stream writes aside and swaps in
 * at close, so until `finish` an earlier file, or an empty one, stays: never half a stem.
 * @param {string} jobId @param {string} stem @param {number} [headerBytes]
 * @returns {Promise<StemFile>}
 */
export async function openStemFile(jobId, stem, headerBytes = 0) {
  const opening = jobDir(jobId, true).then(async (dir) => {
    const handle = await /** @type {FileSystemDirectoryHandle} */ (dir).getFileHandle(fileName(stem), { create: true });
    return { handle, out: await handle.createWritable() };
  });
  const { handle, out } = await bounded(opening);
  const abort = () => bounded(out.abort()).catch(() => {});
  /** @param {unknown} error @returns {Promise<never>} */
  const failed = async (error) => {
    await abort();
    throw error;
  };
  if (headerBytes > 0) await bounded(out.write(new ArrayBuffer(headerBytes))).catch(failed);
  return {
    write: (bytes) => bounded(out.write(bytes)).catch(failed),
    async finish(header = null) {
      try {
        if (header) await bounded(out.write({ type: 'write', position: 0, data: header }));
        await bounded(out.close());
      } catch (error) {
        return failed(error);
      }
      return bounded(handle.getFile());
    },
    abort,
  };
}

/**
 * Write `pieces` (read one at a time, in order) as the stem's file, replacing any earlier one
 * only once all is written (openStemFile).
 * @param {string} jobId @param {string} stem
 * @param {Array<() => Promise<Blob>>} pieces
 * @returns {Promise<File>}
 */
export async function writeStemFile(jobId, stem, pieces) {
  const file = await openStemFile(jobId, stem);
  for (const read of pieces) {
    /** @type {ArrayBuffer} */
    let bytes;
    try {
      // Bytes, not the Blob: Firefox wrote 635 MB of IndexedDB-backed Blobs in 38 s, of their
      // bytes in 6.5 s (probe_opfs.py, 2026-12-01); one piece at a time is held.
      bytes = await (await read()).arrayBuffer();
    } catch (error) {
      await file.abort();
      throw error;
    }
    await file.write(bytes);
  }
  return file.finish();
}

/** @param {string} jobId @param {string} stem @returns {Promise<File | undefined>} */
export const readStemFile = (jobId, stem) => bounded(findStemFile(jobId, stem));

/** @param {string} jobId @param {string} stem @returns {Promise<File | undefined>} */
async function findStemFile(jobId, stem) {
  const dir = await jobDir(jobId, false);
  const handle = dir && (await unlessMissing(dir.getFileHandle(fileName(stem))));
  return handle ? handle.getFile() : undefined;
}

/**
 * Delete a job's stem files, but those of the stems in `keep`; the job's folder goes with its
 * last file.
 * @param {string} jobId @param {string[]} [keep]
 */
export const deleteStemFiles = (jobId, keep = []) => bounded(deleteFiles(jobId, keep));

/** @param {string} jobId @param {string[]} keep */
async function deleteFiles(jobId, keep) {
  const dir = await stemsDir(false);
  const job = dir && (await jobDir(jobId, false));
  if (!dir || !job) return;
  const kept = new Set(keep.map(fileName));
  const found = await names(job);
  if (found.every((name) => !kept.has(name))) return dir.removeEntry(entry(jobId), { recursive: true });
  for (const name of found) if (!kept.has(name)) await job.removeEntry(name);
}

/** The jobs that have a folder of stem files. @returns {Promise<string[]>} */
export const stemFileJobs = () =>
  bounded(stemsDir(false).then(async (dir) => (dir ? (await names(dir)).map(decodeURIComponent) : [])));
