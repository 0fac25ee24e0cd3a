// @ts-check
/**
 * The audio time in a download so far, read from the container as its bytes arrive (for a
 * response without a length: fetch-audio.js stops an endless stream by it). Covered:
 * - Ogg (Vorbis, Opus): the last granule position of each logical stream (Vorbis: samples at
 *   the rate of its identification header; Opus: 48 kHz samples minus its pre-skip); chained
 *   links (an internet radio's next track, a file repeated) add up;
 * - MPEG audio (MPEG-1, 2 and 2.5, layers I, II and III: MP3) and ADTS AAC: frame headers,
 *   each frame's samples at its sample rate; ID3v2 tags are skipped.
 * Anything else (WAV, FLAC, MP4, WebM, an Ogg of another codec) gives `format` null and no
 * time: such a download is bounded by the size limit only.
 *
 * Only headers are read, never a frame's payload, and at most a few KB are kept between chunks.
 */

/** @typedef {'ogg' | 'mpeg' | 'adts'} ContainerFormat */

/** How far into a download a known container must start (ID3v2 tags aside) before we give up. */
const DETECT_BYTES = 64 * 1024;
/** After this many bytes without a valid header the format is given up (a corrupt or foreign stream). */
const RESYNC_BYTES = 256 * 1024;

const MPEG_RATES = [44100, 48000, 32000];
/** kb/s by bitrate index: [MPEG-1 layer I, II, III, MPEG-2/2.5 layer I, II and III]. */
const MPEG_BITRATES = [
  [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * One MPEG audio frame header at `d[p]`: its length in bytes, samples and sample rate, or null.
 * @param {Uint8Array} d @param {number} p
 */
export function mpegFrame(d, p) {
  if (d[p] !== 0xff || (d[p + 1] & 0xe0) !== 0xe0) return null;
  const version = (d[p + 1] >> 3) & 3; // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
  const layer = 4 - ((d[p + 1] >> 1) & 3); // 4: reserved (ADTS uses it)
  const bitrateIndex = d[p + 2] >> 4;
  const rateIndex = (d[p + 2] >> 2) & 3;
  if (version === 1 || layer === 4 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  const mpeg1 = version === 3;
  const rate = MPEG_RATES[rateIndex] / (mpeg1 ? 1 : version === 2 ? 2 : 4);
  const kbps = MPEG_BITRATES[mpeg1 ? layer - 1 : layer === 1 ? 3 : 4][bitrateIndex];
  const padding = (d[p + 2] >> 1) & 1;
  if (layer === 1) return { bytes: (Math.floor((12000 * kbps) / rate) + padding) * 4, samples: 384, rate };
  const samples = layer === 3 && !mpeg1 ? 576 : 1152;
  return { bytes: Math.floor(((samples / 8) * 1000 * kbps) / rate) + padding, samples, rate };
}

/**
 * One ADTS (AAC) frame header at `d[p]`, or null.
 * @param {Uint8Array} d @param {number} p
 */
export function adtsFrame(d, p) {
  if (d[p] !== 0xff || (d[p + 1] & 0xf6) !== 0xf0) return null;
  const rate = ADTS_RATES[(d[p + 2] >> 2) & 0xf];
  const bytes = ((d[p + 3] & 3) << 11) | (d[p + 4] << 3) | (d[p + 5] >> 5);
  if (!rate || bytes < 7) return null;
  return { bytes, samples: 1024 * ((d[p + 6] & 3) + 1), rate };
}

/** @param {Uint8Array} d @param {number} p @param {string} text */
const startsWith = (d, p, text) => [...text].every((c, i) => d[p + i] === c.charCodeAt(0));
/** @param {Uint8Array} d @param {number} p */
const u32 = (d, p) => (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;

/**
 * @typedef {{rate: number, preSkip: number, granule: number}} OggStream
 *   rate 0: a codec we do not read (its granules are not counted)
 */

export class AudioTimeCounter {
  constructor() {
    /** @type {ContainerFormat | null | undefined} undefined: not known yet; null: not covered */
    this.format = undefined;
    /** Seconds of audio in the bytes so far (0 while `format` is not known). */
    this.seconds = 0;
    /** @type {Uint8Array} bytes kept from the last chunk (a header cut in two) */
    this.carry = new Uint8Array(0);
    /** Bytes of the current page or frame still to pass over, unread. */
    this.skip = 0;
    /** Bytes read so far (where `carry` ends). */
    this.offset = 0;
    /** Where the last valid header ended (for giving up on a stream that lost its sync). */
    this.lastGood = 0;
    /** Ogg: seconds of the chain's finished links, and the logical streams of the current one. */
    this.finishedLinks = 0;
    /** @type {Map<number, OggStream>} */
    this.streams = new Map();
    this.linkHasData = false;
    /** MPEG/ADTS: whether the last header read was valid (after a bad one, two in a row are needed). */
    this.synced = false;
    /** Whether the start was looked at for an ID3v2 tag; where the container itself starts. */
    this.id3Skipped = false;
    /** @type {number | undefined} */
    this.detectFrom = undefined;
  }

  /** @param {Uint8Array} chunk */
  push(chunk) {
    if (this.format === null) return;
    let start = 0;
    if (this.skip) {
      start = Math.min(this.skip, chunk.length);
      this.skip -= start;
      this.offset += start;
      if (start === chunk.length) return;
    }
    const rest = start ? chunk.subarray(start) : chunk;
    let d = rest;
    if (this.carry.length) {
      d = new Uint8Array(this.carry.length + rest.length);
      d.set(this.carry);
      d.set(rest, this.carry.length);
    }
    const base = this.offset - this.carry.length; // where d[0] is in the download
    const used = this.read(d, base);
    this.offset = base + d.length;
    if (this.format === null) {
      this.carry = new Uint8Array(0);
      return;
    }
    if (used > d.length) {
      this.skip = used - d.length;
      this.carry = new Uint8Array(0);
    } else {
      this.carry = d.slice(used);
    }
  }

  /**
   * Read what headers `d` holds; returns where the unread part starts (beyond d's end: that
   * much of the next chunks is skipped).
   * @param {Uint8Array} d @param {number} base
   */
  read(d, base) {
    let p = 0;
    if (this.format === undefined) {
      p = this.detect(d, base);
      if (this.format === undefined || this.format === null) return p;
    }
    for (;;) {
      if (p >= d.length) return p;
      const next = this.format === 'ogg' ? this.oggPage(d, p) : this.frame(d, p);
      if (next === -1) return p; // wait for more bytes
      if (next === -2) {
        p += 1; // not a header here: look at the next byte
        if (base + p - this.lastGood > RESYNC_BYTES) {
          this.format = null;
          return d.length;
        }
        continue;
      }
      p = next;
      this.lastGood = base + Math.min(p, d.length);
    }
  }

  /**
   * Tell the container from the first bytes (an ID3v2 tag skipped). Returns where to go on.
   * @param {Uint8Array} d @param {number} base
   */
  detect(d, base) {
    let p = 0;
    if (d.length < 10) return 0;
    if (!this.id3Skipped && startsWith(d, 0, 'ID3')) {
      this.id3Skipped = true;
      const size = ((d[6] & 0x7f) << 21) | ((d[7] & 0x7f) << 14) | ((d[8] & 0x7f) << 7) | (d[9] & 0x7f);
      this.detectFrom = base + 10 + size + (d[5] & 0x10 ? 10 : 0);
      return 10 + size + (d[5] & 0x10 ? 10 : 0);
    }
    this.id3Skipped = true;
    this.detectFrom ??= base;
    if (startsWith(d, 0, 'OggS')) {
      this.format = 'ogg';
      return 0;
    }
    const foreign = ['RIFF', 'fLaC', '\x1aE\xdf\xa3', 'FORM'].some((magic) => startsWith(d, 0, magic));
    if (foreign || startsWith(d, 4, 'ftyp')) {
      this.format = null;
      return 0;
    }
    // MPEG audio or ADTS: two frames in a row, so that a stray 0xFF byte is not taken for one.
    for (; p + 10 <= d.length; p++) {
      const frame = mpegFrame(d, p) ?? adtsFrame(d, p);
      if (!frame) continue;
      if (p + frame.bytes + 7 > d.length) return p; // wait for the next header
      const kind = mpegFrame(d, p) ? mpegFrame : adtsFrame;
      if (kind(d, p + frame.bytes)) {
        this.format = kind === mpegFrame ? 'mpeg' : 'adts';
        this.synced = true;
        return p;
      }
    }
    if (base + p - this.detectFrom > DETECT_BYTES) {
      this.format = null;
      return d.length;
    }
    return p;
  }

  /**
   * One MPEG or ADTS frame at `p`: where the next starts, -1 to wait for bytes, -2 no frame here.
   * @param {Uint8Array} d @param {number} p
   */
  frame(d, p) {
    if (d.length - p < 10) return -1;
    if (startsWith(d, p, 'ID3')) {
      // A tag between frames (some streams send one per track).
      const size = ((d[p + 6] & 0x7f) << 21) | ((d[p + 7] & 0x7f) << 14) | ((d[p + 8] & 0x7f) << 7) | (d[p + 9] & 0x7f);
      return p + 10 + size + (d[p + 5] & 0x10 ? 10 : 0);
    }
    const frame = this.format === 'mpeg' ? mpegFrame(d, p) : adtsFrame(d, p);
    if (!frame) {
      this.synced = false;
      return -2;
    }
    if (!this.synced) {
      // Lost sync: take a header again only where the next frame's header follows it.
      if (d.length - p < frame.bytes + 10) return -1;
      const again = this.format === 'mpeg' ? mpegFrame(d, p + frame.bytes) : adtsFrame(d, p + frame.bytes);
      if (!again) return -2;
      this.synced = true;
    }
    this.seconds += frame.samples / frame.rate;
    return p + frame.bytes;
  }

  /**
   * One Ogg page at `p`: where the next starts, -1 to wait for bytes, -2 no page here.
   * @param {Uint8Array} d @param {number} p
   */
  oggPage(d, p) {
    if (d.length - p < 27) return -1;
    if (!startsWith(d, p, 'OggS') || d[p + 4] !== 0) return -2;
    const segments = d[p + 26];
    if (d.length - p < 27 + segments) return -1;
    let body = 0;
    for (let i = 0; i < segments; i++) body += d[p + 27 + i];
    const at = p + 27 + segments; // the page's body
    const type = d[p + 5];
    const serial = u32(d, p + 14);
    if (type & 2) {
      // The first page of a logical stream: its first packet says the codec.
      const need = Math.min(body, 20);
      if (d.length - at < need) return -1;
      if (this.linkHasData) this.endLink();
      /** @type {OggStream} */
      const stream = { rate: 0, preSkip: 0, granule: 0 };
      if (startsWith(d, at, '\x01vorbis') && body >= 16) stream.rate = u32(d, at + 12);
      else if (startsWith(d, at, 'OpusHead') && body >= 12) {
        stream.rate = 48000;
        stream.preSkip = d[at + 10] | (d[at + 11] << 8);
      }
      this.streams.set(serial, stream);
    } else {
      const stream = this.streams.get(serial);
      const lo = u32(d, p + 6);
      const hi = u32(d, p + 10);
      if (stream && stream.rate && !(lo === 0xffffffff && hi === 0xffffffff)) {
        const granule = hi * 2 ** 32 + lo;
        if (granule < stream.granule) {
          // A stream that starts over without a new first page: count what it had.
          this.finishedLinks += this.streamSeconds(stream);
        }
        stream.granule = granule;
        this.linkHasData = true;
      }
    }
    this.seconds = this.finishedLinks + this.linkSeconds();
    return at + body;
  }

  /** @param {OggStream} stream */
  streamSeconds(stream) {
    return stream.rate ? Math.max(0, stream.granule - stream.preSkip) / stream.rate : 0;
  }

  linkSeconds() {
    let most = 0;
    for (const stream of this.streams.values()) most = Math.max(most, this.streamSeconds(stream));
    return most;
  }

  /** The next link of a chain starts: the streams of this one are done. */
  endLink() {
    this.finishedLinks += this.linkSeconds();
    this.streams.clear();
    this.linkHasData = false;
  }
}
