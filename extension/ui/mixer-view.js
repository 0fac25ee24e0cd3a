// @ts-check
/**
 * The stem mixer of a done job (the page, and compact in the popup): one transport playing every
 * stem through one Web Audio graph on one clock, per stem a waveform that seeks on click, a
 * level, mute and solo; presets; "Download this mix".
 *
 * Memory: opening the mixer decodes every stem whole into AudioBuffers at the stems' own rate
 * (32-bit float: stems x channels x 4 bytes x rate per second, 21 MB per stereo stem-minute at
 * 44.1 kHz; 4 minutes of 4 stems = 340 MB); they are released when it is closed. Decoding is
 * deferred to the first opening so that a list of done jobs costs nothing.
 */
import WaveformData from '../vendor/waveform-data.js';
import { t } from '../shared/i18n.js';
import { getStem } from '../shared/store.js';
import { encodeAudio } from '../shared/encode-audio.js';
import { chosenFormat } from './stem-files.js';
import { safeFileName } from '../shared/names.js';
import {
  MAX_LEVEL, PRESETS, clampTime, clockText, effectiveGains, mixChunks, mixSuffix, presetOf, presetStrips,
  sampleRateOf, stemColor,
} from '../shared/mix.js';
import { NEUTRAL, loopOf, needsStretch, practiceSuffix, songTime, startOf, withPractice } from '../shared/practice.js';
import { el, saveBlob } from './dom.js';
import { errorText } from '../shared/errors.js';
import { createStretch } from './stretch-node.js';
import { loadStretch, renderStretched, stretchSegment } from './stretch-render.js';
import { renderPractice } from './practice-view.js';

/** @typedef {import('../shared/jobs.js').Job} Job */
/** @typedef {import('../shared/mix.js').Strip} Strip */
/** @typedef {import('../shared/practice.js').Practice} Practice */
/** @typedef {import('./stretch-node.js').StretchNode} StretchNode */

/** All stems start this far after "play", on the context's clock: time to start N sources. */
const START_LEAD_S = 0.05;
const SEEK_STEP_S = 5;
const WAVEFORM_PIXELS = 600;
/** A pointer moved this far on a waveform between press and release is a drag (a loop), not a click. */
const DRAG_PIXELS = 6;
/** Steps of the key and tempo shortcuts. */
const TEMPO_STEP = 0.05;

/** @type {Record<import('../shared/mix.js').Preset, string>} */
const PRESET_KEYS = { original: 'mixerPresetOriginal', karaoke: 'mixerPresetKaraoke', acappella: 'mixerPresetAcappella' };

/**
 * One transport over N AudioBuffers: play / pause / seek, at the practice controls' key, tempo and
 * loop. Every stem of a play starts at the same `when` of the one AudioContext, so the stems
 * cannot drift apart. At the song's key and tempo the stems play as AudioBufferSourceNodes
 * (sample for sample; a loop is the buffer's own); with a key or tempo change, through one
 * Signalsmith Stretch node per stem (made at the first such play), all scheduled on that clock.
 * `time` is always song time: what the display and the waveforms show.
 */
class Transport {
  /** @param {AudioContext} context @param {AudioBuffer[]} buffers @param {GainNode[]} gains */
  constructor(context, buffers, gains) {
    this.context = context;
    this.buffers = buffers;
    this.gains = gains;
    this.duration = Math.max(...buffers.map((b) => b.duration));
    /** @type {Practice} */
    this.practice = NEUTRAL;
    /** @type {AudioBufferSourceNode[]} */
    this.sources = [];
    /** @type {StretchNode[] | null} */
    this.stretchers = null;
    /** @type {Promise<void> | null} the stretch nodes being made; a play waits for them */
    this.making = null;
    /** Schedules a stretch node this far ahead: its own latency (it compensates for it). */
    this.stretchLead = START_LEAD_S;
    /** @type {'plain' | 'stretch' | null} what is sounding; null while paused */
    this.mode = null;
    /** Play wanted while the stretch nodes are being made. */
    this.waiting = false;
    /** A play from song time `offset` at context time `startedAt`, at `tempo`. */
    this.offset = 0;
    this.startedAt = 0;
    this.tempo = 1;
    /** The `when` each stem of the last play was started at (read by tests/e2e/test_mixer.py). */
    /** @type {number[]} */
    this.starts = [];
    /** @type {() => void} */
    this.onchange = () => {};
    /** @type {(error: unknown) => void} */
    this.onerror = () => {};
  }

