// @ts-check
/**
 * The format setting's control: every format of shared/encode-audio.js, those this browser
 * cannot encode shown but disabled, with the reason beside the list.
 */
import { FORMATS, unsupportedReason } from '../shared/encode-audio.js';
import { loadSettings, saveSettings } from '../shared/settings.js';
import { t } from '../shared/i18n.js';

/** The common stem rates a format must take to be offered (a job's own rate is checked at download). */
const PROBE_RATES = [44100, 48000];

/** @param {HTMLSelectElement} select @param {HTMLElement} note */
export async function mountFormatSetting(select, note) {
  const reasons = [];
  for (const format of FORMATS) {
    const option = document.createElement('option');
    option.value = format.id;
    option.textContent = t(format.labelKey);
    const answers = await Promise.all(PROBE_RATES.map((rate) => unsupportedReason(format.id, rate, 2)));
    const reason = answers.every(Boolean) ? answers[0] : null;
    if (reason) {
      option.disabled = true;
      option.title = reason;
      reasons.push(reason);
    }
    select.append(option);
  }
  note.textContent = reasons.join(' ');
  note.hidden = reasons.length === 0;
  select.value = (await loadSettings()).format;
  select.dataset.ready = 'true'; // tests wait for the options
  select.addEventListener('change', () =>
    saveSettings({ format: /** @type {import('../shared/encode-audio.js').FormatId} */ (select.value) }),
  );
}
