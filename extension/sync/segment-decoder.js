// @ts-check
/**
 * One tapped audio SourceBuffer decoded onto the media timeline: its init segment is kept;
 * each media segment is demuxed by mediabunny together with that init (fragmented MP4, WebM:
 * the timestamps it reads are the segment's own, tfdt / cluster time), and its packets go to one
 * WebCodecs AudioDecoder that lives across segments, so that a codec with overlapping frames
 * (AAC) decodes a segment's start from the end of the one before, as the browser's own player
 * does. Samples land at (packet time + timestampOffset) x rate; a stream at another rate than the
 * timeline's goes through inference/resample.js. A segment that does not demux or decode is
 * skipped and counted. The decoder is flushed only when the stream ends (endOfStream, a gap, a
 * new type): a flush resets it, which would cost each later segment its first frame.
 */
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from '../vendor/mediabunny.js';
import { StreamResampler } from '../inference/resample.js';

/** A decoded stream that stays contiguous within this (seconds) is one stream (AAC frames, Opus packets). */
const CONTIGUOUS_S = 0.002;

/** @param {Uint8Array} bytes  whether these bytes open with an init segment (ftyp/moov, EBML header) */
export function startsWithInit(bytes) {
  if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return true;
  if (bytes.length < 8) return false;
  const type = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
  return type === 'ftyp' || type === 'moov';
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export class SegmentDecoder {
  /**
   * @param {import('./media-timeline.js').MediaTimeline} timeline
   * @param {(what: string, error: unknown) => void} onSkip
   * @param {() => void} [onWritten]  samples landed on the timeline (a decoder's output comes
   *   when it comes: Firefox's Opus decoder gives a segment's samples after its append is done)
   */
  constructor(timeline, onSkip, onWritten = () => {}) {
    this.timeline = timeline;
    this.onSkip = onSkip;
    this.onWritten = onWritten;
    /** @type {Uint8Array | null} */
    this.init = null;
    /** @type {AudioDecoder | null} */
    this.decoder = null;
    this.codecKey = '';
    this.offset = 0;
    /** where the next packet continues the stream (seconds); NaN: a new stream */
    this.nextPacket = NaN;
    /** the last packet duration that was known (seconds) */
    this.lastDuration = 0;
    /** the decoded stream being written: its next sample on the timeline, its resampler */
    /** @type {{at: number, resampler: StreamResampler | null, pending: Promise<void>} | null} */
    this.stream = null;
    /** @type {Promise<void>} appends are handled one after the other */
    this.queue = Promise.resolve();
    this.decodedS = 0;
  }

  /** @param {Uint8Array} bytes @param {number} offset  the SourceBuffer's timestampOffset */
  append(bytes, offset) {
    this.queue = this.queue.then(() => this.#append(bytes, offset)).catch((e) => this.onSkip('segment', e));
    return this.queue;
  }

  /** The stream ended (endOfStream), or a new type (changeType): what the decoder holds is written. */
  finish() {
    this.queue = this.queue.then(() => this.#endStream());
    return this.queue;
  }

  /** @param {Uint8Array} bytes @param {number} offset */
  async #append(bytes, offset) {
    let media = bytes;
    if (startsWithInit(bytes)) {
      const initLength = await this.#initLength(bytes);
      this.init = bytes.subarray(0, initLength);
      media = bytes.subarray(initLength);
      if (media.length === 0) return;
    }
    if (!this.init) throw new Error('a media segment before any init segment');
    const input = new Input({ source: new BufferSource(concat(this.init, media)), formats: ALL_FORMATS });
    const track = await input.getPrimaryAudioTrack();
    if (!track) throw new Error('no audio track');
    const config = await track.getDecoderConfig();
    if (!config) throw new Error(`codec not decodable here: ${track.codec}`);
    const key = `${config.codec}/${config.sampleRate}/${config.numberOfChannels}`;
    if (key !== this.codecKey || offset !== this.offset) await this.#endStream();
    this.offset = offset;
    if (!this.decoder) {
      this.decoder = new AudioDecoder({
        output: (data) => this.#decoded(data),
        error: (error) => this.onSkip('decoder', error),
      });
      this.decoder.configure(config);
      this.codecKey = key;
    }
    const sink = new EncodedPacketSink(track);
    for await (const packet of sink.packets()) {
      if (Number.isFinite(this.nextPacket) && Math.abs(packet.timestamp - this.nextPacket) > CONTIGUOUS_S) {
        await this.#endStream(); // a gap or an overlap: the decoder starts over
        this.decoder = new AudioDecoder({ output: (data) => this.#decoded(data), error: (e) => this.onSkip('decoder', e) });
        this.decoder.configure(config);
        this.codecKey = key;
      }
      // A WebM cluster's last block has no duration mediabunny can read (0): it is taken to be
      // as long as the packet before it, or every segment boundary would look like a gap.
      const duration = packet.duration > 0 ? packet.duration : this.lastDuration;
      if (packet.duration > 0) this.lastDuration = packet.duration;
      this.decoder.decode(new EncodedAudioChunk({
        type: 'key', timestamp: Math.round(packet.timestamp * 1e6), duration: Math.round(duration * 1e6),
        data: packet.data,
      })); // prettier-ignore
      this.nextPacket = packet.timestamp + duration;
    }
  }

  /** The init segment's length: up to the first moof (MP4) or Cluster (WebM). @param {Uint8Array} bytes */
  async #initLength(bytes) {
    if (bytes[0] === 0x1a) {
      for (let i = 0; i + 4 <= bytes.length; i++) {
        if (bytes[i] === 0x1f && bytes[i + 1] === 0x43 && bytes[i + 2] === 0xb6 && bytes[i + 3] === 0x75) return i;
      }
      return bytes.length;
    }
    let at = 0;
    while (at + 8 <= bytes.length) {
      const size = new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
      const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
      if (type === 'moof' || size < 8) return at;
      at += size;
    }
    return bytes.length;
  }

  /** @param {AudioData} data */
  #decoded(data) {
    try {
      const channels = Array.from({ length: Math.min(2, data.numberOfChannels) }, (_, c) => {
        const plane = new Float32Array(data.numberOfFrames);
        data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
        return plane;
      });
      if (channels.length === 1) channels.push(channels[0]);
      const rate = this.timeline.sampleRate;
      if (!this.stream) {
        const at = Math.round((data.timestamp / 1e6 + this.offset) * rate);
        const resampler = data.sampleRate === rate ? null : new StreamResampler(data.sampleRate, rate, 2);
        this.stream = { at, resampler, pending: Promise.resolve() };
      }
      const stream = this.stream;
      this.decodedS += data.numberOfFrames / data.sampleRate;
      if (!stream.resampler) {
        this.timeline.write(stream.at, channels);
        stream.at += channels[0].length;
        this.onWritten();
      } else {
        const resampler = stream.resampler;
        stream.pending = stream.pending
          .then(() => resampler.push(channels))
          .then((out) => {
            this.timeline.write(stream.at, out);
            stream.at += out[0].length;
            this.onWritten();
          })
          .catch((e) => this.onSkip('resample', e));
      }
    } finally {
      data.close();
    }
  }

  /** Flush what the decoder holds, write the resampler's rest, and start a new stream next time. */
  async #endStream() {
    const decoder = this.decoder;
    this.decoder = null;
    this.codecKey = '';
    this.nextPacket = NaN;
    if (decoder && decoder.state === 'configured') {
      await decoder.flush().catch((e) => this.onSkip('flush', e));
      decoder.close();
    }
    const stream = this.stream;
    this.stream = null;
    if (stream?.resampler) {
      await stream.pending;
      const rest = await stream.resampler.flush();
      this.timeline.write(stream.at, rest);
    }
  }

  close() {
    if (this.decoder?.state === 'configured') this.decoder.close();
    this.decoder = null;
  }
}
