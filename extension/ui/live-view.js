// @ts-check
/**
 * The live mixer, shared by the popup and the full-tab page: while a tab is being demixed, one
 * level slider per stem of the model, the presets, Keep stems, Stop, the latency and whether
 * separation keeps up. It follows the background's `live` record in storage.session; a change is
 * sent at once (the playback worklet applies it within one render quantum).
 */
import { api } from '../platform/browser-api.js';
import { MSG } from '../shared/messages.js';
import { tabStreamId } from '../platform/tab-capture.js';
import { sendToBackground } from './jobs-view.js';
import { t } from '../shared/i18n.js';
import { el } from './dom.js';
import { errorText } from '../shared/errors.js';

const PENDING_KEY = 'live-pending';
/** A menu click opens the popup at once; an older request is not the user's any more. */
const PENDING_MS = 10_000;

/** @typedef {import('../shared/messages.js').LiveRecord} LiveRecord */

/** Gains of the presets, from the model's stem names (nothing here knows a model's stems). */
export const PRESETS = Object.freeze({
  Karaoke: (/** @type {string[]} */ stems) => stems.map((s) => (/vocal/i.test(s) ? 0 : 1)),
  'A cappella': (/** @type {string[]} */ stems) => stems.map((s) => (/vocal/i.test(s) ? 1 : 0)),
  Original: (/** @type {string[]} */ stems) => stems.map(() => 1),
});

/** The presets' names as the user reads them (the keys above stay the same in every language). @type {Record<string, () => string>} */
const PRESET_LABELS = {
  Karaoke: () => t('livePresetKaraoke'),
  'A cappella': () => t('livePresetACappella'),
  Original: () => t('livePresetOriginal'),
};

/** @param {LiveRecord} live */
export function liveStatusText(live) {
  if (live.ended) {
    const kept = live.kept ? ` ${t('liveKeptNote')}` : '';
    return live.error ? `${t('liveStoppedWithError', live.error)}${kept}` : `${t('liveEnded', live.reason ?? '')}${kept}`;
  }
  if (live.starting || !live.health) return t('liveStarting');
  if (live.health.original) return t('liveOriginalFirst');
  const latency = t('liveLatency', live.health.latencyS.toFixed(1));
  if (live.health.paused) return t('livePaused');
  return live.health.fallingBehind
    ? `${latency} · ${t('liveFallingBehind')}`
    : `${latency} · ${t('liveRunning')}`;
}

/**
 * @param {HTMLElement} container
 * @param {{offerStart?: boolean}} [options]  offerStart: a "Demix this tab" button (the popup:
 *   its click invokes the extension for the active tab, which tabCapture requires)
 */
