// @ts-check
/**
 * A done job's stems as files in the format the settings name: stems are stored as WAV
 * (inference/separator.js) and transcoded here, one at a time, when the user downloads them.
 * Why not store the chosen format: one stored master that every player, the mixer and the
 * export read without a decoder; the format can change after the job (a FLAC, then an MP3,
 * without separating again); MP3/Opus/AAC cannot be decoded back to the same samples.
 */
import { loadSettings } from '../shared/settings.js';
import { safeFileName } from '../shared/names.js';
import { getStem } from '../shared/store.js';
import { formatById, transcodeStem } from '../shared/encode-audio.js';
import { t } from '../shared/i18n.js';

/** @typedef {import('../shared/jobs.js').Job} Job */

/**
 * `<track>-<stem>.<ext>`, both parts by the one file-name rule (the stem names come from the
 * model descriptor, not from the user, but a zip entry must not depend on that).
 * @param {Job} job @param {string} stem @param {string} [extension]
 */
export const stemFileName = (job, stem, extension = 'wav') =>
  `${safeFileName(job.name)}-${safeFileName(stem)}.${extension}`;

/** The settings' format for files the user downloads. */
export async function chosenFormat() {
  return formatById((await loadSettings()).format);
}

/**
 * One stem as a file of the chosen format.
 * @param {Job} job @param {string} stem @param {import('../shared/encode-audio.js').AudioFormat} format
 * @returns {Promise<{name: string, blob: Blob}>}
 */
export async function stemFile(job, stem, format) {
  const stored = await getStem(job.id, stem);
  if (!stored) throw new Error(t('formatsStemGone', stem));
  return { name: stemFileName(job, stem, format.extension), blob: await transcodeStem(stored, format.id) };
}

/**
 * The zip's entries, each transcoded as client-zip asks for it (one stem in memory at a time).
 * @param {Job} job @param {import('../shared/encode-audio.js').AudioFormat} format
 */
export async function* stemZipEntries(job, format) {
  for (const { stem } of job.stems ?? []) {
    const { name, blob } = await stemFile(job, stem, format);
    yield { name, input: blob };
  }
}
