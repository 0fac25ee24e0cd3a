// @ts-check
/** The full-tab page: pick or drop a local file; the job list below follows it. */
import { MSG } from '../shared/messages.js';
import { loadSettings, saveSettings } from '../shared/settings.js';
import { putInput } from '../shared/store.js';
import { mountJobsView, sendToBackground } from '../ui/jobs-view.js';
import { mountLiveView } from '../ui/live-view.js';
import { mountFormatSetting } from '../ui/format-setting.js';
import { mountComputeSetting } from '../ui/compute-setting.js';
import { mountModelsView } from '../ui/models-view.js';
import { mountSyncSitesView } from '../ui/sync-sites-view.js';
import { onFilesChosen } from '../ui/dom.js';
import { localizePage, t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';

const input = /** @type {HTMLInputElement} */ (document.getElementById('file'));
const drop = /** @type {HTMLElement} */ (document.getElementById('drop'));
const status = /** @type {HTMLElement} */ (document.getElementById('status'));
const jobModel = /** @type {HTMLSelectElement} */ (document.getElementById('job-model'));

/** @param {File} file */
async function start(file) {
  status.textContent = '';
  try {
    const jobId = crypto.randomUUID();
    await putInput(jobId, file); // the audio goes to IndexedDB, never into a message
    const name = file.name.replace(/\.[^.]+$/, '');
    await sendToBackground(MSG.START_FILE_JOB, { jobId, name, modelId: jobModel.value }); // '': the bundled model
    status.textContent = t('pageAdded', file.name);
  } catch (error) {
    status.textContent = t('pageCouldNotAdd', file.name, errorText(error));
  }
}

onFilesChosen(input, drop, start);

const format = /** @type {HTMLSelectElement} */ (document.getElementById('format'));
const outputRate = /** @type {HTMLSelectElement} */ (document.getElementById('output-rate'));
localizePage();
mountFormatSetting(format, /** @type {HTMLElement} */ (document.getElementById('format-note')));
mountComputeSetting(
  /** @type {HTMLSelectElement} */ (document.getElementById('compute')),
  /** @type {HTMLElement} */ (document.getElementById('compute-note')),
);
loadSettings().then((settings) => {
  outputRate.value = String(settings.outputRate);
});
outputRate.addEventListener('change', () =>
  saveSettings({ outputRate: outputRate.value === 'input' ? 'input' : Number(outputRate.value) }),
);

const byId = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
mountModelsView({
  list: byId('model-list'), picker: byId('model-file'), drop: byId('model-drop'), status: byId('model-status'),
  cancel: /** @type {HTMLButtonElement} */ (byId('model-cancel')), defaultSelect: byId('default-model'), jobSelect: jobModel,
  formHost: byId('mdx-form-host'),
}); // prettier-ignore

mountSyncSitesView({ list: byId('sync-site-list'), status: byId('sync-site-status') });

mountJobsView(/** @type {HTMLElement} */ (document.getElementById('jobs')));
mountLiveView(/** @type {HTMLElement} */ (document.getElementById('live')));
