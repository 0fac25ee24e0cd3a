// @ts-check
/**
 * The live host: at most one live session (inference/live.js) at a time, next to the offline
 * job queue (host.js) in the same document. It has its own onnxruntime session: a live hop must
 * not wait behind an offline job's state. It reports its state every REPORT_MS and its end once.
 */
import { MSG } from '../shared/messages.js';
import { createRunner } from './model-runner.js';
import { openLiveContext, startLive, warmModel } from './live.js';
import { holdForLive } from './live-priority.js';
import { t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {import('../shared/messages.js').LiveCaptureData} LiveCaptureData
 * @typedef {import('./host.js').Report} Report
 */

const REPORT_MS = 500;
/**
 * How long a capture waits for the model's warm-up before opening the tab's stream anyway: its id
 * expires 10 s after the popup asked for it (Chromium's DesktopStreamsRegistry,
 * kApprovedStreamTimeToLiveSeconds). Past this the capture starts with the original playing and
 * the model takes over when it is ready.
 */
const STREAM_WAIT_MS = 6000;

/**
 * @typedef {{descriptor: import('./separator.js').ModelDescriptor, context: AudioContext,
 *   model: Promise<import('./model-runner.js').ModelRunner>}} Prepared
 *   model: the runner, warm; context: the live AudioContext, worklets loaded, suspended
 */

/**
 * The model's descriptor, or a message that says what is wrong with the build: a descriptor
 * without the `live` key predates live demixing (builds since write `live: null` for a model that
 * is too slow), which is not the same as a model too slow for it.
 * @param {string} url
 */
async function loadLiveDescriptor(url) {
  const response = await fetch(url).catch(() => null);
  if (!response?.ok) throw new Error(t('liveModelMissing'));
  const descriptor = await response.json();
  if (!('live' in descriptor)) throw new Error(t('liveModelStale'));
  if (!descriptor.live) throw new Error(t('liveTooSlow', descriptor.name));
  return descriptor;
}

/**
 * @param {Report} report
 * @param {{modelBase: string, workletUrl: string}} options
 */
export function createLiveHost(report, { modelBase, workletUrl }) {
  /** @type {{data: LiveCaptureData, session: import('./live.js').LiveSession | null, stopping: boolean,
   *   gains: number[], stems: string[], release: () => void} | null} */
  let current = null;
  /** @type {Promise<import('./model-runner.js').ModelRunner> | null} */
  let runner = null;
  /** @type {Promise<import('./model-runner.js').ModelRunner> | null} the runner, once warm */
  let warm = null;
  /** @type {Promise<Prepared> | null} the next capture's, made when the popup opens */
  let prepared = null;

  /**
   * The descriptor, a suspended AudioContext for the next capture and the model loading and
   * warming (once per runner). Nothing is captured yet: the tab plays on, unmuted.
   * @param {number} [threads]
   * @returns {Promise<Prepared>}
   */
  function prepare(threads) {
    prepared ??= (async () => {
      const descriptor = await loadLiveDescriptor(new URL('model.json', modelBase).href);
      runner ??= createRunner(new URL(descriptor.file, modelBase).href, { threads });
      const loading = runner;
      warm ??= loading.then(async (r) => {
        await warmModel(r, descriptor);
        return r;
      });
      warm.catch(() => {
        // a model that failed to load is loaded again by the next capture
        if (runner === loading) runner = warm = null;
      });
      const context = await openLiveContext(descriptor.sampleRate, workletUrl);
      return { descriptor, context, model: warm };
    })();
    prepared.catch(() => {
      prepared = null;
    });
    return prepared;
  }

  /**
   * @param {LiveCaptureData} data
   * @param {string} reason  why it ended, for the user
   * @param {string} [error]
   */
  async function finish(data, reason, error) {
    const live = current;
    if (!live || live.data.jobId !== data.jobId || live.stopping) return;
    live.stopping = true;
    const health = live.session?.health() ?? null;
    /** @type {import('./live.js').StopResult} */
    let stopped = { kept: false, durationS: 0 };
    try {
      if (live.session) stopped = await live.session.stop(reason);
    } catch (failure) {
      error ??= errorText(failure);
    }
    current = null;
    live.release();
    report(MSG.LIVE_ENDED, { jobId: data.jobId, name: data.name, ...stopped, reason, health, error });
  }

  return {
    /**
     * Ready the next capture (the popup opened, or the keyboard command fired): errors are the
     * capture's to report.
     * @param {import('../shared/messages.js').LivePrepareData} [data]
     */
    prepare(data) {
      if (!current) prepare(data?.threads).catch((e) => console.warn('demixer live: not prepared', e));
    },
    /**
     * @param {() => Promise<MediaStream>} openStream  the platform's way to the tab's audio
     * @param {LiveCaptureData} data
     */
    async capture(openStream, data) {
      if (current) {
        report(MSG.LIVE_ENDED, {
          jobId: data.jobId, name: data.name, kept: false, durationS: 0, health: null, reason: 'refused',
          error: t('liveAlreadyRunning'),
        }); // prettier-ignore
        return;
      }
      // From before the model's warm-up ends: it and the first hops must not share the cores.
      current = { data, session: null, stopping: false, gains: [], stems: [], release: holdForLive() };
      const live = current;
      /** @type {{stream: MediaStream | null}} set once opened (inside startLive) */
      const opened = { stream: null };
      /** @type {Prepared | null} */
      let ready = null;
      try {
        const asked = performance.now();
        ready = await prepare(data.threads);
        prepared = null; // this capture's: the next one gets its own context
        const { descriptor, context, model } = ready;
        live.stems = descriptor.stems;
        live.gains = data.gains?.length === descriptor.stems.length ? data.gains : descriptor.stems.map(() => 1);
        // The model warms before the tab is muted, as long as the stream id lasts (a model that
        // fails to load fails the capture here, before anything is muted).
        const left = STREAM_WAIT_MS - (performance.now() - asked);
        await Promise.race([model, new Promise((resolve) => setTimeout(resolve, Math.max(0, left)))]);
        await context.resume(); // playing before the capture mutes the tab
        const opening = async () => {
          opened.stream = await openStream();
          return opened.stream;
        };
        live.session = await startLive(opening, {
          descriptor, model, context, jobId: data.jobId, keep: data.keep,
          recordOutput: data.recordOutput, gains: live.gains,
        }); // prettier-ignore
      } catch (failure) {
        console.error('demixer live start', failure);
        for (const track of opened.stream?.getTracks() ?? []) track.stop();
        if (ready && !live.session) await ready.context.close().catch(() => {});
        const text = errorText(failure);
        await finish(data, 'failed', t('liveCouldNotDemix', text));
        return;
      }
      const session = live.session;
      if (live.stopping) {
        await session.stop('stopped while starting').catch(() => {}); // finish() has reported the end
        return;
      }
      session.ended.then((reason) => finish(data, reason));
      const timer = setInterval(() => {
        if (current !== live || live.stopping) {
          clearInterval(timer);
          return;
        }
        report(MSG.LIVE_STATE, {
          jobId: data.jobId, tabId: data.tabId, name: data.name, stems: live.stems, gains: live.gains,
          keep: data.keep, health: session.health(),
        }); // prettier-ignore
      }, REPORT_MS);
    },
    /** @param {string} [reason] */
    end(reason = 'stopped') {
      if (current) return finish(current.data, reason);
      return undefined;
    },
    /** @param {import('../shared/messages.js').LiveMixData} mix */
    mix(mix) {
      if (!current) return;
      if (mix.gains?.length === current.stems.length) current.gains = mix.gains;
      if (mix.keep !== undefined) current.data.keep = mix.keep;
      current.session?.setMix(mix);
    },
  };
}
