// @ts-check
/**
 * Plays a tab's media timeline in the extension's own document, in step with the page's media
 * element: one AudioContext, blocks of BLOCK_SAMPLES scheduled LEAD_S ahead on its clock
 * (`start(when)`: consecutive blocks join sample-exactly), each taken from the stems where they
 * are separated and from the decoded original elsewhere (never silence where the original was
 * tapped). The element's clock reaches this document as (media time, wall time) pairs
 * (relay.js); wall times are `performance.timeOrigin + performance.now()` in both documents, and
 * `getOutputTimestamp()` (through platform/<browser>/output-timestamp.js: Firefox's needs a
 * correction) ties this context's clock to wall time at the speakers. An anchor (a media time
 * and the context time at which it must be heard) is kept while the element's reports agree
 * with it within RESYNC_S; a pause, a seek, a rate change or drift makes a new one.
 * `playbackRate` is followed by playing faster (the pitch moves with it: no stretcher yet).
 */
import { outputTimestamp } from '../platform/output-timestamp.js';

const BLOCK_SAMPLES = 4096;
const LEAD_S = 0.6; // scheduled ahead of the context's clock
const START_S = 0.15; // a new anchor's first block, from now
const RESYNC_S = 0.015;
const RESYNC_REPORTS = 3; // reports in a row off the anchor before it is moved
const SEEK_S = 0.25; // an error beyond this is a new position: what is scheduled is dropped

/**
 * The context time at which wall time `wallMs` is heard, from an output timestamp.
 * @param {{contextTime?: number, performanceTime?: number}} stamp @param {number} timeOrigin @param {number} wallMs
 */
export function contextTimeAt(stamp, timeOrigin, wallMs) {
  return (stamp.contextTime ?? 0) + (wallMs - (timeOrigin + (stamp.performanceTime ?? 0))) / 1000;
}

/**
 * @typedef {{t: number, at: number, paused: boolean, rate: number, ended?: boolean}} ElementClock
 *   t: the element's currentTime (s) at wall time `at` (ms since the epoch, performance.timeOrigin-based)
 * @typedef {{stems: import('./media-timeline.js').MediaTimeline, original: import('./media-timeline.js').MediaTimeline,
 *   stemsFrom: () => number}} Sources  stemsFrom: the first sample of the stems' contiguous run
 */

export class SyncedPlayer {
  /** @param {Sources} sources */
  constructor(sources) {
    this.sources = sources;
    this.context = new AudioContext({ latencyHint: 'playback' });
    this.rate = sources.original.sampleRate; // the timeline's; the context resamples if its own differs
    /** @type {{media: number, context: number, rate: number} | null} media: seconds; context: when it is heard */
    this.anchor = null;
    this.next = 0; // the next media sample to schedule
    /** @type {Set<AudioBufferSourceNode>} */
    this.nodes = new Set();
    this.off = 0;
    this.stats = { anchors: 0, moves: 0, stemBlocks: 0, originalBlocks: 0, emptyBlocks: 0, lastErrorMs: 0, firstSoundAt: 0 };
    /** @type {((wallMs: number) => void) | null} */
    this.onFirstSound = null;
  }

  /** @param {ElementClock} clock */
  follow(clock) {
    if (this.context.state === 'suspended') this.context.resume();
    if (clock.paused || clock.ended || !(clock.rate > 0)) {
      this.stop();
      return;
    }
    const stamp = outputTimestamp(this.context);
    const heardAt = contextTimeAt(stamp, performance.timeOrigin, clock.at);
    if (this.anchor && this.anchor.rate === clock.rate) {
      const expected = this.anchor.context + (clock.t - this.anchor.media) / clock.rate;
      const error = heardAt - expected;
      this.stats.lastErrorMs = error * 1000;
      // A seek or a stall shows at once as a jump far beyond drift; below that, the anchor moves
      // and what is scheduled stays (a tab muted or unmuted moves the element's clock by tens of
      // ms): the next block lands that much later or earlier.
      if (Math.abs(error) < SEEK_S) {
        this.off = Math.abs(error) > RESYNC_S ? this.off + 1 : 0;
        if (this.off >= RESYNC_REPORTS) {
          this.anchor = { media: clock.t, context: heardAt, rate: clock.rate };
          this.off = 0;
          this.stats.moves += 1;
        }
        this.pump();
        return;
      }
    }
    this.stop();
    this.anchor = { media: clock.t, context: heardAt, rate: clock.rate };
    this.stats.anchors += 1;
    const first = this.mediaAt(this.context.currentTime + START_S);
    this.next = Math.max(0, Math.round(first * this.rate));
    this.pump();
  }

  /** The media time (s) heard at context time `when`, on the anchor. @param {number} when */
  mediaAt(when) {
    const a = /** @type {NonNullable<typeof this.anchor>} */ (this.anchor);
    return a.media + (when - a.context) * a.rate;
  }

  /** Schedule blocks until LEAD_S ahead of the context's clock. */
  pump() {
    const anchor = this.anchor;
    if (!anchor) return;
    const horizon = Math.round(this.mediaAt(this.context.currentTime + LEAD_S) * this.rate);
    while (this.next < horizon) {
      const start = this.next;
      const when = anchor.context + (start / this.rate - anchor.media) / anchor.rate;
      this.next += BLOCK_SAMPLES;
      if (when < this.context.currentTime) continue; // too late for this block
      const block = this.block(start);
      if (!block) continue;
      const node = new AudioBufferSourceNode(this.context, { buffer: block, playbackRate: anchor.rate });
      node.connect(this.context.destination);
      node.onended = () => this.nodes.delete(node);
      node.start(when);
      this.nodes.add(node);
      if (!this.stats.firstSoundAt) {
        const stamp = outputTimestamp(this.context);
        const wall = performance.timeOrigin + (stamp.performanceTime ?? 0) + (when - (stamp.contextTime ?? 0)) * 1000;
        this.stats.firstSoundAt = wall;
        this.onFirstSound?.(wall);
      }
    }
  }

  /** The block at media sample `start`: stems where separated, the original elsewhere; null where neither is. @param {number} start */
  block(start) {
    const { stems, original, stemsFrom } = this.sources;
    const stemsStart = stemsFrom();
    const stemsEnd = stems.filledFrom(stemsStart);
    const originalEnd = original.filledFrom(start);
    const fromStems = start >= stemsStart && start < stemsEnd ? Math.min(BLOCK_SAMPLES, stemsEnd - start) : 0;
    if (fromStems === 0 && originalEnd <= start) {
      this.stats.emptyBlocks += 1;
      return null;
    }
    const buffer = new AudioBuffer({ length: BLOCK_SAMPLES, numberOfChannels: 2, sampleRate: this.rate });
    const out = [buffer.getChannelData(0), buffer.getChannelData(1)];
    if (fromStems > 0) stems.read(start, out, 0, fromStems);
    if (fromStems < BLOCK_SAMPLES) original.read(start + fromStems, out, fromStems, BLOCK_SAMPLES - fromStems);
    if (fromStems === BLOCK_SAMPLES) this.stats.stemBlocks += 1;
    else this.stats.originalBlocks += 1;
    return buffer;
  }

  /** Nothing more is heard until the next anchor. */
  stop() {
    for (const node of this.nodes) {
      try {
        node.stop();
      } catch {}
    }
    this.nodes.clear();
    this.anchor = null;
    this.off = 0;
  }

  close() {
    this.stop();
    return this.context.close();
  }
}
