// @ts-check
/**
 * Where a live hop's time goes (inference/live.js): per hop, the separator's time, how late the
 * hop started (audio already waiting beyond it: the previous hop ran long) and the slack left
 * before its first frame is due at the speakers. An underrun is a hop whose slack went negative;
 * these figures say whether it came from one long hop (the model's spread) or from a queue.
 */

/**
 * @typedef {{hops: number, processP50S: number, processP95S: number, processMaxS: number,
 *   startLagMaxS: number, slackMinS: number, lateHops: number}} HopStats
 *   processP50S/P95S/MaxS: separator.process per hop; startLagMaxS: the most audio waiting beyond
 *   a hop when it started; slackMinS: the least time left before a hop's first frame played
 *   (negative: it was late); lateHops: hops written after their first frame was due
 */

/** @param {Float64Array} sorted @param {number} q */
const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);

export function createHopLog() {
  /** @type {number[]} */
  const seconds = [];
  let startLagMaxS = 0;
  let slackMinS = Infinity;
  let lateHops = 0;
  return {
    /** @param {number} processS @param {number} startLagS @param {number} slackS */
    add(processS, startLagS, slackS) {
      seconds.push(processS);
      startLagMaxS = Math.max(startLagMaxS, startLagS);
      slackMinS = Math.min(slackMinS, slackS);
      if (slackS < 0) lateHops += 1;
    },
    /** @returns {HopStats} */
    stats() {
      const sorted = Float64Array.from(seconds).sort();
      const round = (/** @type {number} */ v) => Math.round(v * 1000) / 1000;
      return {
        hops: sorted.length,
        processP50S: round(quantile(sorted, 0.5)),
        processP95S: round(quantile(sorted, 0.95)),
        processMaxS: round(sorted.length ? sorted[sorted.length - 1] : 0),
        startLagMaxS: round(startLagMaxS),
        slackMinS: round(Number.isFinite(slackMinS) ? slackMinS : 0),
        lateHops,
      };
    },
  };
}
