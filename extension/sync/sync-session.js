// @ts-check
/**
 * One tab in sync mode, in the inference host: the relay's port in, the synced player out.
 * Appends are reassembled from their base64 parts, bounded (PENDING_MAX_BYTES of parts
 * waiting), decoded onto the original timeline (segment-decoder.js) and separated there by the
 * offline pipeline itself (the family's blocks, through families/index.js: for Spleeter whole
 * patches, the same code and model as a job), fed from the timeline as the player appends, from
 * the first tapped sample on. The Karaoke mix of the stems goes onto the stems timeline; the player
 * (synced-player.js) takes the stems where they are and the original elsewhere.
 */
import { MediaTimeline, PAGE_SAMPLES } from './media-timeline.js';
import { SegmentDecoder } from './segment-decoder.js';
import { SyncedPlayer } from './synced-player.js';
import { SampleWindow } from '../inference/samples.js';
import { familyBlocks } from '../inference/families/index.js';
import { effectiveGains, presetStrips } from '../shared/mix.js';

const PENDING_MAX_BYTES = 32 * 1024 * 1024; // parts of appends not yet complete
const MAX_BUFFERS = 64;
const FEED_SAMPLES = 1 << 15;

/**
 * @typedef {{descriptor: import('../inference/separator.js').ModelDescriptor,
 *   runner: Promise<import('../inference/model-runner.js').ModelRunner>}} Model
 * @typedef {{postMessage: (msg: unknown) => void, onMessage: {addListener: (f: (msg: any) => void) => void},
 *   onDisconnect: {addListener: (f: () => void) => void}}} SyncPort
 */

/** The mixer's Karaoke preset (shared/mix.js). @param {string[]} stems */
export const karaokeGains = (stems) => effectiveGains(presetStrips('karaoke', stems));

