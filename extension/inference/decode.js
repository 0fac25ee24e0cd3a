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
import { DEFAULT_SETTINGS, MAX_DURATION_S } from '../shared/settings.js';
import { SampleCheck } from '../shared/bad-samples.js';
import { mp3Gapless } from './mp3-gapless.js';
import { StreamResampler } from './resample.js';
import { joinPlanar } from './samples.js';
import { t } from '../shared/i18n.js';

// What Web Audio (our resampler, the whole-file decoder) accepts; beyond it a file is not music
// (a WAV declaring 1 Hz), and the browser's own message ("Unable to decode audio data") says nothing.
const MIN_RATE_HZ = 3000;
const MAX_RATE_HZ = 768_000;

export class AudioInputError extends Error {}

/** The size limit as people write it: "1 GB", "64 MB". @param {number} bytes */
export const limitText = (bytes) =>
  bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0 ? t('unitGigabytes', bytes / 1024 ** 3) : t('unitMegabytes', Math.round(bytes / 1024 ** 2));

const METADATA_TIMEOUT_MS = 10_000;

/** @param {number} seconds */
const tooLong = (seconds) =>
  new AudioInputError(
    t('decodeTooLong', Math.round(seconds / 60), MAX_DURATION_S / 60),
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
 * @typedef {{estimatedSamples: number, streamed: boolean, chunks: AsyncGenerator<Float32Array[]>,
 *   check: SampleCheck, inputRate: number}} AudioStream
 *   chunks: [left, right] at the model's rate, in order, finite and within ±SAMPLE_BOUND;
 *   inputRate: the file's own sample rate (the stems go back to it), the model's when the
 *   container does not say
 *   check: what was replaced so far (complete once `chunks` has ended)
 */

/** A verdict on replaced samples mid-track (streamed) after this many seconds of audio. */
const JUDGE_AFTER_S = 10;

const CHUNK_FRAMES = 1 << 16; // decoded packets are joined into chunks of ~1.5 s

/**
 * @param {Blob} blob
 * @param {number} sampleRate  the model's
 * @param {{streamAboveS?: number, maxInputBytes?: number}} [options]  streamAboveS: tracks up to
 *   this long are decoded whole (the default setting, 10 minutes: ~210 MB of samples); 0: every
 *   track is streamed
 * @returns {Promise<AudioStream>}
 */
export async function openAudio(
  blob,
  sampleRate,
  { streamAboveS = DEFAULT_SETTINGS.streamAboveS, maxInputBytes = DEFAULT_SETTINGS.maxInputBytes } = {},
) {
  if (blob.size === 0) throw new AudioInputError(t('decodeEmpty'));
  if (blob.size > maxInputBytes) {
    throw new AudioInputError(t('decodeTooLarge', limitText(maxInputBytes)));
  }
  // Decoded samples enter the pipeline here, on both paths: each is checked before any use (the
  // streamed path before its resampler, which would spread a NaN over its filter's length).
  const check = new SampleCheck(JUDGE_AFTER_S * sampleRate * 2);
  const { stream, duration, inputRate } = await openStreamed(blob, sampleRate, streamAboveS, check);
  if (stream) return stream;
  const waveform = await decodeToStereo(blob, sampleRate, duration);
  check.clean(waveform);
  check.verdict(true);
  return {
    estimatedSamples: waveform[0].length,
    streamed: false,
    check,
    inputRate: inputRate || sampleRate,
    chunks: (async function* () {
      yield waveform;
    })(),
  };
}

/**
 * The streamed path, or no stream when it does not apply (the caller decodes whole:
 * decodeToStereo), with the duration when the container told it (else NaN). The first packet is
 * decoded here, so a file that fails at once takes the whole-file path.
 * @param {Blob} blob @param {number} sampleRate @param {number} streamAboveS
 * @param {SampleCheck} check
 * @returns {Promise<{stream: AudioStream | null, duration: number, inputRate: number}>}  inputRate: 0
 *   when the container was not read
 */
async function openStreamed(blob, sampleRate, streamAboveS, check) {
  if (typeof AudioDecoder === 'undefined') return { stream: null, duration: NaN, inputRate: 0 };
  const input = new Input({ source: new BlobSource(blob), formats: ALL_FORMATS });
  let duration = NaN;
  let inputRate = 0;
  let handedOver = false; // to streamChunks, which disposes of the input when it ends
  try {
    const track = await input.getPrimaryAudioTrack();
    if (track && (track.sampleRate < MIN_RATE_HZ || track.sampleRate > MAX_RATE_HZ)) {
      throw new AudioInputError(
        t('decodeSampleRate', track.sampleRate, MIN_RATE_HZ, MAX_RATE_HZ),
      );
    }
    inputRate = track?.sampleRate ?? 0;
    if (!track || track.numberOfChannels > 2 || !(await track.canDecode())) return { stream: null, duration, inputRate };
    // The end of the last packet's presentation (as the container says), not a metadata estimate:
    // decoders output whole packets, and the frames past this end are padding.
    duration = await input.computeDuration([track]);
    if (duration > MAX_DURATION_S) throw tooLong(duration);
    if (duration <= streamAboveS) return { stream: null, duration, inputRate };
    const trim = (track.codec === 'mp3' ? await mp3Gapless(blob) : null) ?? { skip: 0, drop: 0 };
    const samples = new AudioSampleSink(track).samples();
    const first = await samples.next();
    if (first.done) return { stream: null, duration, inputRate };
    handedOver = true;
    const stream = {
      estimatedSamples: Math.round((duration - (trim.skip + trim.drop) / track.sampleRate) * sampleRate),
      streamed: true,
      chunks: streamChunks(first.value, samples, { duration, ...trim }, sampleRate, input, check),
      check,
      // the decoder's (HE-AAC decodes at twice the container's rate)
      inputRate: first.value.sampleRate,
    };
    return { stream, duration, inputRate };
  } catch (error) {
    if (error instanceof AudioInputError) throw error;
    return { stream: null, duration: NaN, inputRate };
  } finally {
    if (!handedOver) input.dispose();
  }
}

/**
 * @param {import('../vendor/mediabunny.js').AudioSample} first
 * @param {AsyncGenerator<import('../vendor/mediabunny.js').AudioSample>} samples
 * @param {{duration: number, skip: number, drop: number}} extent  the container's duration
 *   (s; decoders output whole packets, the rest is padding) and the decoder's priming and
 *   padding frames not covered by timestamps (MP3's gapless information)
 * @param {number} rateOut @param {Input} input  disposed at the end
 * @param {SampleCheck} check  cleans each decoded packet, may refuse the track
 * @returns {AsyncGenerator<Float32Array[]>}
 */
async function* streamChunks(first, samples, extent, rateOut, input, check) {
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
      if (stereo) check.clean(stereo);
      const joined = pending.add(stereo);
      if (joined) {
        check.verdict(false);
        yield resampler ? await resampler.push(joined) : joined;
      }
      let next;
      try {
        next = await samples.next();
      } catch {
        const at = decoded / rateIn;
        throw new AudioInputError(
          t('decodeDamagedAt', `${Math.floor(at / 60)}:${String(Math.floor(at % 60)).padStart(2, '0')}`),
        );
      }
      sample = next.done ? undefined : next.value;
    }
    const rest = pending.flush();
    if (rest) yield resampler ? await resampler.push(rest) : rest;
    check.verdict(true);
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
    const out = joinPlanar(this.parts, 2);
    this.parts = [];
    this.length = 0;
    return out;
  }
}

/**
 * Whole-file decode by Web Audio (the fallback): the decoded track is held in memory.
 * @param {Blob} blob
 * @param {number} sampleRate  the model's
 * @param {number} [knownDuration]  seconds, when the container was already read (openStreamed)
 * @returns {Promise<Float32Array[]>}  [left, right]
 */
export async function decodeToStereo(blob, sampleRate, knownDuration = NaN) {
  // Refuse an over-long file before decoding it: decoding allocates the whole track (3 hours:
  // ~3.8 GB). The check after decoding remains for files whose length is not declared.
  const declared = Number.isFinite(knownDuration) ? knownDuration : await declaredDuration(blob);
  if (declared > MAX_DURATION_S) throw tooLong(declared);
  // An OfflineAudioContext needs no audio device; decodeAudioData resamples to its rate.
  const context = new OfflineAudioContext(2, 1, sampleRate);
  /** @type {AudioBuffer} */
  let buffer;
  try {
    buffer = await context.decodeAudioData(await blob.arrayBuffer());
  } catch {
    throw new AudioInputError(
      t('decodeUnreadable'),
    );
  }
  if (buffer.length === 0) throw new AudioInputError(t('decodeNoSamples'));
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
