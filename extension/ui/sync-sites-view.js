// @ts-check
/**
 * Settings' list of the sites Karaoke in sync is on for (background/sync-sites.js), each with a
 * Remove button that turns it off there and removes the site's permission.
 */
import { MSG } from '../shared/messages.js';
import { t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';
import { el } from './dom.js';
import { sendToBackground } from './jobs-view.js';

/** A site's match pattern as the user knows it: its host, with its scheme when not https. @param {string} pattern */
function siteName(pattern) {
  const origin = pattern.replace(/\/\*$/, '');
  return origin.startsWith('https://') ? origin.slice('https://'.length) : origin;
}

/** @param {{list: HTMLElement, status: HTMLElement}} parts */
export function mountSyncSitesView({ list, status }) {
  async function render() {
    /** @type {string[]} */
    const sites = (await sendToBackground(MSG.SYNC_SITES, {})) ?? [];
    list.replaceChildren(
      ...(sites.length ? sites : [null]).map((pattern) => {
        if (!pattern) return el('li', { class: 'note' }, [t('syncSitesNone')]);
        const name = siteName(pattern);
        const remove = /** @type {HTMLButtonElement} */ (
          el('button', { type: 'button', 'aria-label': t('syncSiteRemoveLabel', name) }, [t('syncSiteRemove')])
        );
        remove.addEventListener('click', async () => {
          remove.disabled = true;
          try {
            await sendToBackground(MSG.REMOVE_SYNC_SITE, { pattern });
            status.textContent = t('syncSiteRemoved', name);
          } catch (error) {
            status.textContent = t('syncSiteNotRemoved', name, errorText(error));
          }
          await render();
        });
        return el('li', { class: 'sync-site', 'data-pattern': pattern }, [el('span', {}, [name]), ' ', remove]);
      }),
    );
  }
  render().catch((error) => {
    status.textContent = errorText(error);
  });
}
