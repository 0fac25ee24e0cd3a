// @ts-check
/**
 * Audio files in the formats people use, from planar float chunks: the one entry point for the
 * stems, the zip and the mixer's export. `encodeAudio` pulls one chunk at a time from its source
 * and keeps only the encoded bytes, so a track is never held whole as samples; the result is
 * held once, encoded (a Blob at the end).
 *
 * - WAV (16/24-bit, 32-bit float): wav.js, the same rounding as the stored stems.
 * - FLAC: libFLAC (vendor/flac-encoder.worker.js, from @mediabunny/flac-encoder); 16-bit from a
 *   16-bit source is exact; 24-bit otherwise.
 * - MP3: LAME (vendor/mp3-encoder.worker.js, from @mediabunny/mp3-encoder), constant bit rate.
 * - Opus (Ogg) and AAC (MP4): the browser's WebCodecs encoder through mediabunny's muxers,
 *   offered only where `AudioEncoder.isConfigSupported` says yes for the stem's rate.
 * The two WASM encoders run in their own workers (started from files: the CSP refuses the
 * blob: URLs their npm packages use), spoken to in their packages' worker protocol.
 */
import { bytesPerSample, encodeSamples, wavHeader } from './wav.js';
import { t } from './i18n.js';
import { AudioSample, AudioSampleSource, BufferTarget, Mp4OutputFormat, OggOutputFormat, Output } from '../vendor/mediabunny.js';

/** @typedef {'pcm16' | 'pcm24' | 'float32' | 'flac' | 'mp3' | 'opus' | 'aac'} FormatId */
/**
 * @typedef {{id: FormatId, labelKey: string, extension: string, mime: string, lossless: boolean,
 *   bitrate?: number}} AudioFormat  labelKey: its name in _locales; bitrate: bits/s (lossy)
 */

/** @type {readonly AudioFormat[]} */
export const FORMATS = Object.freeze([
  { id: 'pcm16', labelKey: 'formatsWav16', extension: 'wav', mime: 'audio/wav', lossless: true },
  { id: 'pcm24', labelKey: 'formatsWav24', extension: 'wav', mime: 'audio/wav', lossless: true },
  { id: 'float32', labelKey: 'formatsWavFloat', extension: 'wav', mime: 'audio/wav', lossless: true },
  { id: 'flac', labelKey: 'formatsFlac', extension: 'flac', mime: 'audio/flac', lossless: true },
  // 256 kb/s: transparent for most music and still a quarter of 16-bit WAV
  { id: 'mp3', labelKey: 'formatsMp3', extension: 'mp3', mime: 'audio/mpeg', lossless: false, bitrate: 256_000 },
  // Known: Firefox saves an Ogg download as ".ogx", whatever the name given (docs/usage.md)
  { id: 'opus', labelKey: 'formatsOpus', extension: 'opus', mime: 'audio/ogg; codecs=opus', lossless: false, bitrate: 160_000 },
  { id: 'aac', labelKey: 'formatsAac', extension: 'm4a', mime: 'audio/mp4', lossless: false, bitrate: 256_000 },
]);

/** A format the browser cannot encode, or a rate the format cannot hold: a message for the user. */
export class FormatError extends Error {}

/** @param {string} id @returns {AudioFormat} */
export function formatById(id) {
  const format = FORMATS.find((f) => f.id === id);
  if (!format) throw new FormatError(t('formatsUnknown', id, FORMATS.map((f) => f.id).join(', ')));
  return format;
}

/** The WAV sample formats, which are stored as they are (shared/store.js). */
const WAV_IDS = new Set(['pcm16', 'pcm24', 'float32']);
/** @param {string} id @returns {id is import('./wav.js').SampleFormat} */
export const isWav = (id) => WAV_IDS.has(id);

/** MPEG-1/2/2.5 layer III rates (LAME refuses others). */
const MP3_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];

/** WebCodecs codec strings. */
const WEBCODECS = /** @type {const} */ ({ opus: 'opus', aac: 'mp4a.40.2' });

