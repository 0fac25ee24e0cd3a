// @ts-check
/**
 * The mixer's practice controls as numbers, free of the DOM and of Web Audio (tests/unit/
 * test_practice_js.py runs it under Node): key (semitones and a fine tune in cents), tempo, an
 * A-B loop; where the playhead is in song time for a tempo and a loop; how long a stretched
 * render is.
 */

/** @typedef {{a: number, b: number}} Loop  song seconds, a < b */
/** @typedef {{semitones: number, cents: number, tempo: number, loop: Loop | null}} Practice */

export const KEY_RANGE = /** @type {const} */ ([-12, 12]);
/** A fine tune for songs not at A = 440: half a semitone either way reaches any tuning. */
export const CENTS_RANGE = /** @type {const} */ ([-50, 50]);
/** Tempo as a fraction of the song's: 25 % (a bar learnt note by note) to 200 %. */
export const TEMPO_RANGE = /** @type {const} */ ([0.25, 2]);
/** The shortest loop: shorter than the stretcher's block (~120 ms), a loop would not sound as one. */
export const MIN_LOOP_S = 0.25;

/** @type {Practice} */
export const NEUTRAL = Object.freeze({ semitones: 0, cents: 0, tempo: 1, loop: null });

/** @param {number} value @param {readonly [number, number]} range */
const clamp = (value, [low, high]) => Math.min(high, Math.max(low, value));

/**
 * A control's value kept in its range (a typed-in or stepped value past an end stops there).
 * @param {Practice} practice @param {Partial<Practice>} change
 * @returns {Practice}
 */
export function withPractice(practice, change) {
  const next = { ...practice, ...change };
  return {
    semitones: Math.round(clamp(next.semitones, KEY_RANGE)),
    cents: Math.round(clamp(next.cents, CENTS_RANGE)),
    tempo: clamp(next.tempo, TEMPO_RANGE),
    loop: next.loop,
  };
}

/** The pitch shift the stretcher gets, in semitones. @param {Practice} practice */
export const transposition = (practice) => practice.semitones + practice.cents / 100;

/**
 * Key and tempo as the song's: the stems play as they are, sample for sample, and the loop (if
 * any) is the plain buffer's own; only a change of key or tempo needs the stretcher.
 * @param {Practice} practice
 */
export const needsStretch = (practice) => transposition(practice) !== 0 || practice.tempo !== 1;

/**
 * A loop from two marks in either order, or null when they are too close to loop.
 * @param {number} first @param {number} second @param {number} duration
 * @returns {Loop | null}
 */
export function loopOf(first, second, duration) {
  const a = Math.max(0, Math.min(first, second));
  const b = Math.min(duration, Math.max(first, second));
  return b - a >= MIN_LOOP_S ? { a, b } : null;
}

/**
 * Where a play that began at song time `from` is after `elapsed` seconds of the context's clock
 * at `tempo`: in song time (what the display and the waveforms show), wrapped into the loop once
 * it reaches B (a play starts inside its loop: see `startOf`).
 * @param {number} from @param {number} elapsed @param {number} tempo @param {Loop | null} loop
 * @param {number} duration
 */
export function songTime(from, elapsed, tempo, loop, duration) {
  const raw = from + Math.max(0, elapsed) * tempo;
  if (loop && from < loop.b && raw >= loop.b) return loop.a + ((raw - loop.a) % (loop.b - loop.a));
  return Math.min(raw, duration);
}

/**
 * Where a play starts: at `offset`, or at A when a loop is set and `offset` is outside it (the
 * loop is what is being practised).
 * @param {number} offset @param {Loop | null} loop
 */
export const startOf = (offset, loop) => (loop && (offset < loop.a || offset >= loop.b) ? loop.a : offset);

/**
 * Frames of a render of `frames` input frames at `tempo`: the song's length over the tempo.
 * @param {number} frames @param {number} tempo
 */
export const renderedFrames = (frames, tempo) => Math.ceil(frames / tempo);

/** A signed figure as the controls show it: +3, −5, 0. @param {number} n */
export const signed = (n) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '0');

/**
 * What a mix's file name adds for its key and tempo ("" at the song's): "-key-5", "-key+3.17",
 * "-tempo75"; ASCII, for every file system.
 * @param {Practice} practice
 */
export function practiceSuffix(practice) {
  const shift = transposition(practice);
  const key = shift ? `-key${shift > 0 ? '+' : ''}${Number(shift.toFixed(2))}` : '';
  const tempo = practice.tempo !== 1 ? `-tempo${Math.round(practice.tempo * 100)}` : '';
  return key + tempo;
}
