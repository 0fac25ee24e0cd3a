// @ts-check
/**
 * One job, top to bottom: fetch -> decode (+ resample, stereo) -> STFT -> model -> masks ->
 * iSTFT -> WAV encode -> store. Streamed: the input is decoded as the model needs it and stems
 * go to IndexedDB as they are produced, so memory does not grow with the track's length (except
 * on decode.js's whole-file fallback, and for HTDemucs, whose normalisation needs the whole track).
 */
import { spectralBlocks } from './dsp.js';
import { segmentBlocks } from './segments.js';
import { AudioInputError, openAudio } from './decode.js';
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
 *   sampleRate: number, nbChannels: number, stft: import('./dsp.js').StftParams,
 *   maskExtension: import('./dsp.js').MaskExtension, segmentLength: number, overlap: number,
 *   file: string, precision: string, live?: import('./live-separator.js').LiveParams | null}} ModelDescriptor
 */

export class CancelledError extends Error {
  constructor() {
    super('Cancelled');
  }
}

/**
 * With a host permission for the URL's origin the extension is exempt from CORS and sends the
 * user's cookies (media behind a login); without one, only CORS-readable media can be fetched,
 * and a credentialed request to a server answering `Access-Control-Allow-Origin: *` is refused
 * by the browser, so that case is retried without credentials.
 * @param {string} url
 */
async function fetchAudio(url) {
  if (url.startsWith('file:')) {
    const blob = await fetch(url)
      .then((r) => r.blob())
      .catch(() => null);
    if (!blob) {
      throw new AudioInputError(
        'Cannot read local files yet: in the browser\'s extension settings, allow this extension access to file URLs.',
      );
    }
    return blob;
  }
  let response;
  try {
    response = await fetch(url, { credentials: 'include' }).catch(() => fetch(url, { credentials: 'omit' }));
  } catch {
    throw new AudioInputError(
      `Could not download the audio from ${new URL(url).host}: the site does not allow it, or it is unreachable.`,
    );
  }
  if (!response.ok) {
    throw new AudioInputError(`The server answered ${response.status} for ${url}.`);
  }
  const type = response.headers.get('content-type') ?? '';
  if (/^(text\/html|application\/json)/.test(type)) {
    throw new AudioInputError(`${url} is a web page (${type.split(';')[0]}), not audio.`);
  }
  return response.blob();
}

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
    progress({ jobId, phase: 'fetching', done: 0, total: 1 });
    const blob =
      job.source.kind === 'url' ? await fetchAudio(job.source.url)
      : job.source.kind === 'recorded' ? await getStem(jobId, RECORDED_MIX)
      : await getInput(jobId); // prettier-ignore
    if (!blob) throw new AudioInputError('The file for this job is no longer stored; add it again.');
    lap('fetch');
    check();

    progress({ jobId, phase: 'decoding', done: 0, total: 1 });
    const audio = await openAudio(blob, descriptor.sampleRate, { streamAboveS: job.streamAboveS });
    const samples = new SampleWindow(audio.chunks);
    lap('decode');
    check();

    const runner = await getRunner();
    clock = performance.now();
    const { stems } = descriptor;
    // HTDemucs normalises by the whole track's statistics, so it takes the track in memory.
    const whole = descriptor.family === 'htdemucs' ? await samples.all() : null;
    lap('decode');
    const blocks = whole
      ? segmentBlocks(whole, descriptor, runner, lap)
      : spectralBlocks(samples, descriptor, runner, lap);
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
    return { jobId, stems: results, durationS: nbSamples / descriptor.sampleRate, timings, decoder };
  } catch (error) {
    // Bounded, so that the failure is always reported; the background deletes again on
    // JOB_FAILED and sweeps at its next start.
    await deleteFailedJobData(jobId).catch(() => {});
    throw error;
  }
}
