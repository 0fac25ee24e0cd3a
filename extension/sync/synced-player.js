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
 * with it within RESYNC_S; a pause, a seek or a rate change makes a new one, and
 * what was scheduled is dropped. Drift, and the tens of ms by which a tab's mute moves Chrome's
 * element clock, move the anchor without a gap: the next block starts where the last one ends,
 * read from the media position the moved anchor gives that moment (a few ms skipped or repeated,
 * never silence). An element that reports it may be stalled (readyState below HAVE_FUTURE_DATA)
 * gets no more blocks; only WAIT_REPORTS such reports in a row stop what is scheduled, because a
 * single one comes and goes while the element plays on.
 * `playbackRate` is followed by playing faster (the pitch moves with it: no stretcher yet).
 */
import { outputTimestamp } from '../platform/output-timestamp.js';

const BLOCK_SAMPLES = 4096;
// Scheduled ahead of the context's clock: longer than the document's thread may be busy (a
// patch's STFT and masks run on it; 0.6 s was too short on a 2-core machine: a block missed its
// time, a 0.18-s gap). A pause or a seek stops what is scheduled and a moved anchor reschedules
// beyond KEEP_S, so the lead delays neither.
const LEAD_S = 1.2;
const KEEP_S = 0.2; // an anchor's move leaves what starts within this much of now
const PUMP_MS = 100; // blocks are scheduled on this timer too, not only when the element reports
const START_S = 0.15; // a new anchor's first block, from now
const RESYNC_S = 0.015;
const RESYNC_REPORTS = 3; // reports in a row off the anchor before it is moved
const SEEK_S = 0.25; // an error beyond this is a new position: what is scheduled is dropped
const WAIT_REPORTS = 2; // stalled reports in a row before what is scheduled stops

/**
 * The context time at which wall time `wallMs` is heard, from an output timestamp.
 * @param {{contextTime?: number, performanceTime?: number}} stamp @param {number} timeOrigin @param {number} wallMs
 */
export function contextTimeAt(stamp, timeOrigin, wallMs) {
  return (stamp.contextTime ?? 0) + (wallMs - (timeOrigin + (stamp.performanceTime ?? 0))) / 1000;
}

/**
 * @typedef {{t: number, at: number, paused: boolean, rate: number, ended?: boolean, waiting?: boolean}} ElementClock
 *   t: the element's currentTime (s) at wall time `at` (ms since the epoch, performance.timeOrigin-based);
 *   waiting: its readyState is below HAVE_FUTURE_DATA
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
    this.until = 0; // the context time at which the last scheduled block ends
    this.waits = 0; // stalled reports in a row
    /** @type {Map<AudioBufferSourceNode, number>} each scheduled node, with its start (context time) */
    this.nodes = new Map();
    this.off = 0;
    this.stats = { anchors: 0, moves: 0, stemBlocks: 0, originalBlocks: 0, emptyBlocks: 0, lateBlocks: 0, lastErrorMs: 0, firstSoundAt: 0 };
    /** @type {{media: number, why: string, errorMs: number}[]} the last new anchors and stops, for the bench and tests */
    this.log = [];
    /** @type {((wallMs: number) => void) | null} */
    this.onFirstSound = null;
    this.timer = setInterval(() => this.pump(), PUMP_MS);
  }

  /** @param {ElementClock} clock */
  follow(clock) {
    if (this.context.state === 'suspended') this.context.resume();
    this.waits = clock.waiting && !clock.paused ? this.waits + 1 : 0;
    if (clock.paused || clock.ended || !(clock.rate > 0) || this.waits >= WAIT_REPORTS) {
      if (this.anchor) this.note(clock.t, clock.ended ? 'ended' : clock.paused ? 'paused' : 'stalled', 0);
      this.stop();
      return;
    }
    if (clock.waiting && this.anchor) return; // hold: what is scheduled plays on
    const stamp = outputTimestamp(this.context);
    // A context that is not running yet (it resumes on the first report) has no output
    // timestamp to tie it to wall time: the next report anchors.
    if (this.context.state !== 'running' || !stamp.performanceTime) return;
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
          this.rejoin();
        }
        this.pump();
        return;
      }
    }
    this.note(clock.t, this.anchor ? (this.anchor.rate !== clock.rate ? 'rate' : 'jump') : 'start', this.stats.lastErrorMs);
    this.stop();
    this.anchor = { media: clock.t, context: heardAt, rate: clock.rate };
    this.stats.anchors += 1;
    const first = this.mediaAt(this.context.currentTime + START_S);
    this.next = Math.max(0, Math.round(first * this.rate));
    this.pump();
  }

  /**
   * After the anchor moved: the blocks that start later than KEEP_S from now are unscheduled, and
   * the next block joins the last one kept, read from the moved anchor's position for that moment
   * (the move is heard within KEEP_S, not after the whole lead).
   */
  rejoin() {
    if (!this.nodes.size) return;
    const keep = this.context.currentTime + KEEP_S;
    let until = 0;
    for (const [node, when] of this.nodes) {
      if (when > keep) {
        try {
          node.stop();
        } catch {}
        this.nodes.delete(node);
      } else until = Math.max(until, when + /** @type {AudioBuffer} */ (node.buffer).duration / node.playbackRate.value);
    }
    if (!this.nodes.size) return;
    this.until = until;
    this.next = Math.max(0, Math.round(this.mediaAt(until) * this.rate));
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
      let when = anchor.context + (start / this.rate - anchor.media) / anchor.rate;
      // joined to the block before (a moved anchor rounds to a sample: within half of one)
      if (this.nodes.size && Math.abs(when - this.until) < 0.5 / this.rate) when = this.until;
      this.next += BLOCK_SAMPLES;
      if (when < this.context.currentTime) {
        this.stats.lateBlocks += 1; // too late for this block
        continue;
      }
      const block = this.block(start);
      if (!block) continue;
      const node = new AudioBufferSourceNode(this.context, { buffer: block, playbackRate: anchor.rate });
      node.connect(this.context.destination);
      node.onended = () => this.nodes.delete(node);
      node.start(when);
      this.nodes.set(node, when);
      this.until = when + BLOCK_SAMPLES / this.rate / anchor.rate;
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

  /** @param {number} media @param {string} why @param {number} errorMs */
  note(media, why, errorMs) {
    this.log.push({ media, why, errorMs: Math.round(errorMs) });
    if (this.log.length > 32) this.log.shift();
  }

  /** Nothing more is heard until the next anchor. */
  stop() {
    for (const node of this.nodes.keys()) {
      try {
        node.stop();
      } catch {}
    }
    this.nodes.clear();
    this.anchor = null;
    this.off = 0;
  }

  close() {
    clearInterval(this.timer);
    this.stop();
    return this.context.close();
  }
}
