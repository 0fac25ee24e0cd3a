// @ts-check
/**
 * WAV (RIFF, little-endian) encoding, streamed: the header is written last, when the length is
 * known, so stems are encoded chunk by chunk without holding a whole track. (Libraries such as
 * `wavefile` encode a complete in-memory signal, which is what chunking avoids.)
 */

/** @typedef {'pcm16' | 'pcm24' | 'float32'} SampleFormat */

/** @type {Record<SampleFormat, {bytes: number, tag: number}>} */
const FORMATS = {
  pcm16: { bytes: 2, tag: 1 },
  pcm24: { bytes: 3, tag: 1 },
  float32: { bytes: 4, tag: 3 },
};

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * A sample as the format can hold it: NaN is 0 and every value is clamped to the format's range
 * (PCM: full scale; float: the largest float32, so that no file holds NaN or infinity, which
 * players turn into noise or silence).
 * @param {number} value @param {number} limit
 */
const held = (value, limit) => (value > limit ? limit : value < -limit ? -limit : value === value ? value : 0);

/** @param {SampleFormat} format */
export const bytesPerSample = (format) => FORMATS[format].bytes;

/** Typed arrays use the platform's byte order: little-endian, as WAV is, on every platform browsers run on. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Interleave planar channels into the sample format's bytes. One loop per format and channel,
 * writing a typed array, the same bytes as the per-sample DataView loop it replaced
 * (encodeSamplesPortable, still used where typed arrays are big-endian;
 * tests/unit/test_spectral_speed_js.py), 5-6x faster (pcm16, Node, docs/benchmarks.md).
 * Math.floor(y + 0.5) is Math.round(y) here, and 2.5x faster in V8: y is a float32 times at most
 * 2^23, so y + 0.5 is exact except for |y| < 2^-5, where both give 0.
 * @param {Float32Array[]} channels  same length each
 * @param {SampleFormat} format
 * @returns {ArrayBuffer}
 */
export function encodeSamples(channels, format) {
  if (format !== 'pcm24' && !LITTLE_ENDIAN) return encodeSamplesPortable(channels, format);
  const C = channels.length;
  const frames = channels[0].length;
  const buffer = new ArrayBuffer(frames * C * FORMATS[format].bytes);
  if (format === 'pcm16') {
    const out = new Int16Array(buffer);
    for (let c = 0; c < C; c++) {
      const channel = channels[c];
      for (let i = 0, o = c; i < frames; i++, o += C) {
        const v = channel[i];
        const x = v > 1 ? 1 : v < -1 ? -1 : v === v ? v : 0; // held(v, 1), inlined
        out[o] = Math.floor((x < 0 ? x * 0x8000 : x * 0x7fff) + 0.5); // Math.round(y): see above
      }
    }
  } else if (format === 'pcm24') {
    const out = new Uint8Array(buffer);
    for (let c = 0; c < C; c++) {
      const channel = channels[c];
      for (let i = 0, o = 3 * c; i < frames; i++, o += 3 * C) {
        const v = channel[i];
        const x = v > 1 ? 1 : v < -1 ? -1 : v === v ? v : 0;
        const s = Math.floor((x < 0 ? x * 0x800000 : x * 0x7fffff) + 0.5);
        out[o] = s & 0xff;
        out[o + 1] = (s >> 8) & 0xff;
        out[o + 2] = (s >> 16) & 0xff;
      }
    }
  } else {
    const out = new Float32Array(buffer);
    for (let c = 0; c < C; c++) {
      const channel = channels[c];
      for (let i = 0, o = c; i < frames; i++, o += C) {
        const v = channel[i];
        out[o] = v > FLOAT32_MAX ? FLOAT32_MAX : v < -FLOAT32_MAX ? -FLOAT32_MAX : v === v ? v : 0;
      }
    }
  }
  return buffer;
}

/**
 * encodeSamples through a DataView, whatever the platform's byte order.
 * @param {Float32Array[]} channels  same length each
 * @param {SampleFormat} format
 * @returns {ArrayBuffer}
 */
export function encodeSamplesPortable(channels, format) {
  const { bytes } = FORMATS[format];
  const frames = channels[0].length;
  const out = new DataView(new ArrayBuffer(frames * channels.length * bytes));
  let offset = 0;
  for (let i = 0; i < frames; i++) {
    for (const channel of channels) {
      if (format === 'float32') {
        out.setFloat32(offset, held(channel[i], FLOAT32_MAX), true);
      } else {
        const clipped = held(channel[i], 1);
        if (format === 'pcm16') {
          out.setInt16(offset, Math.round(clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff), true);
        } else {
          const v = Math.round(clipped < 0 ? clipped * 0x800000 : clipped * 0x7fffff);
          out.setUint8(offset, v & 0xff);
          out.setUint8(offset + 1, (v >> 8) & 0xff);
          out.setUint8(offset + 2, (v >> 16) & 0xff);
        }
      }
      offset += bytes;
    }
  }
  return out.buffer;
}

/**
 * The 44-byte header for `dataBytes` of samples.
 * @param {number} dataBytes @param {number} sampleRate @param {number} nbChannels
 * @param {SampleFormat} format
 */
export function wavHeader(dataBytes, sampleRate, nbChannels, format) {
  const { bytes, tag } = FORMATS[format];
  const view = new DataView(new ArrayBuffer(44));
  const ascii = (/** @type {number} */ at, /** @type {string} */ text) =>
    [...text].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, tag, true);
  view.setUint16(22, nbChannels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * nbChannels * bytes, true);
  view.setUint16(32, nbChannels * bytes, true);
  view.setUint16(34, bytes * 8, true);
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
  return view.buffer;
}

/**
 * A whole in-memory float WAV file of planar channels (for the browser's decoder to resample).
 * @param {Float32Array[]} channels @param {number} sampleRate
 * @returns {ArrayBuffer}
 */
export function floatWav(channels, sampleRate) {
  const samples = new Uint8Array(encodeSamples(channels, 'float32'));
  const file = new Uint8Array(44 + samples.length);
  file.set(new Uint8Array(wavHeader(samples.length, sampleRate, channels.length, 'float32')));
  file.set(samples, 44);
  return file.buffer;
}