/** @param {string} text */
function fromBase64(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export class SyncSession {
  /**
   * @param {SyncPort} port @param {Model} model
   * @param {{onFirstSound: (wallMs: number) => void, onEnd: () => void}} events
   */
  constructor(port, model, events) {
    this.port = port;
    this.model = model;
    this.events = events;
    const rate = model.descriptor.sampleRate;
    this.original = new MediaTimeline(rate);
    this.stems = new MediaTimeline(rate);
    this.gains = karaokeGains(model.descriptor.stems);
    /** @type {Map<number, {mime: string, decoder: SegmentDecoder}>} */
    this.buffers = new Map();
    /** @type {Map<number, {parts: Uint8Array[], got: number, size: number}>} */
    this.assembling = new Map();
    this.pending = 0;
    this.ended = false;
    this.closed = false;
    this.separateFrom = -1; // first sample the separator reads; -1: not started
    this.counts = { appends: 0, skipped: 0, relaySkipped: 0, bytes: 0 };
    /** @type {(() => void)[]} */
    this.waiters = [];
    this.player = new SyncedPlayer({ stems: this.stems, original: this.original, stemsFrom: () => this.separateFrom });
    this.player.onFirstSound = events.onFirstSound;
    /** @type {import('./synced-player.js').ElementClock | null} */
    this.clock = null;
    port.onMessage.addListener((msg) => this.handle(msg));
    port.onDisconnect.addListener(() => this.close());
  }

  /** @param {any} msg */
  handle(msg) {
    if (this.closed || typeof msg !== 'object' || msg === null) return;
    switch (msg.kind) {
      case 'add':
        if (this.buffers.size < MAX_BUFFERS && !this.buffers.has(msg.buffer)) {
          const decoder = new SegmentDecoder(this.original, (w, e) => this.skip(w, e), () => {
            this.startSeparating();
            this.wake();
          });
          this.buffers.set(msg.buffer, { mime: String(msg.mime), decoder });
        }
        break;
      case 'type':
        this.buffers.get(msg.buffer)?.decoder.finish();
        break;
      case 'abort':
        this.assembling.clear();
        break;
      case 'end':
        // ended once the decoders gave back what they hold (their output is asynchronous)
        Promise.all([...this.buffers.values()].map((b) => b.decoder.finish())).then(() => {
          this.ended = true;
          this.wake();
        });
        break;
      case 'source':
        break;
      case 'skipped':
        this.counts.relaySkipped = Number(msg.invalid ?? 0) + Number(msg.tooLarge ?? 0) + Number(msg.overQueue ?? 0);
        break;
      case 'append':
        this.part(msg);
        break;
      case 'clock':
        if (![msg.t, msg.at, msg.rate].every(Number.isFinite)) break;
        this.clock = {
          t: msg.t,
          at: msg.at,
          paused: Boolean(msg.paused),
          waiting: Boolean(msg.waiting),
          rate: msg.rate,
          ended: Boolean(msg.ended),
        };
        this.original.focus = this.stems.focus = Math.round(msg.t * this.original.sampleRate);
        this.player.follow(this.clock);
        break;
      default:
    }
  }

  /** @param {any} msg */
  part(msg) {
    const buffer = this.buffers.get(msg.buffer);
    const valid = buffer && Number.isInteger(msg.parts) && Number.isInteger(msg.part) && msg.part >= 0 &&
      msg.part < msg.parts && typeof msg.data === 'string' && Number.isFinite(msg.offset); // prettier-ignore
    if (!valid) return this.skip('part', null);
    let entry = this.assembling.get(msg.id);
    if (!entry) {
      if (msg.part !== 0 || !(msg.size > 0) || this.pending + msg.size > PENDING_MAX_BYTES) return this.ack(msg.size, true);
      entry = { parts: [], got: 0, size: msg.size };
      this.assembling.set(msg.id, entry);
      this.pending += msg.size;
    }
    const bytes = fromBase64(msg.data);
    if (msg.part !== entry.parts.length || entry.got + bytes.length > entry.size) {
      this.assembling.delete(msg.id);
      this.pending -= entry.size;
      return this.ack(entry.size, true);
    }
    entry.parts.push(bytes);
    entry.got += bytes.length;
    if (msg.part + 1 < msg.parts) return undefined;
    this.assembling.delete(msg.id);
    this.pending -= entry.size;
    const whole = new Uint8Array(entry.got);
    let at = 0;
    for (const p of entry.parts) {
      whole.set(p, at);
      at += p.length;
    }
    this.counts.appends += 1;
    this.counts.bytes += whole.length;
    const size = entry.size;
    /** @type {SegmentDecoder} */ (buffer?.decoder).append(whole, msg.offset).then(() => {
      this.ack(size, false);
      this.startSeparating();
      this.wake();
    });
    return undefined;
  }

  /** @param {number} bytes @param {boolean} skipped */
  ack(bytes, skipped) {
    if (skipped) this.counts.skipped += 1;
    try {
      this.port.postMessage({ kind: 'ack', bytes: Number(bytes) || 0 });
    } catch {}
  }

  /** @param {string} what @param {unknown} error */
  skip(what, error) {
    this.counts.skipped += 1;
    console.warn('demixer sync: skipped', what, error);
  }

  wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The separator, once there is something to separate: from the first tapped sample on. */
  startSeparating() {
    if (this.separateFrom >= 0 || this.closed) return;
    let first = -1;
    for (const index of this.original.pages.keys()) if (first < 0 || index < first) first = index;
    if (first < 0) return;
    const page = /** @type {{filled: number}} */ (this.original.pages.get(first));
    if (page.filled === 0) return;
    this.separateFrom = first * PAGE_SAMPLES;
    this.separate().catch((e) => console.error('demixer sync: separation stopped', e));
  }

  async separate() {
    const { descriptor } = this.model;
    const runner = await this.model.runner;
    const session = this;
    const start = this.separateFrom;
    async function* source() {
      let at = start;
      while (!session.closed) {
        const end = session.original.filledFrom(at);
        if (end > at) {
          const n = Math.min(end - at, FEED_SAMPLES);
          const channels = [new Float32Array(n), new Float32Array(n)];
          session.original.read(at, channels);
          yield channels;
          at += n;
          continue;
        }
        if (session.ended && session.buffersIdle()) return;
        await new Promise((wake) => session.waiters.push(() => wake(undefined)));
      }
    }
    const samples = new SampleWindow(source());
    let at = start;
    const stems = descriptor.stems.length;
    for await (const block of familyBlocks(descriptor)(samples, descriptor, runner, () => {}, null)) {
      if (this.closed) return;
      const length = block[0][0].length;
      const mix = [new Float32Array(length), new Float32Array(length)];
      for (let s = 0; s < stems; s++) {
        const gain = this.gains[s];
        if (!gain) continue;
        for (let c = 0; c < 2; c++) {
          const from = block[s][c % block[s].length];
          const to = mix[c];
          for (let i = 0; i < length; i++) to[i] += gain * from[i];
        }
      }
      this.stems.write(at, mix);
      at += length;
    }
  }

  buffersIdle() {
    return this.assembling.size === 0;
  }

  /** What tests and the panel read. */
  health() {
    const stemsEnd = this.separateFrom >= 0 ? this.stems.filledFrom(this.separateFrom) : 0;
    const rate = this.original.sampleRate;
    return {
      ...this.counts,
      separateFromS: this.separateFrom / rate,
      separatedToS: stemsEnd / rate,
      clock: this.clock,
      player: { ...this.player.stats, log: this.player.log },
    };
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    for (const { decoder } of this.buffers.values()) decoder.close();
    this.player.close().catch(() => {});
    this.original.clear();
    this.stems.clear();
    this.events.onEnd();
  }
}
