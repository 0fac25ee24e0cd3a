// @ts-check
/** The layout of the memory live.js shares with its worklets (live-worklets.js). */

/** Indices of the Int32 `health` array written by the playback node. */
export const HEALTH = Object.freeze({
  RENDERED: 0, // frames rendered since the start
  UNDERRUN_QUANTA: 1, // render quanta in which some frame fell back to the original
  UNDERRUNS: 2, // separate episodes of falling back (a run of such quanta counts once)
  FALLBACK_FRAMES: 3, // frames played from the original
  RECORDED: 4, // frames written to the output recording (when one is kept)
  SWITCHED: 5, // render frame where the cross-fade from the original to the delayed stems began (0: not yet)
  LENGTH: 6,
});

/** Index of the Int32 capture state: frames captured since the start. */
export const CAPTURED = 0;

/** Web Audio's render quantum: the playback delay is a whole number of them. */
export const QUANTUM = 128;
