// @ts-check
/**
 * The compute setting's control (Auto / CPU / GPU), with what this page's WebGPU adapter is
 * beside it, so a user choosing GPU knows beforehand whether there is one.
 */
import { loadSettings, saveSettings } from '../shared/settings.js';
import { probeGpu } from '../inference/compute.js';
import { t } from '../shared/i18n.js';

/** @type {import('../shared/settings.js').ComputeSetting[]} */
const CHOICES = ['auto', 'cpu', 'gpu'];

/** @param {HTMLSelectElement} select @param {HTMLElement} note */
export async function mountComputeSetting(select, note) {
  for (const choice of CHOICES) {
    const option = document.createElement('option');
    option.value = choice;
    option.textContent = t(`compute${choice[0].toUpperCase()}${choice.slice(1)}Choice`);
    select.append(option);
  }
  select.value = (await loadSettings()).compute;
  select.dataset.ready = 'true'; // tests wait for the options
  select.addEventListener('change', () =>
    saveSettings({ compute: /** @type {import('../shared/settings.js').ComputeSetting} */ (select.value) }),
  );
  const found = await probeGpu();
  if (found.adapter === null) {
    // A sentence for the user; the browser's own answer (what a job's details show) on hover.
    const hasWebGpu = 'gpu' in globalThis.navigator;
    note.textContent = t(hasWebGpu ? 'computeNoGpuNote' : 'computeNoWebGpuNote');
    note.title = found.reason;
  } else {
    note.textContent = t(found.software ? 'computeSoftwareFound' : 'computeGpuFound', found.adapter);
  }
}
