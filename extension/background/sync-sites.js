// @ts-check
/**
 * Sync mode's sites: where the tap (sync/tap.js, the page's main world) and its relay
 * (sync/relay.js, the isolated world) are registered, at document_start, kept across restarts.
 * Only the popup's "Karaoke in sync" adds a site, after the user granted that origin inside the
 * click; a page cannot register itself. The first time, the page has already appended what it
 * plays, before the tap existed: the tab is reloaded (ARCHITECTURE.md, "Sync mode").
 */
import { api } from '../platform/browser-api.js';

const TAP_ID = 'demixer-sync-tap';
const RELAY_ID = 'demixer-sync-relay';
const SYNC_KEY = 'sync'; // storage.session: {[tabId]: SyncStateData}, for the popup and tests
/** @type {Promise<void>} the last write of SYNC_KEY */
let stateWrites = Promise.resolve();

/** The sites sync is on for (the tap's registration's matches). */
export async function syncSites() {
  const [tap] = await api.scripting.getRegisteredContentScripts({ ids: [TAP_ID] });
  return tap?.matches ?? [];
}

/**
 * Register the tap and relay for `pattern` too (granted already), then reload the tab.
 * @param {number} tabId @param {string} pattern
 */
export async function startSync(tabId, pattern) {
  if (!(await api.permissions.contains({ origins: [pattern] }))) throw new Error('this site was not granted');
  const matches = [...new Set([...(await syncSites()), pattern])];
  const scripts = [
    { id: TAP_ID, js: ['sync/tap.js'], world: 'MAIN' },
    { id: RELAY_ID, js: ['sync/relay.js'], world: 'ISOLATED' },
  ].map((s) => ({ ...s, matches, runAt: /** @type {const} */ ('document_start'), allFrames: false, persistAcrossSessions: true }));
  const registered = (await api.scripting.getRegisteredContentScripts({ ids: [TAP_ID, RELAY_ID] })).map((s) => s.id);
  if (registered.length) await api.scripting.updateContentScripts(/** @type {any} */ (scripts.filter((s) => registered.includes(s.id))));
  const fresh = scripts.filter((s) => !registered.includes(s.id));
  if (fresh.length) await api.scripting.registerContentScripts(/** @type {any} */ (fresh));
  await api.tabs.reload(tabId);
}

/**
 * Sync off for `pattern`: the tap and relay no longer match it (unregistered when no site is
 * left) and the site's permission is removed, as the user gave it for this. Pages already open
 * keep their tap until they reload.
 * @param {string} pattern
 */
export async function removeSyncSite(pattern) {
  const sites = await syncSites();
  if (!sites.includes(pattern)) throw new Error('not a sync site');
  const matches = sites.filter((m) => m !== pattern);
  const ids = (await api.scripting.getRegisteredContentScripts({ ids: [TAP_ID, RELAY_ID] })).map((s) => s.id);
  if (ids.length && !matches.length) await api.scripting.unregisterContentScripts({ ids });
  else if (ids.length) await api.scripting.updateContentScripts(/** @type {any} */ (ids.map((id) => ({ id, matches }))));
  await api.permissions.remove({ origins: [pattern] });
}

/** @param {import('../shared/messages.js').SyncStateData} state */
export async function syncState(state) {
  const { tabId } = state;
  if (state.firstSoundAt) {
    // The page's own sound stops when the extension's starts (tabs.update leaves the page's controls alone).
    const wait = Math.max(0, state.firstSoundAt - Date.now());
    setTimeout(() => api.tabs.update(tabId, { muted: true }).catch(() => {}), wait);
  }
  if (state.ended) await api.tabs.update(tabId, { muted: false }).catch(() => {});
  // One read-modify-write at a time: two reports in flight together (the first sound and a
  // health report) would each write over the other's fields.
  const write = stateWrites.then(async () => {
    const all = (await api.storage.session.get(SYNC_KEY))[SYNC_KEY] ?? {};
    all[tabId] = { ...all[tabId], ...state, updatedAt: Date.now() };
    await api.storage.session.set({ [SYNC_KEY]: all });
  });
  stateWrites = write.catch(() => {});
  await write;
}
