// @ts-check
/**
 * The stem mixer's maths, free of the DOM and of Web Audio (tests/unit/test_mix_js.py runs it
 * under Node): what each stem's gain is from its level, mute and solo; the presets; the plain
 * sum that "Download this mix" renders; the one function through which a mix is encoded.
 */

/** @typedef {{level: number, muted: boolean, soloed: boolean}} Strip  one stem's controls */
/** @typedef {'original' | 'karaoke' | 'acappella'} Preset */

/**
 * The stems the vocal presets act on, by name (as the live view's presets: nothing here knows a
 * model's stems). @param {string} stem
 */
export const isVocal = (stem) => /vocal/i.test(stem);
export const PRESETS = /** @type {const} */ (['original', 'karaoke', 'acappella']);
/** Levels go above unity so that a quiet stem can be brought up. */
export const MAX_LEVEL = 2;
/** Frames mixed and encoded at a time: the export never holds a second whole-track copy of the mix. */
const EXPORT_CHUNK_FRAMES = 1 << 16;

/** One colour per stem, by its position in the model's stem order: any number of stems. */
const STEM_COLORS = ['#e4572e', '#3a86ff', '#4c9f70', '#f3a712', '#9b5de5', '#00b4d8', '#ef476f', '#8d99ae'];
/** @param {number} index */
export const stemColor = (index) => STEM_COLORS[index % STEM_COLORS.length];

/**
 * The gain each stem plays (and exports) at: while any stem is soloed only the soloed ones
 * sound (solo wins over mute, as on a mixing desk); otherwise every unmuted stem at its level.
 * @param {Strip[]} strips
 * @returns {number[]}
 */
export function effectiveGains(strips) {
  const soloing = strips.some((s) => s.soloed);
  return strips.map((s) => (soloing ? (s.soloed ? s.level : 0) : s.muted ? 0 : s.level));
}

/**
 * The controls a preset sets, for the stems in the model's order. Without a vocals stem the
 * vocal presets leave every stem as in the original.
 * @param {Preset} preset @param {string[]} stems
 * @returns {Strip[]}
 */
export function presetStrips(preset, stems) {
  const hasVocals = stems.some(isVocal);
  return stems.map((stem) => ({
    level: 1,
    muted: hasVocals && preset === 'karaoke' && isVocal(stem),
    soloed: hasVocals && preset === 'acappella' && isVocal(stem),
  }));
}

/**
 * The preset the controls are in, or null for a mix of the user's own.
 * @param {Strip[]} strips @param {string[]} stems
 * @returns {Preset | null}
 */
export function presetOf(strips, stems) {
  const gains = effectiveGains(strips);
  for (const preset of PRESETS) {
    const wanted = effectiveGains(presetStrips(preset, stems));
    if (wanted.every((g, i) => g === gains[i])) return preset;
  }
  return null;
}

/**
 * Frames [start, end) of the weighted sum of stems, per output channel. A stem with fewer
 * channels than the output (mono) feeds every channel from its last one; a shorter stem is
 * silent past its end.
 * @param {Float32Array[][]} stems  stems[i][channel] = samples
 * @param {number[]} gains @param {number} start @param {number} end @param {number} nbChannels
 * @returns {Float32Array[]}
 */
export function mixFrames(stems, gains, start, end, nbChannels) {
  const out = Array.from({ length: nbChannels }, () => new Float32Array(end - start));
  stems.forEach((channels, i) => {
    const gain = gains[i];
    if (!gain) return;
    out.forEach((target, c) => {
      const source = channels[Math.min(c, channels.length - 1)];
      const stop = Math.min(end, source.length);
      for (let f = start; f < stop; f++) target[f - start] += gain * source[f];
    });
  });
  return out;
}

/**
 * The whole mix in chunks of EXPORT_CHUNK_FRAMES, for `shared/encode-audio.js`, the one encoder
 * of stems, zips and mixes: only the chunk being encoded is held besides the stems.
 * @param {Float32Array[][]} stems @param {number[]} gains
 * @returns {{nbChannels: number, chunks: Generator<Float32Array[]>}}
 */
export function mixChunks(stems, gains) {
  const nbChannels = Math.max(...stems.map((channels) => channels.length));
  const frames = Math.max(...stems.map((channels) => channels[0].length));
  function* chunks() {
    for (let start = 0; start < frames; start += EXPORT_CHUNK_FRAMES) {
      yield mixFrames(stems, gains, start, Math.min(frames, start + EXPORT_CHUNK_FRAMES), nbChannels);
    }
  }
  return { nbChannels, chunks: chunks() };
}

/**
 * The sample rate a stem file declares in its header (WAV, FLAC), or null for another format:
 * the mixer's AudioContext runs at the stems' rate so that decoding does not resample them.
 * @param {Uint8Array} head  the file's first 32 bytes or more
 * @returns {number | null}
 */
export function sampleRateOf(head) {
  const tag = String.fromCharCode(...head.subarray(0, 4));
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (tag === 'RIFF' && head.length >= 28) return view.getUint32(24, true);
  // FLAC: "fLaC", a 4-byte block header, then STREAMINFO, whose rate is 20 bits at its byte 10
  if (tag === 'fLaC' && head.length >= 21) return (head[18] << 12) | (head[19] << 4) | (head[20] >> 4);
  return null;
}

/** @param {number} seconds @returns {string} m:ss */
export function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A seek target kept within the track. @param {number} seconds @param {number} duration */
export const clampTime = (seconds, duration) => Math.min(Math.max(0, seconds), duration);

/** Download name of a mix: by its preset when it is one. @param {Preset | null} preset */
export const mixSuffix = (preset) => (preset === 'acappella' ? 'a-cappella' : (preset ?? 'custom-mix'));
