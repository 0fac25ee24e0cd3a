// @ts-check
import { api } from '../platform/browser-api.js';
import { mountJobsView } from '../ui/jobs-view.js';
import { mountLiveView } from '../ui/live-view.js';
import { localizePage } from '../shared/i18n.js';
import { mountDefaultModelChoice } from '../ui/model-choice.js';
import { mountSyncView } from '../ui/sync-view.js';

localizePage();

// Popups close when a file dialog opens, so local files are picked in a full tab.
document.getElementById('open-page')?.addEventListener('click', () => {
  api.tabs.create({ url: api.runtime.getURL('page/page.html') });
  window.close();
});
mountJobsView(/** @type {HTMLElement} */ (document.getElementById('jobs')));
mountLiveView(/** @type {HTMLElement} */ (document.getElementById('live')), { offerStart: true });
mountDefaultModelChoice(
  /** @type {HTMLSelectElement} */ (document.getElementById('default-model')),
  /** @type {HTMLElement} */ (document.getElementById('model-choice')),
);
// The tab the popup was opened over (activeTab gives its address at that click).
api.tabs.query({ active: true, currentWindow: true }).then(([tab]) => {
  mountSyncView(/** @type {HTMLElement} */ (document.getElementById('sync')), tab);
});
