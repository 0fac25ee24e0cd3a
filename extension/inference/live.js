// @ts-check
/**
 * Live: a tab's audio separated as it plays. One AudioContext at the model's rate:
 *
 *   stream -> capture worklet -> playback worklet -> speakers
 *                  |  ring (SharedArrayBuffer)   ^  stems ring + per-stem gains
 *                  v                             |
 *     this thread: a hop at a time -> separator.process (own onnxruntime session) -> stems
 *
 * The playback worklet plays each source frame `delay` frames after it was captured: the
 * separator's latency, one hop (the block of a frame is complete only when its hop is), and a
 * margin for the model's time. A frame whose stems are not there in time is played from the
 * original (live-worklets.js), so the user never hears silence; `health()` counts those.
 *
 * Keep stems: the captured mix is written to IndexedDB hop by hop (chunks [jobId, RECORDED_MIX,
 * i]) and joined into a WAV at the end (stems [jobId, RECORDED_MIX]), which then becomes an
 * ordinary job (source `recorded`): its stems come from the offline pipeline, at full quality.
 *
 * Paused media: the capture then delivers digital silence; after PAUSE_S of it the capture pauses
 * (live-silence.js): nothing is recorded and the model does not run until sound returns.
 */
import { createLiveSeparator } from './live-separator.js';
import { createSilenceGate, isDigitalSilence } from './live-silence.js';
import { createHopLog } from './live-timing.js';
import { CAPTURED, HEALTH, QUANTUM } from './live-buffers.js';
import { encodeSamples } from '../shared/wav.js';
import {
  RECORDED_MIX, RECORDED_OUTPUT, deleteChunks, deleteChunksFrom, finishStem, putChunk,
} from '../shared/store.js';
import { MIX_FORMAT, mixBytes, mixHeader } from '../shared/recordings.js';
import { t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {import('../shared/messages.js').LiveCaptureData} LiveCaptureData
 * @typedef {import('../shared/messages.js').LiveHealth} LiveHealth
 * @typedef {import('./separator.js').ModelDescriptor} ModelDescriptor
 * @typedef {import('./model-runner.js').ModelRunner} ModelRunner
 * @typedef {{health: () => LiveHealth, setMix: (mix: {gains?: number[], keep?: boolean}) => void,
 *   stop: (reason: string) => Promise<StopResult>, ended: Promise<string>}} LiveSession
 * @typedef {{kept: boolean, durationS: number, notSaved?: string, sampleRate?: number}} StopResult
 *   notSaved: why the kept mix could not be joined (its chunks stay, at `sampleRate`)
 */

/**
 * Time allowed for one hop's separation beyond the hop itself, before a frame falls back to the
 * original. Fixed, so that the latency is the same at every start (timed anew at each start it
 * was 0.75-1.5 s, and the heard latency 1.68-2.44 s over 12 captures: issue #33): 1 s, over the
 * slowest hop's time on the 2-core build machine (10 captures: per-hop p95 0.42-0.69 s, max
 * 0.46-0.90 s, least slack 0.09 s, no late hop: bench/live-2026-12-07.json), and the heard
 * latency inside 2 s with the 192/32/0 window (0.81 s of it before the margin): 1.85-1.88 s
 * (docs/live.md, `scripts/bench_live.py --heard`) with a 1-s margin. 1 s proved too thin while the
 * e2e suite runs beside the capture (a hop's separation 0.92 s, 0.43 s late to start: 5 underruns
 * in 31 s), hence 1.25 s: 0.25 s more latency (about 2.1 s heard, over the 2-s goal: docs/live.md).
 * A busier machine falls back to the original.
 */
export const MARGIN_S = 1.25;
/** The tab stream's leading digital zeros are skipped for at most this long (live-worklets.js). */
const LEAD_S = 0.5;
/** The cross-fade from the original as it comes to the delayed stems, once they are ready. */
const FADE_S = 0.1;
/** Runs of the model before the capture: the first of a session prepares onnxruntime's kernels (several times slower). */
const WARM_RUNS = 2;
/**
 * The recording of what was played (tests, bench: from the first rendered frame, so the first
 * `delay` frames are the silence before the first separated frame) holds this many seconds
 * between two drains.
 */
const RECORD_RING_S = 8;
/** The hop loop looks for captured audio this often. */
const POLL_MS = 10;
/**
 * Digital silence at least this long is the media paused, not a rest in the music (at least the
 * separator's latency and a hop, so the stems owed when it starts are silence: see separateLoop).
 */
const PAUSE_S = 1;
/**
 * onnxruntime's proxy worker takes the input's buffer (transferred: detached here), while the
 * live separator reuses its window buffer from hop to hop: it gets a copy.
 * @param {ModelRunner} runner
 * @returns {ModelRunner}
 */
const keepingInputs = (runner) => ({ ...runner, run: (data, dims) => runner.run(data.slice(), dims) });

/**
 * The runner's own time (onnxruntime's worker and the transfers), apart from the separator's
 * STFT and iSTFT on this thread: where a hop's time goes.
 * @param {ModelRunner} runner
 */
function timingRuns(runner) {
  const timed = {
    seconds: 0,
    /** @type {ModelRunner} */
    runner: {
      ...runner,
      run: async (data, dims) => {
        const t0 = performance.now();
        try {
          return await runner.run(data, dims);
        } finally {
          timed.seconds += (performance.now() - t0) / 1000;
        }
      },
    },
  };
  return timed;
}

/**
 * The model run on live windows of silence until it is quick: done before the tab is captured
 * (which mutes it), so that the first hop's run is not the slow one.
 * @param {ModelRunner} runner
 * @param {ModelDescriptor} descriptor
 */
export async function warmModel(runner, descriptor) {
  const { windowFrames } = /** @type {NonNullable<ModelDescriptor['live']>} */ (descriptor.live);
  const dims = [1, descriptor.nbChannels, windowFrames, descriptor.stft.nbBins];
  const input = new Float32Array(dims.reduce((a, b) => a * b));
  for (let i = 0; i < WARM_RUNS; i++) await runner.run(input.slice(), dims);
}

/**
 * The live AudioContext with the worklets loaded, suspended: made before the capture starts, so
 * that the tab's audio plays on from the moment the capture mutes the tab (resume, then capture).
 * @param {number} rate
 * @param {string} workletUrl
 */
export async function openLiveContext(rate, workletUrl) {
  // 'interactive': the device's buffer is part of the silence between the capture muting the tab
  // and its sound coming back through here (0.05 s headless against 0.09 s for 'playback').
  const context = new AudioContext({ sampleRate: rate, latencyHint: 'interactive' });
  try {
    await context.audioWorklet.addModule(workletUrl);
    await context.suspend();
  } catch (error) {
    await context.close().catch(() => {});
    throw error;
  }
  return context;
}

/**
 * Open the tab's stream and demix it until `stop` is called or the stream ends. The original plays
 * from the first captured frame; the model (`model`: warm, or still loading) takes over when its
 * stems are ready, with a cross-fade (live-worklets.js). The audio graph is built before the
 * stream is opened (which mutes the tab), so that the tab's sound comes back as soon as it can.
 * @param {() => Promise<MediaStream>} openStream
 * @param {{descriptor: ModelDescriptor, model: Promise<ModelRunner>, context: AudioContext,
 *   jobId: string, keep: boolean, recordOutput: boolean, gains?: number[]}} options
 * @returns {Promise<LiveSession>}
 */
export async function startLive(openStream, { descriptor, model, context, jobId, keep, recordOutput, gains }) {
  const nbStems = descriptor.stems.length;
  const rate = descriptor.sampleRate;
  /** @type {ModelRunner} the model once it is there (hops captured meanwhile wait, or are dropped when late) */
  const pending = {
    run: async (data, dims) => (await model).run(data, dims),
    runNamed: async (feeds) => (await model).runNamed(feeds),
    threads: 0,
    release: async () => {}, // the live host's to release
  };
  const runs = timingRuns(keepingInputs(pending));
  let separator = createLiveSeparator(descriptor, runs.runner);
  const marginS = MARGIN_S;
  const hop = separator.hopSamples;
  const latency = separator.latencySamples;
  const delay = Math.ceil((latency + hop + marginS * rate) / QUANTUM) * QUANTUM;
  const pauseFrames = Math.max(PAUSE_S * rate, latency + hop);

  // Stems ring: whole blocks (hops), enough for the delay twice over.
  const nbSlots = Math.ceil((2 * (delay + hop)) / hop) + 1;
  const capacity = nbSlots * hop;
  const captureCapacity = capacity;
  const shared = {
    capture: new SharedArrayBuffer(2 * captureCapacity * 4),
    captureState: new SharedArrayBuffer(4),
    stems: new SharedArrayBuffer(nbStems * 2 * capacity * 4),
    stamps: new SharedArrayBuffer(nbSlots * 4),
    gains: new SharedArrayBuffer(nbStems * 4),
    health: new SharedArrayBuffer(HEALTH.LENGTH * 4),
    record: recordOutput ? new SharedArrayBuffer(2 * RECORD_RING_S * rate * 4) : null,
  };
  const captureRing = new Float32Array(shared.capture);
  const captureState = new Int32Array(shared.captureState);
  const stemsRing = new Float32Array(shared.stems);
  const stamps = new Int32Array(shared.stamps);
  const gainValues = new Float32Array(shared.gains);
  gainValues.set(gains?.length === nbStems ? gains : new Array(nbStems).fill(1));
  const healthValues = new Int32Array(shared.health);
  const recordRing = shared.record ? new Float32Array(shared.record) : null;

  const capture = new AudioWorkletNode(context, 'demixer-capture', {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2],
    processorOptions: {
      ring: shared.capture, state: shared.captureState, capacity: captureCapacity, leadFrames: LEAD_S * rate,
    },
  }); // prettier-ignore
  const playback = new AudioWorkletNode(context, 'demixer-playback', {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [2],
    processorOptions: {
      stems: shared.stems, stamps: shared.stamps, gains: shared.gains, health: shared.health,
      record: shared.record, captureState: shared.captureState, nbStems, capacity, hop, latency, delay,
      fade: Math.round(FADE_S * rate),
    },
  }); // prettier-ignore
  capture.connect(playback).connect(context.destination);
  await context.resume();
  const asked = performance.now();
  const stream = await openStream();
  const openS = (performance.now() - asked) / 1000;
  const source = context.createMediaStreamSource(stream);
  source.connect(capture);

  let keepStems = keep;
  let taken = 0; // captured frames taken by the separation
  let recordedUpTo = 0; // captured frames taken by the recording
  let block = 0; // index of the next hop
  let droppedHops = 0;
  let pausedHops = 0;
  let modelSeconds = 0;
  const hopLog = createHopLog();
  /** model seconds and separated seconds per minute of the capture (does the model's share grow?) */
  /** @type {{model: number, audio: number}[]} */
  const minutes = [];
  let stopping = false;
  /** @type {(reason: string) => void} */
  let endWith = () => {};
  /** @type {Promise<string>} */
  const ended = new Promise((resolve) => {
    endWith = resolve;
  });
  let lastFallback = 0;

  let inputChunks = 0;
  let outputChunks = 0;
  let outputDrained = 0;
  let recordedFrames = 0;
  const recordGate = createSilenceGate(pauseFrames);
  const separateGate = createSilenceGate(pauseFrames);
  /** Stores run one after another, off the hop loop's path; the first failure is kept. */
  /** @type {Promise<unknown>} */
  let storing = Promise.resolve();
  /** @type {unknown} */
  let storeError = null;
  /** @param {() => Promise<unknown>} write */
  const store = (write) => {
    storing = storing.then(write).catch((error) => {
      storeError ??= error;
    });
  };

  /** @param {number} from @param {number} frames @returns {Float32Array[]} */
  function readCapture(from, frames) {
    const out = [new Float32Array(frames), new Float32Array(frames)];
    for (let i = 0; i < frames; i++) {
      const at = ((from + i) % captureCapacity) * 2;
      out[0][i] = captureRing[at];
      out[1][i] = captureRing[at + 1];
    }
    return out;
  }

  /**
   * The first chunk of the mix the store refused (a full disk, a write error), -1 while none: the
   * mix is kept up to it (what came after would have a hole), and nothing more is written.
   */
  let firstLost = -1;

  /** @param {Float32Array[]} channels */
  function record(channels) {
    if (firstLost >= 0) return;
    recordedFrames += channels[0].length;
    const index = inputChunks++;
    const bytes = encodeSamples(channels, MIX_FORMAT);
    store(() =>
      putChunk(jobId, RECORDED_MIX, index, new Blob([bytes])).catch((error) => {
        if (firstLost < 0) firstLost = index;
        throw error;
      }),
    );
  }

  function drainOutput() {
    if (!recordRing) return;
    const written = Atomics.load(healthValues, HEALTH.RECORDED);
    const slots = recordRing.length / 2;
    const from = Math.max(outputDrained, written - slots);
    const frames = written - from;
    if (frames <= 0) return;
    const out = [new Float32Array(frames), new Float32Array(frames)];
    for (let i = 0; i < frames; i++) {
      const at = ((from + i) % slots) * 2;
      out[0][i] = recordRing[at];
      out[1][i] = recordRing[at + 1];
    }
    outputDrained = written;
    const index = outputChunks++;
    const bytes = encodeSamples(out, MIX_FORMAT);
    store(() => putChunk(jobId, RECORDED_OUTPUT, index, new Blob([bytes])));
  }

  /** @param {number} k @param {Float32Array[][]} stems  [nbStems][2][hop], source frames from k*hop - latency */
  function writeBlock(k, stems) {
    const first = k * hop - latency;
    for (let s = 0; s < nbStems; s++) {
      const base = s * capacity * 2;
      const [left, right] = stems[s];
      for (let j = Math.max(0, -first); j < hop; j++) {
        const at = base + ((first + j) % capacity) * 2;
        stemsRing[at] = left[j];
        stemsRing[at + 1] = right[j];
      }
    }
    Atomics.store(stamps, k % nbSlots, k + 1);
  }

  const silentBlock = Array.from({ length: nbStems }, () => [new Float32Array(hop), new Float32Array(hop)]);

  const sleep = () => new Promise((resolve) => setTimeout(resolve, POLL_MS));

  /**
   * The recording takes every captured hop, whatever the separation does: only a page frozen for
   * longer than the capture ring holds loses audio. Then the capture ends there, and the
   * recording with it: what came before the loss is whole and kept (stop), the rest would be a
   * mix with a hole in it, which is not what the user heard.
   */
  async function recordLoop() {
    while (!stopping) {
      const captured = Atomics.load(captureState, CAPTURED);
      if (captured - recordedUpTo > captureCapacity) {
        throw new Error(t('liveStalled'));
      }
      if (captured - recordedUpTo >= hop) {
        const input = readCapture(recordedUpTo, hop);
        recordedUpTo += hop;
        for (const part of recordGate.push(input).release) if (keepStems) record(part);
        continue;
      }
      drainOutput();
      await sleep();
    }
  }

  /**
   * A hop at a time through the separator. A block whose last frame would already have been
   * played (or whose audio the capture ring is about to overwrite) is not worth the model's time:
   * it is skipped (its frames play from the original) and the separator catches up with real time.
   *
   * In a pause the blocks are silence without the model: block k holds source frames from
   * k * hop - latency, and the pause starts pauseFrames >= latency + hop after the silence did, so
   * they are all silent. Sound resumes in a new separator, whose zeros before its start are that
   * silence too.
   */
  async function separateLoop() {
    let restart = false; // after a pause: a fresh separator
    while (!stopping) {
      const captured = Atomics.load(captureState, CAPTURED);
      if (captured - taken < hop) {
        await sleep();
        continue;
      }
      const rendered = Atomics.load(healthValues, HEALTH.RENDERED);
      const lastFrame = (block + 1) * hop - latency - 1;
      const input = readCapture(taken, hop);
      // Every hop goes through the gate, late ones too: its decisions are the recording's.
      if (separateGate.push(input).paused) {
        pausedHops += 1;
        restart = true;
        writeBlock(block, silentBlock);
      } else if (lastFrame + delay < rendered || captured - taken > captureCapacity - hop) {
        droppedHops += 1;
      } else {
        if (restart) {
          restart = false;
          separator.dispose();
          separator = createLiveSeparator(descriptor, runs.runner);
        }
        const t0 = performance.now();
        const stems = await separator.process(input);
        const seconds = (performance.now() - t0) / 1000;
        modelSeconds += seconds;
        // Slack: render frames left before the block's first source frame plays (first + delay).
        const slack = block * hop - latency + delay - Atomics.load(healthValues, HEALTH.RENDERED);
        hopLog.add(seconds, (captured - taken - hop) / rate, slack / rate);
        const minute = (minutes[Math.floor((block * hop) / (60 * rate))] ??= { model: 0, audio: 0 });
        minute.model += seconds;
        minute.audio += hop / rate;
        writeBlock(block, stems);
      }
      taken += hop;
      block += 1;
    }
  }

  const loops = [recordLoop(), separateLoop()];
  Promise.all(loops).then(
    () => endWith('stopped'),
    (error) => {
      console.error('demixer live', error);
      endWith(errorText(error));
    },
  );
  for (const track of stream.getAudioTracks()) {
    track.addEventListener('ended', () => endWith(t('liveTabSilent')));
  }

  /** @returns {LiveHealth} */
  function health() {
    const captured = Atomics.load(captureState, CAPTURED);
    const rendered = Atomics.load(healthValues, HEALTH.RENDERED);
    const fallback = Atomics.load(healthValues, HEALTH.FALLBACK_FRAMES);
    const switched = Atomics.load(healthValues, HEALTH.SWITCHED);
    const previous = lastFallback;
    lastFallback = fallback;
    const separatedS = ((block - droppedHops - pausedHops) * hop) / rate;
    return {
      latencyS: delay / rate + context.outputLatency + context.baseLatency,
      delayFrames: delay,
      bufferS: Math.max(0, (block * hop - latency - (rendered - delay)) / rate),
      backlogS: (captured - taken) / rate,
      underruns: Atomics.load(healthValues, HEALTH.UNDERRUNS),
      fallbackS: fallback / rate,
      droppedHops,
      hops: block,
      cpuFraction: separatedS > 0 ? modelSeconds / separatedS : 0,
      runFraction: separatedS > 0 ? runs.seconds / separatedS : 0,
      hopStats: hopLog.stats(),
      marginS,
      openS,
      original: switched === 0,
      switchedS: switched / rate,
      cpuByMinute: Array.from(minutes, (m) => (m?.audio ? Math.round((1000 * m.model) / m.audio) / 1000 : 0)),
      capturedS: captured / rate,
      recordedS: recordedFrames / rate,
      paused: recordGate.paused,
      pausedS: (pausedHops * hop) / rate,
      // Waiting audio beyond a hop and the margin will be late: say so before it is heard.
      // (Before the switch the original plays as it comes: nothing is late yet.)
      fallingBehind: switched > 0 && (fallback > previous || captured - taken > delay - latency),
    };
  }

  /** @param {string} _reason */
  async function stop(_reason) {
    stopping = true;
    const [recording] = await Promise.allSettled(loops);
    // What was captured after the last whole hop belongs to the recording too, unless the
    // recording stalled (recordLoop): it ends where audio was lost.
    const stalled = recording.status === 'rejected';
    const captured = Atomics.load(captureState, CAPTURED);
    const rest = Math.min(captured - recordedUpTo, captureCapacity);
    const last = rest > 0 && !stalled ? readCapture(captured - rest, rest) : null;
    if (keepStems && last && !(recordGate.paused && isDigitalSilence(last))) record(last);
    drainOutput();
    for (const track of stream.getTracks()) track.stop();
    source.disconnect();
    playback.disconnect();
    await context.close().catch(() => {});
    separator.dispose();
    await storing;
    const header = (/** @type {number} */ frames) => mixHeader(mixBytes(frames), rate);
    const kept = keepStems && recordedFrames > 0 && firstLost !== 0;
    const durationS = recordedFrames / rate;
    /** @type {StopResult} */
    const result = { kept, durationS };
    if (kept && firstLost > 0) {
      // A chunk was refused mid-capture: what was stored before it is the recording, joined
      // later (shared/recordings.js) as when the join below fails.
      await deleteChunksFrom(jobId, RECORDED_MIX, firstLost).catch(() => {});
      Object.assign(result, { notSaved: errorText(storeError), sampleRate: rate });
    } else if (kept) {
      try {
        await finishStem(jobId, RECORDED_MIX, header(recordedFrames));
      } catch (error) {
        // The mix's chunks stay: its job is listed as failed, and the mix is joined again
        // later (shared/recordings.js), so the only copy of what was heard is not lost.
        console.error('demixer live: the recorded mix was not saved', error);
        Object.assign(result, { notSaved: errorText(error), sampleRate: rate });
      }
    }
    // What was played (tests, bench) after the user's mix, and never at its cost; not joined
    // with a hole in it.
    if (recordRing && !storeError) {
      await finishStem(jobId, RECORDED_OUTPUT, header(outputDrained)).catch((e) => console.warn('demixer live', e));
    } else if (recordRing) await deleteChunksFrom(jobId, RECORDED_OUTPUT, 0).catch(() => {});
    if (!kept) await deleteChunks(jobId).catch(() => {});
    if (!kept && storeError) throw storeError; // nothing of the mix was stored
    return result;
  }

  return {
    health,
    setMix({ gains: next, keep: nextKeep }) {
      if (next?.length === nbStems) gainValues.set(next);
      // Off drops the recording at the end; back on only before anything was recorded (a gap
      // in the middle of a mix would not be the audio the user heard).
      if (nextKeep !== undefined) keepStems = nextKeep && (keepStems || recordedFrames === 0);
    },
    stop,
    ended,
  };
}
