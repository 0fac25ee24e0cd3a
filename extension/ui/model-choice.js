// @ts-check
/**
 * The choice of model where no import happens (the popup): the default model for the next jobs
 * (context menu, live-recorded mixes, the page's preselection). The page's Settings -> Models
 * (models-view.js) offers the same choice beside the imports.
 */
import { t } from '../shared/i18n.js';
import { loadSettings, saveSettings } from '../shared/settings.js';
import { allModels } from '../shared/store.js';

/**
 * Options for the bundled model ('') and each ready imported model; selects `value` if offered.
 * @param {HTMLSelectElement} select
 * @param {import('../shared/store.js').ModelRecord[]} ready
 * @param {string} value
 */
export function fillModelSelect(select, ready, value) {
  select.replaceChildren(new Option(t('bundleBundledOption'), ''),
    ...ready.map((r) => new Option(`${r.name} (${r.precision})`, r.id))); // prettier-ignore
  select.value = ready.some((r) => r.id === value) ? value : '';
}

/** @returns {Promise<import('../shared/store.js').ModelRecord[]>} ready imported models, oldest first */
export async function readyModels() {
  return (await allModels()).filter((r) => r.state === 'ready').sort((a, b) => a.addedAt - b.addedAt);
}

/**
 * A select of the default model; hidden (with its label) while only the bundled model exists.
 * @param {HTMLSelectElement} select @param {HTMLElement} container
 */
export async function mountDefaultModelChoice(select, container) {
  const ready = await readyModels();
  container.hidden = ready.length === 0;
  fillModelSelect(select, ready, (await loadSettings()).defaultModel);
  select.addEventListener('change', () => saveSettings({ defaultModel: select.value }));
}