  get playing() {
    return this.mode !== null;
  }

  /** Song time at context time `at` (now by default). */
  timeAt(at = this.context.currentTime) {
    if (!this.playing) return this.offset;
    return songTime(this.offset, at - this.startedAt, this.tempo, this.practice.loop, this.duration);
  }

  get time() {
    return this.timeAt();
  }

  /** Past the end of the song with no loop to bring it back (the stretch path's end). */
  get ended() {
    return this.playing && !this.practice.loop && this.time >= this.duration;
  }

  play() {
    if (this.playing) return;
    if (needsStretch(this.practice) && !this.stretchers) {
      this.waiting = true;
      this.making ??= this.makeStretchers().then(
        () => {
          this.making = null;
          if (this.waiting) this.play();
        },
        (error) => {
          this.making = null;
          this.waiting = false;
          this.onerror(error);
        },
      );
      this.onchange();
      return;
    }
    this.waiting = false;
    this.context.resume().catch(() => {});
    const stretch = needsStretch(this.practice);
    const when = this.context.currentTime + (stretch ? this.stretchLead : START_LEAD_S);
    this.begin(when, this.offset >= this.duration ? 0 : this.offset);
    this.onchange();
  }

  /**
   * Sound from song time `from` (moved into the loop if outside it) at context time `when`.
   * @param {number} when @param {number} from
   */
  begin(when, from) {
    const start = startOf(from, this.practice.loop);
    if (needsStretch(this.practice)) this.startStretch(when, start);
    else this.startPlain(when, start);
    this.offset = start;
    this.startedAt = when;
    this.tempo = this.practice.tempo;
    this.starts = this.buffers.map(() => when);
  }

  /** @param {number} when @param {number} from */
  startPlain(when, from) {
    const { loop } = this.practice;
    this.sources = this.buffers.map((buffer, i) => {
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      if (loop) Object.assign(source, { loop: true, loopStart: loop.a, loopEnd: loop.b });
      source.connect(this.gains[i]);
      source.start(when, from);
      return source;
    });
    this.mode = 'plain';
    if (loop) return;
    const longest = this.sources[this.buffers.findIndex((b) => b.duration === this.duration)];
    // the end of the track (a pause or seek unset it first): back to the start, paused
    longest.onended = () => this.finish();
  }

  /** @param {number} when @param {number} from */
  startStretch(when, from) {
    for (const node of this.stretchers ?? []) node.schedule(stretchSegment(this.practice, when, from));
    this.mode = 'stretch';
  }

  /** The song played to its end: back to the start, paused. */
  finish() {
    this.stopSources();
    this.offset = 0;
    this.onchange();
  }

  pause() {
    this.waiting = false;
    if (!this.playing) return this.onchange();
    this.offset = this.time;
    this.stopSources();
    this.onchange();
  }

  /** @param {number} seconds */
  seek(seconds) {
    const playing = this.playing;
    if (playing) this.stopSources();
    this.offset = clampTime(seconds, this.duration);
    if (playing) this.play();
    else this.onchange();
  }

  /**
   * New key, tempo or loop. While playing, the sound goes on from where the change takes effect:
   * a stretch node glides to its new segment; between the plain and the stretch path the one
   * stops at the `when` the other starts.
   * @param {Practice} practice
   */
  setPractice(practice) {
    if (!this.playing) {
      this.practice = practice;
      this.onchange();
      return;
    }
    if (needsStretch(practice) && !this.stretchers) {
      this.pause();
      this.practice = practice;
      this.play();
      return;
    }
    const stretch = needsStretch(practice);
    const when = this.context.currentTime + (stretch || this.mode === 'stretch' ? this.stretchLead : START_LEAD_S);
    const from = this.timeAt(when);
    this.stopSources(when, stretch);
    this.practice = practice;
    this.begin(when, from);
    this.onchange();
  }