/**
 * Whether this browser can encode `id` at this rate: `null` when it can, else why not.
 * @param {FormatId} id @param {number} sampleRate @param {number} channels
 * @returns {Promise<string | null>}
 */
export async function unsupportedReason(id, sampleRate, channels) {
  const format = formatById(id);
  if (id === 'mp3' && !MP3_RATES.includes(sampleRate)) {
    return t('formatsMp3Rate', sampleRate);
  }
  if (id !== 'opus' && id !== 'aac') return null;
  const name = id === 'opus' ? 'Opus' : 'AAC';
  if (typeof AudioEncoder === 'undefined') return t('formatsNoWebCodecs', name);
  const config = { codec: WEBCODECS[id], sampleRate, numberOfChannels: channels, bitrate: format.bitrate };
  const answer = await AudioEncoder.isConfigSupported(config).catch(() => null);
  return answer?.supported ? null : t('formatsCannotEncode', name, sampleRate);
}

/**
 * @typedef {{format: FormatId, sampleRate: number, channels: number, depth?: 16 | 24}} EncodeSpec
 *   depth: FLAC's bits per sample (default 16; 24 for a 24-bit or float source)
 * @typedef {AsyncIterable<Float32Array[]> | Iterable<Float32Array[]>} ChunkSource  planar chunks,
 *   `channels` arrays of one length each
 */

/**
 * Encode planar float chunks into one file of `spec.format`.
 * @param {EncodeSpec} spec @param {ChunkSource} chunks
 * @returns {Promise<Blob>}  of the format's MIME type
 */
export async function encodeAudio(spec, chunks) {
  const format = formatById(spec.format);
  const reason = await unsupportedReason(format.id, spec.sampleRate, spec.channels);
  if (reason) throw new FormatError(reason);
  if (isWav(format.id)) return encodeWav(format.id, spec, chunks);
  if (format.id === 'flac') return encodeFlac(spec, chunks);
  if (format.id === 'mp3') return encodeMp3(spec, chunks, /** @type {number} */ (format.bitrate));
  return encodeWebCodecs(format, spec, chunks);
}

/**
 * @param {import('./wav.js').SampleFormat} sampleFormat @param {EncodeSpec} spec @param {ChunkSource} chunks
 */
async function encodeWav(sampleFormat, spec, chunks) {
  /** @type {BlobPart[]} */
  const parts = [];
  let frames = 0;
  for await (const channels of chunks) {
    parts.push(encodeSamples(channels, sampleFormat));
    frames += channels[0].length;
  }
  const dataBytes = frames * spec.channels * bytesPerSample(sampleFormat);
  return new Blob([wavHeader(dataBytes, spec.sampleRate, spec.channels, sampleFormat), ...parts], { type: 'audio/wav' });
}

/** One of the vendored encoder workers, spoken to in its package's protocol ({id, command}). */
class EncoderWorker {
  /** @param {string} file  under vendor/ */
  constructor(file) {
    this.worker = new Worker(new URL(`../vendor/${file}`, import.meta.url));
    this.nextId = 0;
    /** @type {Map<number, {resolve: (data: any) => void, reject: (error: unknown) => void}>} */
    this.pending = new Map();
    /** @type {Error | null} */
    this.failure = null;
    this.worker.addEventListener('message', ({ data }) => {
      const waiting = this.pending.get(data.id);
      this.pending.delete(data.id);
      if (data.success) waiting?.resolve(data.data);
      else waiting?.reject(data.error instanceof Error ? data.error : new Error(String(data.error)));
    });
    this.worker.addEventListener('error', (event) => {
      this.failure = new Error(t('formatsEncoderCrashed', event.message || '?'));
      for (const { reject } of this.pending.values()) reject(this.failure);
      this.pending.clear();
    });
  }

  /** @param {object} command @param {Transferable[]} [transfer] @returns {Promise<any>} */
  send(command, transfer = []) {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, command }, transfer);
    });
  }

  close() {
    this.worker.terminate();
  }
}

