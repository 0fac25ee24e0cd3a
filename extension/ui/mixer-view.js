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
import { el, saveBlob } from './dom.js';
import { errorText } from '../shared/errors.js';

/** @typedef {import('../shared/jobs.js').Job} Job */
/** @typedef {import('../shared/mix.js').Strip} Strip */

/** All stems start this far after "play", on the context's clock: time to start N sources. */
const START_LEAD_S = 0.05;
const SEEK_STEP_S = 5;
const WAVEFORM_PIXELS = 600;

/** @type {Record<import('../shared/mix.js').Preset, string>} */
const PRESET_KEYS = { original: 'mixerPresetOriginal', karaoke: 'mixerPresetKaraoke', acappella: 'mixerPresetAcappella' };

/**
 * One transport over N AudioBuffers: play / pause / seek; every source of a play starts at the
 * same `when` of the one AudioContext, so the stems cannot drift apart.
 */
class Transport {
  /** @param {AudioContext} context @param {AudioBuffer[]} buffers @param {GainNode[]} gains */
  constructor(context, buffers, gains) {
    this.context = context;
    this.buffers = buffers;
    this.gains = gains;
    this.duration = Math.max(...buffers.map((b) => b.duration));
    /** @type {AudioBufferSourceNode[]} */
    this.sources = [];
    this.offset = 0;
    this.startedAt = 0;
    /** The `when` each source of the last play was started at (read by tests/e2e/test_mixer.py). */
    /** @type {number[]} */
    this.starts = [];
    /** @type {() => void} */
    this.onchange = () => {};
  }

  get playing() {
    return this.sources.length > 0;
  }

  get time() {
    if (!this.playing) return this.offset;
    return clampTime(this.offset + Math.max(0, this.context.currentTime - this.startedAt), this.duration);
  }

  play() {
    if (this.playing) return;
    if (this.offset >= this.duration) this.offset = 0;
    this.context.resume().catch(() => {});
    const when = this.context.currentTime + START_LEAD_S;
    this.sources = this.buffers.map((buffer, i) => {
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.gains[i]);
      source.start(when, this.offset);
      return source;
    });
    this.starts = this.sources.map(() => when);
    this.startedAt = when;
    const longest = this.sources[this.buffers.findIndex((b) => b.duration === this.duration)];
    // the end of the track (a pause or seek unset it first): back to the start, paused
    longest.onended = () => {
      this.stopSources();
      this.offset = 0;
      this.onchange();
    };
    this.onchange();
  }

  pause() {
    if (!this.playing) return;
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

  stopSources() {
    for (const source of this.sources) {
      source.onended = null;
      source.stop();
      source.disconnect();
    }
    this.sources = [];
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
 */
function drawWaveform(canvas, peaks, color, played) {
  const context = canvas.getContext('2d');
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
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
    canvas.addEventListener('click', (event) => {
      const box = canvas.getBoundingClientRect();
      transport.seek(((event.clientX - box.left) / box.width) * transport.duration);
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
      drawWaveform(canvas, peaks[i], color, now / transport.duration);
      canvas.setAttribute('aria-valuenow', String(Math.round(now)));
      canvas.setAttribute('aria-valuetext', clockText(now));
    });
  };
  transport.onchange = () => {
    play.textContent = transport.playing ? '⏸' : '▶';
    play.setAttribute('aria-label', t(transport.playing ? 'mixerPause' : 'mixerPlay'));
    root.dataset.state = transport.playing ? 'playing' : 'paused';
    root.dataset.starts = transport.starts.join(' ');
    draw();
  };
  play.addEventListener('click', () => (transport.playing ? transport.pause() : transport.play()));
  seek.addEventListener('input', () => transport.seek(Number(seek.value)));
  download.addEventListener('click', () => exportMix(job, stems, buffers, effectiveGains(strips), presetOf(strips, stems), download, status));
  // Space and the arrows, wherever focus is in the mixer, except on controls that use them
  root.addEventListener('keydown', (event) => {
    const target = /** @type {HTMLElement} */ (event.target);
    // sliders use the arrows, buttons and the summary use Space: theirs
    const arrow = event.key === 'ArrowLeft' || event.key === 'ArrowRight';
    const own = (target instanceof HTMLInputElement && arrow) || (target instanceof HTMLButtonElement && !arrow);
    if (own || target.tagName === 'SUMMARY') return;
    if (event.key === ' ') transport.playing ? transport.pause() : transport.play();
    else if (event.key === 'ArrowLeft') transport.seek(transport.time - SEEK_STEP_S);
    else if (event.key === 'ArrowRight') transport.seek(transport.time + SEEK_STEP_S);
    else return;
    event.preventDefault();
  });

  const panel = el('div', { class: 'mixer-panel' }, [
    el('div', { class: 'mixer-transport' }, [play, seek, time]),
    el('div', { class: 'mixer-presets', role: 'group', 'aria-label': t('mixerPresets') }, presets),
    ...rows.map((r) => r.row),
    el('div', { class: 'mixer-actions' }, [download]),
    status,
  ]);
  root.append(panel);
  apply();
  transport.onchange();
  const timer = setInterval(() => {
    // a row rebuilt or removed from the list takes its mixer with it: stop the sound too
    if (!root.isConnected) close();
    else if (transport.playing) draw();
  }, 100);
  const close = () => {
    clearInterval(timer);
    transport.stopSources();
    context.close().catch(() => {});
  };
  return close;
}

/**
 * Render the current levels to a file and download it. The stems are checked in storage first:
 * a job removed meanwhile gives a message, not a mix of what happened to be decoded. Nothing is
 * written to storage: the mix is built in memory and handed to the browser's download.
 * @param {Job} job @param {string[]} stems @param {AudioBuffer[]} buffers @param {number[]} gains
 * @param {import('../shared/mix.js').Preset | null} preset @param {HTMLButtonElement} button
 * @param {HTMLElement} status
 */
async function exportMix(job, stems, buffers, gains, preset, button, status) {
  button.disabled = true;
  status.textContent = t('mixerExporting');
  try {
    const stored = await Promise.all(stems.map((stem) => getStem(job.id, stem)));
    if (stored.some((blob) => !blob)) throw new Error(t('mixerStemsGone'));
    const format = await chosenFormat();
    const channels = buffers.map((b) => Array.from({ length: b.numberOfChannels }, (_, c) => b.getChannelData(c)));
    const mix = mixChunks(channels, gains);
    const spec = { format: format.id, sampleRate: buffers[0].sampleRate, channels: mix.nbChannels };
    const file = await encodeAudio(spec, mix.chunks);
    saveBlob(file, `${safeFileName(job.name)}-${mixSuffix(preset)}.${format.extension}`);
    status.textContent = t('mixerExported');
  } catch (error) {
    status.textContent = t('mixerExportFailed', errorText(error));
  } finally {
    button.disabled = false;
  }
}