  /**
   * @param {number} [when]  context time (now by default)
   * @param {boolean} [keepStretch]  a new stretch segment follows at `when` (it replaces this one)
   */
  stopSources(when = this.context.currentTime, keepStretch = false) {
    for (const source of this.sources) {
      source.onended = () => source.disconnect();
      source.stop(when);
    }
    this.sources = [];
    if (this.mode === 'stretch' && !keepStretch) for (const node of this.stretchers ?? []) node.stop(when);
    this.mode = null;
  }

  /** One stretch node per stem, each with a copy of its stem, into the stem's gain. */
  async makeStretchers() {
    const nodes = await Promise.all(this.buffers.map((b) => createStretch(this.context, b.numberOfChannels)));
    await Promise.all(nodes.map((node, i) => loadStretch(node, this.buffers[i])));
    nodes.forEach((node, i) => node.connect(this.gains[i]));
    this.stretchLead = Math.max(START_LEAD_S, await nodes[0].latency());
    this.stretchers = nodes;
  }

  close() {
    this.waiting = false;
    this.stopSources();
    for (const node of this.stretchers ?? []) node.disconnect();
  }
}

/** @param {AudioBuffer} buffer @returns {Promise<WaveformData>} */
function peaksOf(buffer) {
  const scale = Math.max(1, Math.ceil(buffer.length / WAVEFORM_PIXELS));
  return new Promise((resolve, reject) =>
    // no worker: it would take (transfer) the AudioBuffer's own channel data
    WaveformData.createFromAudio({ audio_buffer: buffer, scale, disable_worker: true }, (error, data) =>
      error ? reject(error) : resolve(/** @type {WaveformData} */ (data)),
    ),
  );
}

/**
 * @param {HTMLCanvasElement} canvas @param {WaveformData} peaks @param {string} color
 * @param {number} played  fraction of the track before the playhead
 * @param {{a: number, b: number} | null} loop  fractions of the track, shaded
 */
function drawWaveform(canvas, peaks, color, played, loop) {
  const context = canvas.getContext('2d');
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  if (loop) {
    context.fillStyle = `${color}33`;
    context.fillRect(loop.a * width, 0, (loop.b - loop.a) * width, height);
  }
  const channel = peaks.channel(0);
  const step = width / peaks.length;
  const middle = height / 2;
  for (let x = 0; x < peaks.length; x++) {
    const top = middle - (channel.max_sample(x) / 128) * middle;
    const bottom = middle - (channel.min_sample(x) / 128) * middle;
    context.fillStyle = x / peaks.length < played ? color : `${color}88`;
    context.fillRect(x * step, top, Math.max(1, step), Math.max(1, bottom - top));
  }
  context.fillStyle = 'currentColor';
  context.fillRect(Math.round(played * width), 0, 1, height);
}

/**
 * The mixer of `job`, in a closed `<details>` that decodes the stems when first opened.
 * @param {Job} job
 * @returns {HTMLDetailsElement}
 */
export function renderMixer(job) {
  const root = el('details', { class: 'mixer', 'data-job': job.id, 'data-state': 'closed' });
  root.append(el('summary', {}, [t('mixerOpen')]));
  /** @type {(() => void) | null} */
  let dispose = null;
  root.addEventListener('toggle', () => {
    if (root.open && !dispose) {
      root.dataset.state = 'loading';
      openMixer(root, job).then(
        (close) => {
          dispose = close;
        },
        (error) => {
          root.dataset.state = 'failed';
          root.append(el('p', { class: 'error', role: 'alert' }, [errorText(error)]));
        },
      );
    } else if (!root.open && dispose) {
      dispose();
      dispose = null;
      root.replaceChildren(/** @type {HTMLElement} */ (root.firstElementChild));
      root.dataset.state = 'closed';
    }
  });
  return root;
}

/**
 * @param {HTMLElement} root @param {Job} job
 * @returns {Promise<() => void>} closes the mixer (stops playback, frees the decoded audio)
 */
