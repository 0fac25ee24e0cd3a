// @ts-check
/**
 * Offline jobs give way to live demixing. A live hop must be separated within its margin
 * (live.js), while an offline job's model runs take the same cores and, in Chrome, the same
 * onnxruntime worker, whose runs queue one behind the other (a 2-patch run takes seconds): the
 * live output would fall back to the original for as long as the job runs. So while a live
 * session holds the cores, each offline model run waits before it starts (the one in flight
 * finishes), and the job goes on when the session ends. Both hosts live in the same document
 * (the offscreen document, or Firefox's background page), so this module's state is theirs.
 */
import { CancelledError } from './cancelled.js';

let holders = 0;
/** @type {Set<() => void>} */
const waiting = new Set();

/**
 * A live session takes the cores. Returns its release (once is enough; more calls do nothing).
 * @returns {() => void}
 */
export function holdForLive() {
  holders += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders -= 1;
    if (holders > 0) return;
    for (const resume of [...waiting]) resume();
  };
}

/** Whether a live session holds the cores now. */
export const liveHolds = () => holders > 0;

/**
 * Resolves once no live session holds the cores; rejects with CancelledError if `signal` aborts
 * meanwhile (a paused job can be cancelled).
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
export function whenLiveEnds(signal) {
  if (holders === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const resume = () => {
      waiting.delete(resume);
      signal.removeEventListener('abort', cancel);
      resolve();
    };
    const cancel = () => {
      waiting.delete(resume);
      reject(new CancelledError());
    };
    if (signal.aborted) {
      cancel();
      return;
    }
    waiting.add(resume);
    signal.addEventListener('abort', cancel, { once: true });
  });
}

/**
 * `runner` for an offline job: each run first waits for a live session to end, telling
 * `onPause(true)` when the job starts waiting and `onPause(false)` when it goes on (once each
 * for a worker pool's runs that wait side by side).
 * @param {import('./model-runner.js').ModelRunner} runner
 * @param {AbortSignal} signal  the job's
 * @param {(paused: boolean) => void} onPause
 * @returns {import('./model-runner.js').ModelRunner}
 */
export function givingWayToLive(runner, signal, onPause) {
  let waitingRuns = 0;
  const turn = async () => {
    if (!liveHolds()) return;
    if (++waitingRuns === 1) onPause(true);
    try {
      await whenLiveEnds(signal);
    } finally {
      if (--waitingRuns === 0 && !signal.aborted) onPause(false);
    }
  };
  return {
    get threads() {
      return runner.threads;
    },
    get compute() {
      return runner.compute;
    },
    run: async (data, dims) => {
      await turn();
      return runner.run(data, dims);
    },
    runNamed: async (feeds) => {
      await turn();
      return runner.runNamed(feeds);
    },
    release: () => runner.release(),
    recycle: runner.recycle,
  };
}
