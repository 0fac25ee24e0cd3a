// @ts-check
/**
 * Decode the user's audio into stereo chunks at the model's rate. Long tracks are streamed:
 * mediabunny reads the container a slice at a time and WebCodecs decodes it, so memory does not
 * grow with the track's length. Short ones, and what the streamed path cannot take (a container
 * mediabunny does not know, a codec the browser's WebCodecs lacks, surround), are decoded whole
 * by Web Audio's decodeAudioData: WebCodecs pays per packet (Chromium, 3-minute Vorbis track:
 * 3.0 s streamed vs 0.4 s whole), while a whole short track costs little memory. Where the
 * line lies is a setting (shared/settings.js streamAboveS).
 */
import { ALL_FORMATS, AudioSampleSink, BlobSource, Input } from '../vendor/mediabunny.js';
import { DEFAULT_SETTINGS } from '../shared/settings.js';
import { mp3Gapless } from './mp3-gapless.js';
import { StreamResampler } from './resample.js';

// Streamed or not, the stems of longer audio take more time and disk than a user expects from a
// click (75 minutes: ~1.3 GB of 16-bit stems); the whole-file path also holds it all in memory.
export const MAX_DURATION_S = 75 * 60;
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
 * @typedef {{estimatedSamples: number, streamed: boolean, chunks: AsyncGenerator<Float32Array[]>}} AudioStream
 *   chunks: [left, right] at the model's rate, in order
 */

const CHUNK_FRAMES = 1 << 16; // decoded packets are joined into chunks of ~1.5 s

const undecodable = () =>
  new AudioInputError(
    'This file could not be decoded as audio: it is corrupt or in a format this browser does not play.',
  );

/**
 * @param {Blob} blob
 * @param {number} sampleRate  the model's
 * @param {{streamAboveS?: number}} [options]  tracks up to this long are decoded whole (the
 *   default setting, 10 minutes: ~210 MB of samples); 0: every track is streamed
 * @returns {Promise<AudioStream>}
 */
export async function openAudio(blob, sampleRate, { streamAboveS = DEFAULT_SETTINGS.streamAboveS } = {}) {
  if (blob.size === 0) throw new AudioInputError('The file is empty.');
  if (blob.size > MAX_INPUT_BYTES) {
    throw new AudioInputError(`The file is larger than ${MAX_INPUT_BYTES / 1024 ** 3} GB.`);
  }
  const streamed = await openStreamed(blob, sampleRate, streamAboveS);
  if (streamed) return streamed;
  const waveform = await decodeToStereo(blob, sampleRate);
  return {
    estimatedSamples: waveform[0].length,
    streamed: false,
    chunks: (async function* () {
      yield waveform;
    })(),
  };
}

/**
 * The streamed path, or null when it does not apply (the caller decodes whole: decodeToStereo).
 * The first packet is decoded here, so a file that fails at once takes the whole-file path.
 * @param {Blob} blob @param {number} sampleRate @param {number} streamAboveS
 * @returns {Promise<AudioStream | null>}
 */
async function openStreamed(blob, sampleRate, streamAboveS) {
  if (typeof AudioDecoder === 'undefined') return null;
  const input = new Input({ source: new BlobSource(blob), formats: ALL_FORMATS });
  try {
    const track = await input.getPrimaryAudioTrack();
    if (!track || track.numberOfChannels > 2 || !(await track.canDecode())) {
      input.dispose();
      return null;
    }
    // The end of the last packet's presentation (as the container says), not a metadata estimate:
    // decoders output whole packets, and the frames past this end are padding.
    const duration = await input.computeDuration([track]);
    const trim = (track.codec === 'mp3' ? await mp3Gapless(blob) : null) ?? { skip: 0, drop: 0 };
    if (duration > MAX_DURATION_S) {
      input.dispose();
      throw tooLong(duration);
    }
    if (duration <= streamAboveS) {
      input.dispose();
      return null;
    }
    const samples = new AudioSampleSink(track).samples();
    const first = await samples.next();
    if (first.done) {
      input.dispose();
      return null;
    }
    return {
      estimatedSamples: Math.round((duration - (trim.skip + trim.drop) / track.sampleRate) * sampleRate),
      streamed: true,
      chunks: streamChunks(first.value, samples, { duration, ...trim }, sampleRate, input),
    };
  } catch (error) {
    input.dispose();
    if (error instanceof AudioInputError) throw error;
    return null;
  }
}