async function openMixer(root, job) {
  const stems = (job.stems ?? []).map(({ stem }) => stem);
  const blobs = await Promise.all(stems.map((stem) => getStem(job.id, stem)));
  if (blobs.some((blob) => !blob)) throw new Error(t('mixerStemsGone'));
  const files = /** @type {Blob[]} */ (blobs);
  const rate = sampleRateOf(new Uint8Array(await files[0].slice(0, 64).arrayBuffer()));
  // at the stems' rate: decoding does not resample them, and the export is sample-exact
  const context = new AudioContext(rate ? { sampleRate: rate } : {});
  /** @type {AudioBuffer[]} */
  let buffers;
  try {
    buffers = await Promise.all(files.map(async (blob) => context.decodeAudioData(await blob.arrayBuffer())));
  } catch (error) {
    context.close();
    throw new Error(t('mixerDecodeFailed', errorText(error)));
  }
  const master = context.createGain();
  master.connect(context.destination);
  const gainNodes = buffers.map(() => {
    const gain = context.createGain();
    gain.connect(master);
    return gain;
  });
  const transport = new Transport(context, buffers, gainNodes);
  /** @type {Strip[]} */
  let strips = presetStrips('original', stems);
  /** @type {Practice} */
  let practice = NEUTRAL;
  /** The loop's A, set at the playhead before its B. @type {number | null} */
  let markedA = null;
  const peaks = await Promise.all(buffers.map(peaksOf));

  const play = el('button', { class: 'mixer-play', type: 'button', 'aria-label': t('mixerPlay') }, ['▶']);
  const time = el('span', { class: 'mixer-time', 'aria-live': 'off' }, ['0:00']);
  const seek = el('input', {
    class: 'mixer-seek', type: 'range', min: '0', max: String(transport.duration), step: '0.1', value: '0',
    'aria-label': t('mixerSeek'),
  });
  const presets = PRESETS.map((preset) =>
    el('button', { class: 'mixer-preset', type: 'button', 'data-preset': preset, 'aria-pressed': 'false' }, [
      t(PRESET_KEYS[preset]),
    ]),
  );
  const download = el('button', { class: 'mixer-download', type: 'button' }, [t('mixerDownload')]);
  const status = el('p', { class: 'mixer-status', role: 'status' });

  const rows = stems.map((stem, i) => {
    const color = stemColor(i);
    const canvas = el('canvas', {
      class: 'mixer-wave', width: String(WAVEFORM_PIXELS), height: '48', tabindex: '0', role: 'slider',
      'aria-label': t('mixerWaveform', stem), 'aria-valuemin': '0', 'aria-valuemax': String(Math.round(transport.duration)),
    });
    const level = el('input', {
      class: 'mixer-level', type: 'range', min: '0', max: String(MAX_LEVEL), step: '0.05', value: '1',
      'aria-label': t('mixerLevel', stem),
    });
    const mute = el('button', { class: 'mixer-mute', type: 'button', 'aria-pressed': 'false', 'aria-label': t('mixerMute', stem) }, ['M']);
    const solo = el('button', { class: 'mixer-solo', type: 'button', 'aria-pressed': 'false', 'aria-label': t('mixerSolo', stem) }, ['S']);
    const name = el('span', { class: 'mixer-name' }, [stem]);
    const row = el('div', { class: 'mixer-stem', 'data-stem': stem }, [name, canvas, level, mute, solo]);
    row.style.setProperty('--stem-color', color);
    // a click seeks; a drag across the waveform sets the loop over what it covered
    const timeAtX = (/** @type {number} */ x) => {
      const box = canvas.getBoundingClientRect();
      return clampTime(((x - box.left) / box.width) * transport.duration, transport.duration);
    };
    /** @type {number | null} */
    let dragFrom = null;
    canvas.addEventListener('pointerdown', (event) => {
      dragFrom = event.clientX;
      canvas.setPointerCapture(event.pointerId); // a drag that ends past the waveform still ends here
    });
    canvas.addEventListener('pointerup', (event) => {
      const from = dragFrom;
      dragFrom = null;
      if (from === null) return;
      if (Math.abs(event.clientX - from) >= DRAG_PIXELS) {
        const loop = loopOf(timeAtX(from), timeAtX(event.clientX), transport.duration);
        if (loop) setPractice(withPractice(practice, { loop }));
      } else transport.seek(timeAtX(event.clientX));
    });
    level.addEventListener('input', () => {
      strips = strips.map((s, j) => (j === i ? { ...s, level: Number(level.value) } : s));
      apply();
    });
    mute.addEventListener('click', () => {
      strips = strips.map((s, j) => (j === i ? { ...s, muted: !s.muted } : s));
      apply();
    });
    solo.addEventListener('click', () => {
      strips = strips.map((s, j) => (j === i ? { ...s, soloed: !s.soloed } : s));
      apply();
    });
    return { row, canvas, level, mute, solo, color };
  });

  /** The controls and the graph's gains follow `strips`. */
  const apply = () => {
    const gains = effectiveGains(strips);
    gainNodes.forEach((node, i) => node.gain.setTargetAtTime(gains[i], context.currentTime, 0.01));
    rows.forEach(({ row, level, mute, solo }, i) => {
      level.value = String(strips[i].level);
      mute.setAttribute('aria-pressed', String(strips[i].muted));
      solo.setAttribute('aria-pressed', String(strips[i].soloed));
      row.dataset.gain = String(gains[i]);
    });
    const current = presetOf(strips, stems);
    for (const button of presets) button.setAttribute('aria-pressed', String(button.dataset.preset === current));
  };
  for (const button of presets) {
    button.addEventListener('click', () => {
      strips = presetStrips(/** @type {import('../shared/mix.js').Preset} */ (button.dataset.preset), stems);
      apply();
    });
  }

  const drawn = { time: -1 };
  const draw = () => {
    const now = transport.time;
    if (now === drawn.time) return;
    drawn.time = now;
    time.textContent = `${clockText(now)} / ${clockText(transport.duration)}`;
    if (document.activeElement !== seek) seek.value = String(now);
    rows.forEach(({ canvas, color }, i) => {
      const { loop } = practice;
      const shaded = loop && { a: loop.a / transport.duration, b: loop.b / transport.duration };
      drawWaveform(canvas, peaks[i], color, now / transport.duration, shaded);
      canvas.setAttribute('aria-valuenow', String(Math.round(now)));
      canvas.setAttribute('aria-valuetext', clockText(now));
    });
  };
  transport.onchange = () => {
    play.textContent = transport.playing ? '⏸' : '▶';
    play.setAttribute('aria-label', t(transport.playing ? 'mixerPause' : 'mixerPlay'));
    root.dataset.state = transport.playing ? 'playing' : transport.waiting ? 'preparing' : 'paused';
    root.dataset.starts = transport.starts.join(' ');
    draw();
  };
  transport.onerror = (error) => {
    status.textContent = errorText(error);
    transport.onchange();
  };

  /** @param {Practice} next */
  const setPractice = (next) => {
    practice = next;
    transport.setPractice(next);
    practiceView.show(next);
    drawn.time = -1;
    draw();
  };
  /** @type {import('./practice-view.js').PracticeActions} */
  const practiceActions = {
    change: (change) => setPractice(withPractice(practice, change)),
    markA: () => {
      markedA = transport.time;
      setPractice(withPractice(practice, { loop: null }));
    },
    markB: () => {
      const loop = loopOf(markedA ?? 0, transport.time, transport.duration);
      if (loop) setPractice(withPractice(practice, { loop }));
    },
    clearLoop: () => {
      markedA = null;
      setPractice(withPractice(practice, { loop: null }));
    },
  };
  const practiceView = renderPractice(practiceActions);
  const toggle = () => (transport.playing || transport.waiting ? transport.pause() : transport.play());
  /** @type {Record<string, () => void>} the keys listed by practice-view.js's SHORTCUTS */
  const keys = {
    ' ': toggle,
    ArrowLeft: () => transport.seek(transport.time - SEEK_STEP_S),
    ArrowRight: () => transport.seek(transport.time + SEEK_STEP_S),
    '[': () => practiceActions.markA(),
    ']': () => practiceActions.markB(),
    '\\': () => practiceActions.clearLoop(),
    '-': () => setPractice(withPractice(practice, { semitones: practice.semitones - 1 })),
    '=': () => setPractice(withPractice(practice, { semitones: practice.semitones + 1 })),
    ',': () => setPractice(withPractice(practice, { tempo: practice.tempo - TEMPO_STEP })),
    '.': () => setPractice(withPractice(practice, { tempo: practice.tempo + TEMPO_STEP })),
  };
  play.addEventListener('click', toggle);
  seek.addEventListener('input', () => transport.seek(Number(seek.value)));
  download.addEventListener('click', () =>
    exportMix(job, stems, buffers, effectiveGains(strips), presetOf(strips, stems), practice, download, status),
  );
  // Space and the arrows, wherever focus is in the mixer, except on controls that use them
  root.addEventListener('keydown', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    // sliders use the arrows, buttons and the summary use Space: theirs
    const arrow = event.key === 'ArrowLeft' || event.key === 'ArrowRight';
    const own = (target instanceof HTMLInputElement && arrow) || (target instanceof HTMLButtonElement && !arrow);
    const action = keys[event.key];
    if (own || target.tagName === 'SUMMARY' || !action || event.ctrlKey || event.metaKey || event.altKey) return;
    action();
    event.preventDefault();
  });

  const panel = el('div', { class: 'mixer-panel' }, [
    el('div', { class: 'mixer-transport' }, [play, seek, time]),
    el('div', { class: 'mixer-presets', role: 'group', 'aria-label': t('mixerPresets') }, presets),
    practiceView.element,
    ...rows.map((r) => r.row),
    el('div', { class: 'mixer-actions' }, [download]),
    status,
  ]);
  root.append(panel);
  apply();
  practiceView.show(practice);
  transport.onchange();
  const timer = setInterval(() => {
    // a row rebuilt or removed from the list takes its mixer with it: stop the sound too
    if (!root.isConnected) close();
    else if (transport.ended) transport.finish();
    else if (transport.playing) draw();
  }, 100);
  const close = () => {
    clearInterval(timer);
    transport.close();
    context.close().catch(() => {});
  };
  return close;
}

