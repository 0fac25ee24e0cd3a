// @ts-check
/**
 * A job whose source is a recording (a live capture kept as a job, or a page recorded by
 * Firefox's recorder) holds the only copy of what the user heard, where a file or a URL job
 * leaves the original with the user. So its failure or cancellation deletes only the partial
 * stems; the list offers the recording for download and "Try again" from it; only removing the
 * job deletes it. A recording whose end could not be stored (a write refused: a full disk, an IO
 * error) stays as its chunks, and is joined again at the background's next start or by Try again.
 */
import {
  RECORDED_MIX, RECORDING_PART, deleteFailedJobData, deleteFailedResults, finishStem, getInput, getStem,
  inputFromChunks, recordingChunks,
} from './store.js';
import { bytesPerSample, wavHeader } from './wav.js';
import { t } from './i18n.js';

/**
 * @typedef {import('./messages.js').JobSource} JobSource
 * @typedef {{into: 'mix', sampleRate: number} | {into: 'input', type: string}} UnsavedRecording
 *   a recording still in its chunks: a live mix (16-bit stereo PCM at `sampleRate`, the job's
 *   RECORDED_MIX stem once joined) or a page recording (the job's input, of MIME `type`)
 */

/**
 * A live capture records what it captured and what it played as 16-bit stereo PCM
 * (inference/live.js encodes its chunks in this format, mixHeader heads them): as the stems'
 * default, the source is rarely finer.
 */
export const MIX_FORMAT = 'pcm16';
const MIX_CHANNELS = 2;

/** @param {number} frames */
export const mixBytes = (frames) => frames * MIX_CHANNELS * bytesPerSample(MIX_FORMAT);

/**
 * The WAV header of a live capture's recording of `dataBytes` bytes.
 * @param {number} dataBytes @param {number} sampleRate
 */
export const mixHeader = (dataBytes, sampleRate) =>
  new Blob([wavHeader(dataBytes, sampleRate, MIX_CHANNELS, MIX_FORMAT)]);

/** @param {JobSource} source */
export const isRecording = (source) =>
  source.kind === 'recorded' || (source.kind === 'stored' && source.recorded === true);

/**
 * Delete what a failed or cancelled job stored, bounded (store.js): everything, except a
 * recording, which stays with its job.
 * @param {string} jobId @param {JobSource} source
 */
export const deleteFailedJob = (jobId, source) =>
  isRecording(source) ? deleteFailedResults(jobId) : deleteFailedJobData(jobId);

/** @param {Blob[]} chunks */
const sizeOf = (chunks) => chunks.reduce((sum, chunk) => sum + chunk.size, 0);

/**
 * Join a recording's chunks into its record, as its end would have. Safe to repeat: a recording
 * already joined is kept. Returns its size; fails with the store's error (the chunks stay).
 * @param {string} jobId @param {UnsavedRecording} unsaved
 */
export async function saveRecording(jobId, unsaved) {
  if (unsaved.into === 'input') {
    const bytes = await inputFromChunks(jobId, RECORDING_PART, unsaved.type);
    if (!bytes) throw new Error(t('keepRecordingGone'));
    return bytes;
  }
  const chunks = await recordingChunks(jobId, RECORDED_MIX);
  if (!chunks.length) {
    const joined = await getStem(jobId, RECORDED_MIX);
    if (!joined) throw new Error(t('keepRecordingGone'));
    return joined.size;
  }
  return (await finishStem(jobId, RECORDED_MIX, mixHeader(sizeOf(chunks), unsaved.sampleRate))).size;
}

/**
 * A job's recording as a file to download, and the end of its name: read from where it is,
 * joined in memory if it is still in chunks (nothing is written: the disk may be full).
 * @param {import('./jobs.js').Job} job
 * @returns {Promise<{blob: Blob, suffix: string}>}
 */
export async function recordingFile(job) {
  const { unsaved } = job;
  if (job.source.kind === 'recorded') {
    const stored = await getStem(job.id, RECORDED_MIX);
    if (stored) return { blob: stored, suffix: 'mix.wav' };
    const chunks = unsaved?.into === 'mix' ? await recordingChunks(job.id, RECORDED_MIX) : [];
    if (unsaved?.into === 'mix' && chunks.length) {
      const blob = new Blob([mixHeader(sizeOf(chunks), unsaved.sampleRate), ...chunks], { type: 'audio/wav' });
      return { blob, suffix: 'mix.wav' };
    }
  } else {
    const input = await getInput(job.id);
    const chunks = !input && unsaved?.into === 'input' ? await recordingChunks(job.id, RECORDING_PART) : [];
    const blob = input ?? (unsaved?.into === 'input' && chunks.length ? new Blob(chunks, { type: unsaved.type }) : null);
    // 'audio/ogg' -> recording.ogg
    if (blob) return { blob, suffix: `recording.${blob.type.split(/[/;]/)[1] || 'audio'}` };
  }
  throw new Error(t('keepRecordingGone'));
}