/**
 * A float sample as a signed integer of `bits`, rounded and clamped as wav.js does (so 16-bit
 * FLAC equals the 16-bit WAV sample for sample).
 * @param {number} x @param {number} bits
 */
function toInt(x, bits) {
  const full = 2 ** (bits - 1);
  const v = x > 1 ? 1 : x < -1 ? -1 : x === x ? x : 0;
  return Math.round(v < 0 ? v * full : v * (full - 1));
}

/** @param {EncodeSpec} spec @param {ChunkSource} chunks */
async function encodeFlac(spec, chunks) {
  const bits = spec.depth ?? 16;
  const worker = new EncoderWorker('flac-encoder.worker.js');
  try {
    const init = { numberOfChannels: spec.channels, sampleRate: spec.sampleRate, bitsPerSample: bits };
    const { ctx, header } = await worker.send({ type: 'init', data: init });
    /** @type {BlobPart[]} */
    const frames = [];
    const keep = (/** @type {{packets: {encodedData: ArrayBuffer}[]}} */ { packets }) =>
      frames.push(...packets.map((p) => p.encodedData));
    let total = 0;
    const shift = 2 ** (32 - bits); // the worker takes 32-bit samples and shifts them down
    for await (const channels of chunks) {
      const n = channels[0].length;
      if (n === 0) continue;
      const interleaved = new Int32Array(n * spec.channels);
      for (let i = 0, at = 0; i < n; i++) {
        for (const channel of channels) interleaved[at++] = toInt(channel[i], bits) * shift;
      }
      keep(await worker.send({ type: 'encode', data: { ctx, audioData: interleaved.buffer, numSamples: n } }, [interleaved.buffer]));
      total += n;
    }
    keep(await worker.send({ type: 'flush', data: { ctx } }));
    return new Blob([withTotalSamples(new Uint8Array(header), total), ...frames], { type: 'audio/flac' });
  } finally {
    worker.close();
  }
}

/**
 * libFLAC writes STREAMINFO before the first sample (its total: 0, "unknown") and, without a
 * seekable output, never rewrites it; the total is known here, and decoders use it for the length.
 * @param {Uint8Array} header  "fLaC", then STREAMINFO's block header and its 34 bytes
 * @param {number} total  samples per channel
 */
function withTotalSamples(header, total) {
  const out = header.slice();
  // STREAMINFO starts at byte 8; its 36-bit total begins in the low nibble of byte 8 + 13.
  out[21] = (out[21] & 0xf0) | (Math.floor(total / 2 ** 32) & 0x0f);
  new DataView(out.buffer).setUint32(22, total >>> 0);
  return out;
}

/** @param {EncodeSpec} spec @param {ChunkSource} chunks @param {number} bitrate */
async function encodeMp3(spec, chunks, bitrate) {
  const worker = new EncoderWorker('mp3-encoder.worker.js');
  try {
    await worker.send({ type: 'init', data: { numberOfChannels: spec.channels, sampleRate: spec.sampleRate, bitrate } });
    /** @type {BlobPart[]} */
    const parts = [];
    for await (const channels of chunks) {
      const n = channels[0].length;
      if (n === 0) continue;
      // LAME takes 16-bit planes, one after the other
      const planes = new Int16Array(n * spec.channels);
      channels.forEach((channel, c) => {
        for (let i = 0; i < n; i++) planes[c * n + i] = toInt(channel[i], 16);
      });
      const { encodedData } = await worker.send({ type: 'encode', data: { audioData: planes.buffer, numberOfFrames: n } }, [planes.buffer]);
      parts.push(encodedData);
    }
    parts.push((await worker.send({ type: 'flush' })).flushedData);
    // LAME's output is the MPEG stream itself: its frames, one after another, are the file.
    return new Blob(parts, { type: 'audio/mpeg' });
  } finally {
    worker.close();
  }
}