/**
 * Render the current levels to a file and download it. The stems are checked in storage first:
 * a job removed meanwhile gives a message, not a mix of what happened to be decoded. Nothing is
 * written to storage: the mix is built in memory and handed to the browser's download.
 * @param {Job} job @param {string[]} stems @param {AudioBuffer[]} buffers @param {number[]} gains
 * @param {import('../shared/mix.js').Preset | null} preset @param {Practice} practice  its key and
 * tempo are rendered (not its loop) @param {HTMLButtonElement} button @param {HTMLElement} status
 */
async function exportMix(job, stems, buffers, gains, preset, practice, button, status) {
  button.disabled = true;
  status.textContent = t('mixerExporting');
  try {
    const stored = await Promise.all(stems.map((stem) => getStem(job.id, stem)));
    if (stored.some((blob) => !blob)) throw new Error(t('mixerStemsGone'));
    const format = await chosenFormat();
    const channels = buffers.map((b) => Array.from({ length: b.numberOfChannels }, (_, c) => b.getChannelData(c)));
    // at the song's key and tempo, the plain sum (sample-exact); otherwise through the stretcher
    const mix = needsStretch(practice) ? await renderStretched(buffers, gains, practice) : mixChunks(channels, gains);
    const spec = { format: format.id, sampleRate: buffers[0].sampleRate, channels: mix.nbChannels };
    const file = await encodeAudio(spec, mix.chunks);
    saveBlob(file, `${safeFileName(job.name)}-${mixSuffix(preset)}${practiceSuffix(practice)}.${format.extension}`);
    status.textContent = t('mixerExported');
  } catch (error) {
    status.textContent = t('mixerExportFailed', errorText(error));
  } finally {
    button.disabled = false;
  }
}
