// @ts-check
/**
 * One job, top to bottom: fetch -> decode (+ resample, stereo) -> STFT -> model -> masks ->
 * iSTFT -> back to the input's rate -> WAV encode -> store (the resampling is timed as
 * `encode`). Streamed: the input is decoded as the model needs it and stems go to IndexedDB as
 * they are produced, so memory does not grow with the track's length (except on decode.js's
 * whole-file fallback; HTDemucs, whose normalisation needs the whole track's statistics,
 * decodes a streamed track twice: families/htdemucs.js).
 */
import { familyBlocks } from './families/index.js';
import { AudioInputError, openAudio } from './decode.js';
import { fetchAudio } from './fetch-audio.js';
import { CancelledError } from './cancelled.js';
import { SampleWindow } from './samples.js';
import { StreamResampler } from './resample.js';
import { bytesPerSample, encodeSamples, wavHeader } from '../shared/wav.js';
import { isWav } from '../shared/encode-audio.js';
import { RECORDED_MIX, deleteChunks, deleteInput, getInput, getStem, openStems } from '../shared/store.js';
import { deleteFailedJob } from '../shared/recordings.js';
import { t } from '../shared/i18n.js';

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
 *   progress: (p: JobProgressData) => void, signal: AbortSignal,
 *   modelDone?: (streamed: boolean) => Promise<void>}} context  modelDone: the job's last model run
 *   is done (its stems are still to be joined and saved; `streamed`: a long track, decode.js), so
 *   the host may let the sessions go
 * @returns {Promise<JobDoneData>}
 */
export async function separateJob(job, { descriptor, getRunner, progress, signal, modelDone }) {
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
  // Stems are stored as WAV and transcoded at download (ui/stem-files.js): a WAV setting is the
  // stored format itself; any other format is made from 16-bit (exact for FLAC, and far
  // beyond what MP3/Opus/AAC keep).
  const format = job.format && isWav(job.format) ? job.format : 'pcm16';
  /** @type {import('../shared/store.js').StemWriter | null} */
  let writer = null;
  try {
    await deleteChunks(jobId); // left over if this job was interrupted and is starting over
    // The model loads while the input is fetched and decoded, not after them (a 3-minute track's
    // decode: ~0.7 s in Firefox, ~0.3 s in Chromium; docs/benchmarks.md); for a URL, once
    // its server has answered with what may be audio: an address that does not answer, or answers
    // with an error, a web page or a live stream, loads no model (hundreds of MB).
    /** @type {ReturnType<typeof getRunner> | null} */
    let runnerReady = null;
    const startRunner = () => {
      if (!runnerReady) {
        runnerReady = getRunner();
        runnerReady.catch(() => {}); // awaited below: a job that fails before reports its own error
      }
      return runnerReady;
    };
    if (job.source.kind !== 'url') startRunner();
    progress({ jobId, phase: 'fetching', done: 0, total: 0 });
    const blob =
      job.source.kind === 'url'
        ? await fetchAudio(job.source.url, {
          signal,
          onBytes: (done, total) => progress({ jobId, phase: 'fetching', done, total }),
          onAccepted: startRunner,
          headersS: job.fetchHeadersS,
          stallS: job.fetchStallS,
          maxBytes: job.maxInputBytes,
        })
        : job.source.kind === 'recorded' ? await getStem(jobId, RECORDED_MIX)
        : await getInput(jobId); // prettier-ignore
    if (!blob) throw new AudioInputError(t('decodeInputGone'));
    startRunner(); // a file: URL's
    lap('fetch');
    check();

    progress({ jobId, phase: 'decoding', done: 0, total: 1 });
    const decodeOptions = { streamAboveS: job.streamAboveS, maxInputBytes: job.maxInputBytes };
    const audio = await openAudio(blob, descriptor.sampleRate, decodeOptions);
    const samples = new SampleWindow(audio.chunks);
    lap('decode');
    check();

    const runner = await startRunner();
    clock = performance.now(); // the wait for the model is in no step
    const { stems } = descriptor;
    // A streamed track can be read again only by decoding it again (HTDemucs's second pass).
    const reopen = audio.streamed
      ? async () => new SampleWindow((await openAudio(blob, descriptor.sampleRate, decodeOptions)).chunks)
      : null;
    const blocks = familyBlocks(descriptor)(samples, descriptor, runner, lap, reopen);
    // The stems at the input's rate (the native CLI's behaviour), unless the setting asks for
    // the model's; each stem through its own resampler, as the blocks come.
    const outputRate = job.outputRate === 'input' || job.outputRate === undefined ? audio.inputRate : job.outputRate;
    const resamplers =
      outputRate === descriptor.sampleRate ? null
        : stems.map(() => new StreamResampler(descriptor.sampleRate, outputRate, descriptor.nbChannels)); // prettier-ignore
    const header = (/** @type {number} */ dataBytes) => wavHeader(dataBytes, outputRate, descriptor.nbChannels, format);
    const stemWriter = await openStems(jobId, stems, header(0).byteLength);
    writer = stemWriter;
    let emitted = 0;
    let stored = 0; // samples per stem, at the output rate
    /** @param {Float32Array[][]} block  per stem, its channels */
    const store = async (block) => {
      if (block[0][0].length === 0) return;
      const pieces = block.map((channels) => encodeSamples(channels, format));
      lap('encode');
      await stemWriter.append(pieces);
      lap('store');
      stored += block[0][0].length;
    };
    for await (const block of blocks) {
      const length = block[0][0].length;
      if (length > 0) {
        await store(resamplers ? await Promise.all(block.map((channels, s) => resamplers[s].push(channels))) : block);
        emitted += length;
      }
      const total = samples.ended ? samples.total : Math.max(audio.estimatedSamples, emitted + 1);
      progress({ jobId, phase: 'separating', done: emitted, total });
      check();
    }
    await modelDone?.(audio.streamed);
    const nbSamples = samples.total;
    if (nbSamples === 0) throw new AudioInputError(t('decodeNoSamples'));
    if (resamplers) await store(await Promise.all(resamplers.map((r) => r.flush())));

    progress({ jobId, phase: 'saving', done: nbSamples, total: nbSamples });
    const wavs = await stemWriter.finish(header(stored * descriptor.nbChannels * bytesPerSample(format)));
    writer = null;
    const results = stems.map((stem, s) => ({ stem, bytes: wavs[s].size }));
    await deleteInput(jobId);
    lap('store');
    const decoder = audio.streamed ? 'streamed' : 'whole-file';
    const replaced = { notNumbers: audio.check.notNumbers, outOfRange: audio.check.outOfRange };
    const model = `${descriptor.name} ${descriptor.precision}`;
    return { jobId, stems: results, durationS: nbSamples / descriptor.sampleRate, timings, decoder, replaced, model };
  } catch (error) {
    await writer?.abort();
    // Bounded, so that the failure is always reported; the background deletes again on
    // JOB_FAILED and sweeps at its next start. A recording stays (the only copy).
    await deleteFailedJob(jobId, job.source).catch(() => {});
    throw error;
  }
}
