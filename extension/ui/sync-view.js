// @ts-check
/**
 * The popup's "Karaoke in sync" for the active tab: its site's permission asked inside the click
 * (the only way a site gets the tap: background/sync-sites.js), then the background registers the
 * tap and reloads the tab; the status line says what the tab's sync is doing.
 */
import { api } from '../platform/browser-api.js';
import { MSG } from '../shared/messages.js';
import { t } from '../shared/i18n.js';
import { el } from './dom.js';
import { errorText } from '../shared/errors.js';
import { sendToBackground } from './jobs-view.js';
import { sitePattern } from '../platform/site-pattern.js';

/**
 * @param {HTMLElement} container
 * @param {{id?: number, url?: string} | undefined} tab  the tab the popup was opened over
 */
export function mountSyncView(container, tab) {
  const start = el('button', { id: 'sync-start' }, [t('syncButton')]);
  const status = el('p', { class: 'sync-status', role: 'status', 'aria-live': 'polite' });
  container.append(el('section', { class: 'sync' }, [start, status]));
  const pattern = tab?.url ? sitePattern(tab.url) : null;
  if (tab?.id === undefined || !pattern) start.disabled = true;
  start.addEventListener('click', () => {
    if (tab?.id === undefined || !pattern || !tab.url) return;
    const { id, url } = tab;
    // Inside the click's user gesture: nothing awaited before it.
    api.permissions.request({ origins: [pattern] }).then(async (granted) => {
      if (!granted) {
        status.textContent = t('syncDenied');
        return;
      }
      status.textContent = t('syncStarting');
      await sendToBackground(MSG.START_SYNC, { tabId: id, url });
    }).catch((error) => {
      status.textContent = t('syncCouldNotStart', errorText(error));
    });
  });
}
