// @ts-check
/**
 * One job, top to bottom: fetch -> decode (+ resample, stereo) -> STFT -> model -> masks ->
 * iSTFT -> WAV encode -> store. Streamed: the input is decoded as the model needs it and stems
 * go to IndexedDB as they are produced, so memory does not grow with the track's length (except
 * on decode.js's whole-file fallback, and for HTDemucs, whose normalisation needs the whole track).
 */
import { familyBlocks } from './families/index.js';
import { AudioInputError, openAudio } from './decode.js';
import { CancelledError, fetchAudio } from './fetch-audio.js';
import { SampleWindow } from './samples.js';
import { bytesPerSample, encodeSamples, wavHeader } from '../shared/wav.js';
import {
  RECORDED_MIX, deleteChunks, deleteFailedJobData, deleteInput, finishStem, getInput, getStem, putChunk,
} from '../shared/store.js';

/**
 * @typedef {import('../shared/messages.js').RunJobData} RunJobData
 * @typedef {import('../shared/messages.js').JobProgressData} JobProgressData
 * @typedef {import('../shared/messages.js').JobDoneData} JobDoneData
 * @typedef {import('./model-runner.js').ModelRunner} ModelRunner
 * @typedef {{name: string, family?: 'spectral-masks' | 'htdemucs', stems: string[],
 *   sampleRate: number, nbChannels: number, stft: import('./families/spectral-masks.js').StftParams,
 *   maskExtension: import('./families/spectral-masks.js').MaskExtension, segmentLength: number, overlap: number,
 *   file: string, precision: string, live?: import('./live-separator.js').LiveParams | null}} ModelDescriptor
 */

export { CancelledError };

/**
 * @param {RunJobData} job
 * @param {{descriptor: ModelDescriptor, getRunner: () => Promise<ModelRunner>,
 *   progress: (p: JobProgressData) => void, signal: AbortSignal}} context
 * @returns {Promise<JobDoneData>}
 */
export async function separateJob(job, { descriptor, getRunner, progress, signal }) {
  const timings = { fetch: 0, decode: 0, stft: 0, model: 0, istft: 0, encode: 0, store: 0 };
  let clock = performance.now();
  const lap = (/** @type {keyof typeof timings} */ step) => {
    const now = performance.now();
    timings[step] += (now - clock) / 1000;
    clock = now;
  };
  const check = () => {
    if (signal.aborted) throw new CancelledError();
  };
  const { jobId } = job;
  const format = job.format ?? 'pcm16';
  try {
    await deleteChunks(jobId); // left over if this job was interrupted and is starting over
    progress({ jobId, phase: 'fetching', done: 0, total: 0 });
    const blob =
      job.source.kind === 'url'
        ? await fetchAudio(job.source.url, {
          signal,
          onBytes: (done, total) => progress({ jobId, phase: 'fetching', done, total }),
          headersS: job.fetchHeadersS,
          stallS: job.fetchStallS,
          maxBytes: job.maxInputBytes,
        })
        : job.source.kind === 'recorded' ? await getStem(jobId, RECORDED_MIX)
        : await getInput(jobId); // prettier-ignore
    if (!blob) throw new AudioInputError('The file for this job is no longer stored; add it again.');
    lap('fetch');
    check();

    progress({ jobId, phase: 'decoding', done: 0, total: 1 });
    const audio = await openAudio(blob, descriptor.sampleRate, {
      streamAboveS: job.streamAboveS,
      maxInputBytes: job.maxInputBytes,
    });
    const samples = new SampleWindow(audio.chunks);
    lap('decode');
    check();

    const runner = await getRunner();
    clock = performance.now();
    const { stems } = descriptor;
    const blocks = familyBlocks(descriptor)(samples, descriptor, runner, lap);
    let emitted = 0;
    let index = 0;
    for await (const block of blocks) {
      if (block[0][0].length > 0) {
        const pieces = block.map((channels) => encodeSamples(channels, format));
        lap('encode');
        await Promise.all(pieces.map((bytes, s) => putChunk(jobId, stems[s], index, new Blob([bytes]))));
        lap('store');
        index += 1;
        emitted += block[0][0].length;
      }
      const total = samples.ended ? samples.total : Math.max(audio.estimatedSamples, emitted + 1);
      progress({ jobId, phase: 'separating', done: emitted, total });
      check();
    }
    const nbSamples = samples.total;
    if (nbSamples === 0) throw new AudioInputError('The file holds no audio samples.');

    progress({ jobId, phase: 'saving', done: nbSamples, total: nbSamples });
    const dataBytes = nbSamples * descriptor.nbChannels * bytesPerSample(format);
    const header = new Blob([wavHeader(dataBytes, descriptor.sampleRate, descriptor.nbChannels, format)]);
    const results = [];
    for (const stem of stems) {
      const wav = await finishStem(jobId, stem, header);
      results.push({ stem, bytes: wav.size });
    }
    await deleteInput(jobId);
    lap('store');
    const decoder = audio.streamed ? 'streamed' : 'whole-file';
    const replaced = { notNumbers: audio.check.notNumbers, outOfRange: audio.check.outOfRange };
    const model = `${descriptor.name} ${descriptor.precision}`;
    return { jobId, stems: results, durationS: nbSamples / descriptor.sampleRate, timings, decoder, replaced, model };
  } catch (error) {
    // Bounded, so that the failure is always reported; the background deletes again on
    // JOB_FAILED and sweeps at its next start.
    await deleteFailedJobData(jobId).catch(() => {});
    throw error;
  }
}
