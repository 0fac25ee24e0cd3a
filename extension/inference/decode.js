// @ts-check
/** Decode any audio the browser can (Web Audio), straight to the model's rate, as stereo. */

export const MAX_DURATION_S = 75 * 60; // decoded audio is held in memory: ~1.6 GB at this length
export const MAX_INPUT_BYTES = 1024 ** 3;

export class AudioInputError extends Error {}

const METADATA_TIMEOUT_MS = 10_000;

/** @param {number} seconds */
const tooLong = (seconds) =>
  new AudioInputError(
    `The audio is ${Math.round(seconds / 60)} minutes long; the limit is ${MAX_DURATION_S / 60} minutes.`,
  );

/**
 * The duration the container declares, read by a media element without decoding the audio;
 * NaN when the browser cannot tell (no DOM here, no metadata, a stream without a length).
 * @param {Blob} blob
 * @returns {Promise<number>}
 */
export async function declaredDuration(blob) {
  if (typeof document === 'undefined') return NaN;
  const url = URL.createObjectURL(blob);
  const media = document.createElement('audio');
  media.preload = 'metadata';
  try {
    return await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(NaN), METADATA_TIMEOUT_MS);
      media.onloadedmetadata = () => {
        clearTimeout(timer);
        resolve(Number.isFinite(media.duration) ? media.duration : NaN);
      };
      media.onerror = () => {
        clearTimeout(timer);
        resolve(NaN);
      };
      media.src = url;
    });
  } finally {
    media.removeAttribute('src');
    media.load();
    URL.revokeObjectURL(url);
  }
}

/**
 * @param {Blob} blob
 * @param {number} sampleRate  the model's
 * @returns {Promise<Float32Array[]>}  [left, right]
 */
export async function decodeToStereo(blob, sampleRate) {
  if (blob.size === 0) throw new AudioInputError('The file is empty.');
  if (blob.size > MAX_INPUT_BYTES) {
    throw new AudioInputError(`The file is larger than ${MAX_INPUT_BYTES / 1024 ** 3} GB.`);
  }
  // Refuse an over-long file before decoding it: decoding allocates the whole track (3 hours:
  // ~3.8 GB). The check after decoding remains for files whose length is not declared.
  const declared = await declaredDuration(blob);
  if (declared > MAX_DURATION_S) throw tooLong(declared);
  // An OfflineAudioContext needs no audio device; decodeAudioData resamples to its rate.
  const context = new OfflineAudioContext(2, 1, sampleRate);
  /** @type {AudioBuffer} */
  let buffer;
  try {
    buffer = await context.decodeAudioData(await blob.arrayBuffer());
  } catch {
    throw new AudioInputError(
      'This file could not be decoded as audio: it is corrupt or in a format this browser does not play.',
    );
  }
  if (buffer.length === 0) throw new AudioInputError('The file holds no audio samples.');
  if (buffer.duration > MAX_DURATION_S) throw tooLong(buffer.duration);
  if (buffer.numberOfChannels === 1) {
    const mono = buffer.getChannelData(0);
    return [mono, mono];
  }
  if (buffer.numberOfChannels === 2) return [buffer.getChannelData(0), buffer.getChannelData(1)];
  // Surround: let Web Audio's standard "speakers" down-mix make stereo.
  const mixer = new OfflineAudioContext(2, buffer.length, sampleRate);
  const source = mixer.createBufferSource();
  source.buffer = buffer;
  source.connect(mixer.destination);
  source.start();
  const stereo = await mixer.startRendering();
  return [stereo.getChannelData(0), stereo.getChannelData(1)];
}