/** @param {AudioFormat} format @param {EncodeSpec} spec @param {ChunkSource} chunks */
async function encodeWebCodecs(format, spec, chunks) {
  const target = new BufferTarget();
  const container = format.id === 'opus' ? new OggOutputFormat() : new Mp4OutputFormat();
  const output = new Output({ format: container, target });
  const source = new AudioSampleSource({ codec: format.id === 'opus' ? 'opus' : 'aac', bitrate: format.bitrate });
  output.addAudioTrack(source);
  await output.start();
  try {
    let written = 0;
    for await (const channels of chunks) {
      const n = channels[0].length;
      if (n === 0) continue;
      const data = new Float32Array(n * spec.channels);
      channels.forEach((channel, c) => data.set(channel, c * n));
      const sample = new AudioSample({
        data, format: 'f32-planar', numberOfChannels: spec.channels, sampleRate: spec.sampleRate,
        timestamp: written / spec.sampleRate,
      });
      await source.add(sample);
      sample.close();
      written += n;
    }
    await output.finalize();
  } catch (error) {
    await output.cancel().catch(() => {});
    throw error;
  }
  return new Blob([/** @type {ArrayBuffer} */ (target.buffer)], { type: format.mime });
}

/**
 * A stored WAV stem (our own 44-byte header: wav.js) as planar float chunks, read a slice of
 * the Blob at a time (the Blob stays on disk).
 * @param {Blob} wav
 * @returns {Promise<{sampleRate: number, channels: number, sampleFormat: import('./wav.js').SampleFormat,
 *   chunks: AsyncGenerator<Float32Array[]>}>}
 */
export async function readWav(wav) {
  const head = new DataView(await wav.slice(0, 44).arrayBuffer());
  const tag = head.getUint16(20, true);
  const channels = head.getUint16(22, true);
  const sampleRate = head.getUint32(24, true);
  const bits = head.getUint16(34, true);
  /** @type {import('./wav.js').SampleFormat} */
  const sampleFormat = tag === 3 ? 'float32' : bits === 24 ? 'pcm24' : 'pcm16';
  const bytes = bits / 8;
  const frameBytes = bytes * channels;
  const sliceFrames = 1 << 16;
  async function* chunks() {
    for (let at = 44; at + frameBytes <= wav.size; at += sliceFrames * frameBytes) {
      const view = new DataView(await wav.slice(at, Math.min(at + sliceFrames * frameBytes, wav.size)).arrayBuffer());
      const n = Math.floor(view.byteLength / frameBytes);
      const planes = Array.from({ length: channels }, () => new Float32Array(n));
      for (let i = 0, o = 0; i < n; i++) {
        for (let c = 0; c < channels; c++, o += bytes) planes[c][i] = readSample(view, o, sampleFormat);
      }
      yield planes;
    }
  }
  return { sampleRate, channels, sampleFormat, chunks: chunks() };
}

/**
 * The inverse of wav.js's rounding (negative values scaled by 2^(b-1), positive by 2^(b-1) - 1),
 * so that a PCM sample read and encoded again is the same integer.
 * @param {DataView} view @param {number} o @param {import('./wav.js').SampleFormat} format
 */
function readSample(view, o, format) {
  if (format === 'float32') return view.getFloat32(o, true);
  if (format === 'pcm16') {
    const v = view.getInt16(o, true);
    return v < 0 ? v / 0x8000 : v / 0x7fff;
  }
  const v = ((view.getUint8(o + 2) << 24) | (view.getUint8(o + 1) << 16) | (view.getUint8(o) << 8)) >> 8;
  return v < 0 ? v / 0x800000 : v / 0x7fffff;
}

/**
 * A stored stem as a file of `formatId`: the stored Blob itself when it is already that WAV,
 * else transcoded chunk by chunk.
 * @param {Blob} stored  a WAV stem @param {FormatId} formatId
 * @returns {Promise<Blob>}
 */
export async function transcodeStem(stored, formatId) {
  const wav = await readWav(stored);
  if (formatId === wav.sampleFormat) return stored;
  const depth = wav.sampleFormat === 'pcm16' ? 16 : 24;
  return encodeAudio({ format: formatId, sampleRate: wav.sampleRate, channels: wav.channels, depth }, wav.chunks);
}