export async function mountLiveView(container, { offerStart = false } = {}) {
  const section = el('section', { class: 'live', 'aria-label': t('liveRegion') });
  const start = el('button', { id: 'live-start' }, [t('liveDemixTab')]);
  if (offerStart) {
    // The keyboard's way (manifest `commands`), as the user has set it in the browser, if at all.
    const command = (await api.commands.getAll().catch(() => [])).find((c) => c.name === 'demix-tab');
    if (command?.shortcut) {
      start.setAttribute('aria-keyshortcuts', command.shortcut);
      start.title = t('liveDemixTabShortcut', command.shortcut);
    }
  }
  const tabName = el('p', { class: 'live-tab' });
  const status = el('p', { class: 'live-status', role: 'status', 'aria-live': 'polite' });
  const mixer = el('div', { class: 'live-mixer' });
  section.append(...(offerStart ? [start] : []), tabName, status, mixer);
  container.append(section);
  /** @type {string} the capture whose controls are shown */
  let shown = '';
  /** @type {HTMLInputElement[]} */
  let sliders = [];
  /** @type {HTMLInputElement | null} */
  let keep = null;
  /** @type {{button: HTMLElement, gains: number[]}[]} */
  let presetButtons = [];

  /** The preset whose levels are set shows pressed (none when the levels are the user's own). @param {number[]} gains */
  function showPreset(gains) {
    for (const { button, gains: preset } of presetButtons) {
      const on = preset.length === gains.length && preset.every((g, i) => Math.abs(g - gains[i]) < 1e-6);
      button.setAttribute('aria-pressed', String(on));
    }
  }

  /** @param {{id?: number, title?: string} | undefined} tab */
  async function startTab(tab) {
    start.disabled = true;
    try {
      if (tab?.id === undefined) throw new Error(t('liveNoTab'));
      // Asked for here, not in the background: see background.js startLive.
      const streamId = await tabStreamId(tab.id);
      await sendToBackground(MSG.START_LIVE, { tabId: tab.id, title: tab.title, streamId });
    } catch (error) {
      status.textContent = t('liveCouldNotDemix', errorText(error));
    } finally {
      start.disabled = false;
    }
  }
  start.addEventListener('click', async () => {
    const [tab] = await api.tabs.query({ active: true, currentWindow: true });
    startTab(tab);
  });
  if (offerStart) {
    // The model loads while the user looks: a capture then mutes the tab only once it is warm.
    sendToBackground(MSG.PREPARE_LIVE, {}).catch(() => {});
    // Opened by the context menu's "Demix this tab" (background.js offerLive): start it.
    const stored = await api.storage.session.get(PENDING_KEY);
    const pending = /** @type {{tabId: number, title?: string, at: number} | undefined} */ (stored[PENDING_KEY]);
    if (pending && Date.now() - pending.at < PENDING_MS) {
      await api.storage.session.remove(PENDING_KEY);
      startTab({ id: pending.tabId, title: pending.title });
    }
  }

  /** @param {number[]} gains */
  const sendGains = (gains) => {
    showPreset(gains);
    sendToBackground(MSG.SET_LIVE_MIX, { gains }).catch(() => {});
  };

  /** @param {LiveRecord} live */
  function buildMixer(live) {
    sliders = live.stems.map((stem, index) => {
      const id = `live-gain-${index}`;
      const slider = /** @type {HTMLInputElement} */ (
        // full level (the stem as separated) at the right end: the stems then sum to the original
        el('input', { id, type: 'range', min: '0', max: '1', step: '0.05', 'data-stem': stem })
      );
      slider.value = String(live.gains[index] ?? 1);
      slider.addEventListener('input', () => sendGains(sliders.map((s) => Number(s.value))));
      return slider;
    });
    const rows = live.stems.map((stem, index) =>
      el('div', { class: 'live-stem' }, [el('label', { for: `live-gain-${index}` }, [stem]), sliders[index]]),
    );
    presetButtons = [];
    const presets = Object.entries(PRESETS).map(([name, gainsOf]) => {
      const button = el('button', { class: 'live-preset', 'data-preset': name, 'aria-pressed': 'false' }, [
        PRESET_LABELS[name]?.() ?? name,
      ]);
      presetButtons.push({ button, gains: gainsOf(live.stems) });
      button.addEventListener('click', () => {
        const gains = gainsOf(live.stems);
        sliders.forEach((s, i) => {
          s.value = String(gains[i]);
        });
        sendGains(gains);
      });
      return button;
    });
    keep = /** @type {HTMLInputElement} */ (el('input', { id: 'live-keep', type: 'checkbox' }));
    keep.checked = live.keep;
    const keepBox = keep;
    keepBox.addEventListener('change', () => sendToBackground(MSG.SET_LIVE_MIX, { keep: keepBox.checked }));
    const stop = el('button', { id: 'live-stop' }, [t('liveStop')]);
    stop.addEventListener('click', () => sendToBackground(MSG.STOP_LIVE, {}));
    mixer.replaceChildren(
      ...rows,
      el('div', { class: 'live-presets', role: 'group', 'aria-label': t('livePresets') }, presets),
      el('label', { class: 'live-keep' }, [keep, t('liveKeepStems')]),
      stop,
    );
    showPreset(live.gains.length === live.stems.length ? live.gains : live.stems.map(() => 1));
  }

  /** @param {LiveRecord | undefined} live */
  function render(live) {
    const running = Boolean(live && !live.ended);
    start.hidden = running;
    section.dataset.state = !live ? 'idle' : live.ended ? 'ended' : live.starting ? 'starting' : 'live';
    status.textContent = live ? liveStatusText(live) : '';
    // The page offers no start button: with no capture to show, the panel takes no room.
    section.hidden = !offerStart && !live;
    // Which tab is heard: the capture goes on when the user moves to another tab.
    tabName.textContent = running && live?.name ? t('liveTabName', live.name) : '';
    if (!live || live.ended || !live.stems.length) {
      mixer.replaceChildren();
      shown = '';
      return;
    }
    if (shown !== live.jobId) {
      shown = live.jobId;
      buildMixer(live);
    }
    if (keep && document.activeElement !== keep) keep.checked = live.keep;
    // Levels set elsewhere (the other view of the same capture) move the sliders here too.
    if (live.gains.length === sliders.length && !sliders.includes(/** @type {any} */ (document.activeElement))) {
      sliders.forEach((s, i) => {
        s.value = String(live.gains[i]);
      });
      showPreset(live.gains);
    }
  }

  const { live } = await api.storage.session.get('live');
  render(/** @type {LiveRecord | undefined} */ (live));
  api.storage.onChanged.addListener((changes, area) => {
    if (area === 'session' && changes.live) render(/** @type {LiveRecord | undefined} */ (changes.live.newValue));
  });
}
