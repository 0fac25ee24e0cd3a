// @ts-check
/**
 * The live host: at most one live session (inference/live.js) at a time, next to the offline
 * job queue (host.js) in the same document. It has its own onnxruntime session: a live hop must
 * not wait behind an offline job's state. It reports its state every REPORT_MS and its end once.
 */
import { MSG } from '../shared/messages.js';
import { createRunner } from './model-runner.js';
import { startLive } from './live.js';
import { holdForLive } from './live-priority.js';
import { t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {import('../shared/messages.js').LiveCaptureData} LiveCaptureData
 * @typedef {import('./host.js').Report} Report
 */

const REPORT_MS = 500;

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
      // From before the model loads: its timing of the first hops (live.js) must not share the cores.
      current = { data, session: null, stopping: false, gains: [], stems: [], release: holdForLive() };
      const live = current;
      /** @type {MediaStream | null} */
      let stream = null;
      try {
        const descriptor = await loadLiveDescriptor(new URL('model.json', modelBase).href);
        live.stems = descriptor.stems;
        live.gains = data.gains?.length === descriptor.stems.length ? data.gains : descriptor.stems.map(() => 1);
        // A tab's stream id expires seconds after it was given: the stream is opened before the
        // model loads (which takes longer).
        stream = await openStream();
        runner ??= createRunner(new URL(descriptor.file, modelBase).href, { threads: data.threads });
        live.session = await startLive(stream, {
          descriptor, runner: await runner, workletUrl, jobId: data.jobId, keep: data.keep,
          recordOutput: data.recordOutput, gains: live.gains,
        }); // prettier-ignore
      } catch (failure) {
        console.error('demixer live start', failure);
        for (const track of stream?.getTracks() ?? []) track.stop();
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
