// @ts-check
/**
 * Pausing with the tab's media. Chrome's tab capture goes on delivering frames when the page's
 * media is paused: digital zeros. Without a permission to watch the page's elements, that silence
 * is the sign: a run of all-zero hops of at least `pauseFrames` pauses the capture (no recording,
 * no model), the first hop with a non-zero sample resumes it.
 *
 * The gate is a pure function of the hop sequence, so the recording loop and the separation loop
 * each run their own copy and take the same decisions for the same hops. Silent hops are held
 * back until the run is decided: a short silence in the music is part of the music (released
 * with the next sound), a long one is the pause (dropped: the recording skips it whole).
 */

/**
 * @typedef {{
 *   push(hop: Float32Array[]): {release: Float32Array[][], paused: boolean},
 *   readonly paused: boolean,
 * }} SilenceGate
 *   push: takes the next hop; release: the hops to use now, in order (held silent hops first,
 *   then this one; none while silence is undecided or paused); paused: this hop is in a pause.
 */

/** @param {Float32Array[]} hop */
export function isDigitalSilence(hop) {
  for (const channel of hop) {
    for (let i = 0; i < channel.length; i++) if (channel[i] !== 0) return false;
  }
  return true;
}

/**
 * @param {number} pauseFrames  a silence at least this long is a pause (counted in whole hops)
 * @returns {SilenceGate}
 */
export function createSilenceGate(pauseFrames) {
  /** @type {Float32Array[][]} */
  let held = [];
  let heldFrames = 0;
  let paused = false;
  return {
    get paused() {
      return paused;
    },
    push(hop) {
      if (!isDigitalSilence(hop)) {
        const release = [...held, hop];
        held = [];
        heldFrames = 0;
        paused = false;
        return { release, paused: false };
      }
      if (paused) return { release: [], paused: true };
      held.push(hop);
      heldFrames += hop[0].length;
      if (heldFrames >= pauseFrames) {
        held = [];
        heldFrames = 0;
        paused = true;
      }
      return { release: [], paused };
    },
  };
}