/**
 * @param {import('../vendor/mediabunny.js').AudioSample} first
 * @param {AsyncGenerator<import('../vendor/mediabunny.js').AudioSample>} samples
 * @param {{duration: number, skip: number, drop: number}} extent  the container's duration
 *   (s; decoders output whole packets, the rest is padding) and the decoder's priming and
 *   padding frames not covered by timestamps (MP3's gapless information)
 * @param {number} rateOut @param {Input} input  disposed at the end
 * @returns {AsyncGenerator<Float32Array[]>}
 */
async function* streamChunks(first, samples, extent, rateOut, input) {
  const rateIn = first.sampleRate; // the decoder's (HE-AAC decodes at twice the container's rate)
  const endFrame = Math.round(extent.duration * rateIn) - extent.skip - extent.drop;
  let toSkip = extent.skip;
  const resampler = rateIn === rateOut ? null : new StreamResampler(rateIn, rateOut, 2);
  const pending = new ChunkJoiner(CHUNK_FRAMES);
  let decoded = 0;
  try {
    /** @type {import('../vendor/mediabunny.js').AudioSample | undefined} */
    let sample = first;
    while (sample) {
      let stereo = toStereo(sample);
      if (stereo && toSkip > 0) {
        const n = Math.min(toSkip, stereo[0].length);
        toSkip -= n;
        stereo = n === stereo[0].length ? null : stereo.map((c) => c.subarray(n));
      }
      if (stereo && decoded + stereo[0].length > endFrame) {
        stereo = endFrame > decoded ? stereo.map((c) => c.subarray(0, endFrame - decoded)) : null;
      }
      decoded += stereo ? stereo[0].length : 0;
      const joined = pending.add(stereo);
      if (joined) yield resampler ? await resampler.push(joined) : joined;
      let next;
      try {
        next = await samples.next();
      } catch {
        const at = decoded / rateIn;
        throw new AudioInputError(
          `The audio could not be decoded past ${Math.floor(at / 60)}:${String(Math.floor(at % 60)).padStart(2, '0')}: the file is damaged.`,
        );
      }
      sample = next.done ? undefined : next.value;
    }
    const rest = pending.flush();
    if (rest) yield resampler ? await resampler.push(rest) : rest;
    if (resampler) yield await resampler.flush();
  } finally {
    await samples.return(undefined);
    input.dispose();
  }
}

/**
 * Planar stereo of a decoded sample (mono duplicated), without the frames before time 0 (codec
 * priming that the container marks as not presented); closes the sample.
 * @param {import('../vendor/mediabunny.js').AudioSample} sample
 * @returns {Float32Array[] | null}
 */
function toStereo(sample) {
  try {
    const skip = Math.min(Math.max(Math.round(-sample.timestamp * sample.sampleRate), 0), sample.numberOfFrames);
    const channels = Array.from({ length: sample.numberOfChannels }, (_, c) => {
      const data = new Float32Array(sample.numberOfFrames);
      sample.copyTo(data, { planeIndex: c, format: 'f32-planar' });
      return data.subarray(skip);
    });
    if (channels[0].length === 0) return null;
    return channels.length === 1 ? [channels[0], channels[0]] : channels;
  } finally {
    sample.close();
  }
}

/** Joins small decoded packets into chunks of at least `size` frames. */
class ChunkJoiner {
  /** @param {number} size */
  constructor(size) {
    this.size = size;
    /** @type {Float32Array[][]} */
    this.parts = [];
    this.length = 0;
  }

  /** @param {Float32Array[] | null} stereo @returns {Float32Array[] | null} a full chunk */
  add(stereo) {
    if (stereo) {
      this.parts.push(stereo);
      this.length += stereo[0].length;
    }
    return this.length >= this.size ? this.flush() : null;
  }

  /** @returns {Float32Array[] | null} */
  flush() {
    if (this.length === 0) return null;
    const out = [new Float32Array(this.length), new Float32Array(this.length)];
    let at = 0;
    for (const part of this.parts) {
      out[0].set(part[0], at);
      out[1].set(part[1], at);
      at += part[0].length;
    }
    this.parts = [];
    this.length = 0;
    return out;
  }
}

/**
 * Whole-file decode by Web Audio (the fallback): the decoded track is held in memory.
 * @param {Blob} blob
 * @param {number} sampleRate  the model's
 * @returns {Promise<Float32Array[]>}  [left, right]
 */
export async function decodeToStereo(blob, sampleRate) {
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
    throw undecodable();
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
