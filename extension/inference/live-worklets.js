// @ts-check
/**
 * The live path's two AudioWorkletProcessors (loaded with `audioWorklet.addModule`). They share
 * preallocated SharedArrayBuffers with live.js (the offscreen document is cross-origin isolated)
 * and neither allocates nor posts a message per render quantum (MDN's AudioWorklet guide).
 *
 * capture:  tab audio -> `capture.ring` (the main thread takes hops from it) and, unchanged, on
 *           to the playback node (which keeps it as the fallback).
 * playback: first the original as it arrives (the tab stays audible from the moment its
 *           capture mutes it, while the first stems are made), then, once the stems of the
 *           frames due at `delay` are there, an equal-power cross-fade over `fade` frames to
 *           source frame f = m - delay at render frame m: the stems of f mixed with the user's
 *           gains when the main thread has written f's block, else the original of f (separation
 *           fell behind: the user keeps hearing the tab, never silence), counted in `health` so
 *           that the UI can say "falling behind" and a test can read it. The switch repeats the
 *           last `delay` frames heard: nothing of the tab is lost, none of it is silence.
 */

import { CAPTURED, HEALTH } from './live-buffers.js';

/* The AudioWorkletGlobalScope's names are not in TypeScript's DOM library. */
const scope = /** @type {any} */ (globalThis);

/** @param {Float32Array | undefined} channel */
function isZero(channel) {
  if (!channel) return true;
  for (let i = 0; i < channel.length; i++) if (channel[i] !== 0) return false;
  return true;
}

class CaptureProcessor extends scope.AudioWorkletProcessor {
  /**
   * @param {{processorOptions: {ring: SharedArrayBuffer, state: SharedArrayBuffer, capacity: number,
   *   leadFrames: number}}} options  leadFrames: how long the stream's leading zeros are skipped
   */
  constructor(options) {
    super();
    const { ring, state, capacity, leadFrames } = options.processorOptions;
    this.ring = new Float32Array(ring);
    this.state = new Int32Array(state);
    this.capacity = capacity;
    this.leadFrames = leadFrames;
    this.skipped = 0;
  }

  /** @param {Float32Array[][]} inputs @param {Float32Array[][]} outputs */
  process(inputs, outputs) {
    const input = inputs[0];
    const output = outputs[0];
    const frames = output[0].length;
    if (input.length === 0) {
      // not connected to the stream yet: no frame of the tab, nothing counted (playback waits too)
      for (const channel of output) channel.fill(0);
      return true;
    }
    const written = Atomics.load(this.state, CAPTURED);
    const left = input[0];
    const right = input[1] ?? input[0]; // a mono stream is the model's stereo, duplicated
    if (written === 0 && this.skipped < this.leadFrames && isZero(left) && isZero(right)) {
      // Chromium's tab stream begins with ~0.1 s of digital zeros where the tab, muted, played
      // (that audio is never delivered): not counted, so that frame 0 of the capture, the
      // recorded mix and the delayed stems begin with the tab's sound (a paused tab is waited
      // for only leadFrames, then counted: live-silence.js pauses the capture).
      this.skipped += frames;
      for (const channel of output) channel.fill(0);
      return true;
    }
    for (let i = 0; i < frames; i++) {
      const at = ((written + i) % this.capacity) * 2;
      this.ring[at] = left ? left[i] : 0;
      this.ring[at + 1] = right ? right[i] : 0;
    }
    for (let c = 0; c < output.length; c++) {
      const source = c === 0 ? left : right;
      if (source) output[c].set(source);
      else output[c].fill(0);
    }
    Atomics.store(this.state, CAPTURED, written + frames);
    return true;
  }
}

class PlaybackProcessor extends scope.AudioWorkletProcessor {
  /**
   * @param {{processorOptions: {stems: SharedArrayBuffer, stamps: SharedArrayBuffer,
   *   gains: SharedArrayBuffer, health: SharedArrayBuffer, record: SharedArrayBuffer | null,
   *   captureState: SharedArrayBuffer,
   *   nbStems: number, capacity: number, hop: number, latency: number, delay: number, fade: number}}} options
   */
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.stems = new Float32Array(o.stems);
    this.stamps = new Int32Array(o.stamps);
    this.gains = new Float32Array(o.gains);
    this.health = new Int32Array(o.health);
    this.record = o.record ? new Float32Array(o.record) : null;
    this.captureState = new Int32Array(o.captureState);
    this.nbStems = o.nbStems;
    this.capacity = o.capacity;
    this.hop = o.hop;
    this.latency = o.latency;
    this.delay = o.delay;
    this.nbSlots = this.stamps.length;
    // The original, kept for `delay` frames: the fallback when the stems of a frame are missing.
    this.originalCapacity = o.delay + 4096;
    this.original = new Float32Array(2 * this.originalCapacity);
    this.applied = Float32Array.from(this.gains); // ramped towards `gains` over one quantum
    this.target = new Float32Array(this.nbStems);
    this.rendered = 0;
    this.fallingBack = false;
    this.fade = o.fade;
    /** Render frames into the cross-fade to the delayed stems; -1 while the original plays as it comes. */
    this.faded = -1;
  }

  /** Whether the blocks of source frames [from, from + frames) are all written. @param {number} from @param {number} frames */
  ready(from, frames) {
    if (from < 0) return false;
    const last = Math.floor((from + frames - 1 + this.latency) / this.hop);
    for (let block = Math.floor((from + this.latency) / this.hop); block <= last; block++) {
      if (Atomics.load(this.stamps, block % this.nbSlots) !== block + 1) return false;
    }
    return true;
  }

  /** @param {Float32Array[][]} inputs @param {Float32Array[][]} outputs */
  process(inputs, outputs) {
    const input = inputs[0];
    const [outLeft, outRight] = outputs[0];
    const frames = outLeft.length;
    if (Atomics.load(this.captureState, CAPTURED) === 0) {
      // Render frame m is captured frame m: both count from the first quantum of the tab's audio
      // (the capture node, upstream, ran first in this quantum).
      outLeft.fill(0);
      outRight?.fill(0);
      return true;
    }
    const m0 = this.rendered;
    for (let i = 0; i < frames; i++) {
      const at = ((m0 + i) % this.originalCapacity) * 2;
      this.original[at] = input[0] ? input[0][i] : 0;
      this.original[at + 1] = input[1] ? input[1][i] : this.original[at];
    }
    for (let s = 0; s < this.nbStems; s++) this.target[s] = this.gains[s];
    if (this.faded < 0 && this.ready(m0 - this.delay, frames)) {
      this.faded = 0;
      Atomics.store(this.health, HEALTH.SWITCHED, m0);
    }
    let fellBack = 0;
    for (let i = 0; i < frames; i++) {
      const f = m0 + i - this.delay;
      const at0 = ((m0 + i) % this.originalCapacity) * 2;
      if (this.faded < 0) {
        outLeft[i] = this.original[at0];
        if (outRight) outRight[i] = this.original[at0 + 1];
        continue;
      }
      const block = Math.floor((f + this.latency) / this.hop);
      let left = 0;
      let right = 0;
      if (Atomics.load(this.stamps, block % this.nbSlots) === block + 1) {
        const ramp = (i + 1) / frames;
        const base = (f % this.capacity) * 2;
        for (let s = 0; s < this.nbStems; s++) {
          const gain = this.applied[s] + (this.target[s] - this.applied[s]) * ramp;
          const at = s * this.capacity * 2 + base;
          left += gain * this.stems[at];
          right += gain * this.stems[at + 1];
        }
      } else {
        const at = (f % this.originalCapacity) * 2;
        left = this.original[at];
        right = this.original[at + 1];
        fellBack += 1;
      }
      if (this.faded < this.fade) {
        // uncorrelated signals (`delay` frames apart): equal power, cos² + sin² = 1
        const x = (this.faded++ + 0.5) / this.fade;
        const from = Math.cos(0.5 * Math.PI * x);
        const to = Math.sin(0.5 * Math.PI * x);
        left = from * this.original[at0] + to * left;
        right = from * this.original[at0 + 1] + to * right;
      }
      outLeft[i] = left;
      if (outRight) outRight[i] = right;
    }
    this.applied.set(this.target);
    if (fellBack > 0) {
      Atomics.add(this.health, HEALTH.UNDERRUN_QUANTA, 1);
      Atomics.add(this.health, HEALTH.FALLBACK_FRAMES, fellBack);
      if (!this.fallingBack) Atomics.add(this.health, HEALTH.UNDERRUNS, 1);
    }
    this.fallingBack = fellBack > 0;
    if (this.record) {
      const recorded = Atomics.load(this.health, HEALTH.RECORDED);
      const slots = this.record.length / 2;
      for (let i = 0; i < frames; i++) {
        const at = ((recorded + i) % slots) * 2;
        this.record[at] = outLeft[i];
        this.record[at + 1] = outRight ? outRight[i] : outLeft[i];
      }
      Atomics.store(this.health, HEALTH.RECORDED, recorded + frames);
    }
    this.rendered = m0 + frames;
    Atomics.store(this.health, HEALTH.RENDERED, this.rendered);
    return true;
  }
}

scope.registerProcessor('demixer-capture', CaptureProcessor);
scope.registerProcessor('demixer-playback', PlaybackProcessor);
