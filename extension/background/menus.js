// @ts-check
/**
 * The context-menu items: one for media elements, one for links to audio files, and (where the
 * browser can capture a tab) "Demix this tab" live.
 */
import { t } from '../shared/i18n.js';

export const AUDIO_EXTENSIONS = ['mp3', 'wav', 'ogg', 'oga', 'opus', 'flac', 'm4a', 'aac', 'webm'];

/** @type {(chrome.contextMenus.CreateProperties & {id: string})[]} */
export const MENUS = [
  { id: 'demix-media', title: t('menuDemixAudio'), contexts: ['audio', 'video'] },
  {
    id: 'demix-link',
    title: t('menuDemixAudio'),
    contexts: ['link'],
    targetUrlPatterns: AUDIO_EXTENSIONS.flatMap((ext) => [
      `*://*/*.${ext}`,
      `*://*/*.${ext}?*`,
      `file:///*.${ext}`,
    ]),
  },
];

/** Offered where platform/<browser>/tab-capture.js can capture a tab. @type {chrome.contextMenus.CreateProperties & {id: string}} */
export const LIVE_MENU = { id: 'demix-tab', title: t('menuDemixTabLive'), contexts: ['page', 'audio', 'video'] };

/** A "Demix with…" submenu item's id: `<menu id>/with/<model id>` ('builtin': the bundled model). */
const WITH = '/with/';
const BUILTIN = 'builtin';

/**
 * The menu items to create: MENUS (and LIVE_MENU where tabs can be captured) and, when more than
 * one model is installed, a "Demix with…" submenu beside each of MENUS, one child per model.
 * @param {{id: string, title: string}[]} models  the imported models (id, shown title)
 * @param {{canCaptureTabs: boolean, withTitle: string, builtinTitle: string}} options
 * @returns {(chrome.contextMenus.CreateProperties & {id: string})[]}
 */
export function menuItems(models, { canCaptureTabs, withTitle, builtinTitle }) {
  const items = [...MENUS, ...(canCaptureTabs ? [LIVE_MENU] : [])];
  if (!models.length) return items;
  const choices = [{ id: BUILTIN, title: builtinTitle }, ...models];
  for (const menu of MENUS) {
    const parentId = `${menu.id}/with`;
    items.push({ ...menu, id: parentId, title: withTitle });
    for (const model of choices) items.push({ id: `${menu.id}${WITH}${model.id}`, parentId, title: model.title, contexts: menu.contexts });
  }
  return items;
}

/**
 * The menu a click was on, and the model a "Demix with…" item names ('' the bundled one;
 * undefined: the default model).
 * @param {string | number} menuItemId
 */
function parseMenuId(menuItemId) {
  const id = String(menuItemId);
  const at = id.indexOf(WITH);
  if (at < 0) return { menu: id, modelId: undefined };
  const model = id.slice(at + WITH.length);
  return { menu: id.slice(0, at), modelId: model === BUILTIN ? '' : model };
}

/**
 * What a click asks for: a URL job, or the tab's live capture. An element playing a `blob:`
 * (MediaSource: video sites, streaming players) or a `mediastream:` address has no URL the
 * extension can read; where tabs can be captured, the tab's audio is taken instead of failing.
 * @param {{menuItemId: string | number, srcUrl?: string, linkUrl?: string}} info
 * @param {boolean} canCaptureTabs
 * @returns {{kind: 'live'} | {kind: 'url', url: string, modelId?: string} | null}
 */
export function clickAction(info, canCaptureTabs) {
  if (info.menuItemId === LIVE_MENU.id) return { kind: 'live' };
  const url = clickedUrl(info);
  if (!url) return null;
  if (canCaptureTabs && /^(blob|mediastream):/.test(url)) return { kind: 'live' };
  const { modelId } = parseMenuId(info.menuItemId);
  return modelId === undefined ? { kind: 'url', url } : { kind: 'url', url, modelId };
}

/**
 * The audio URL a click on `menuItemId` refers to.
 * @param {{menuItemId: string | number, srcUrl?: string, linkUrl?: string}} info
 */
export const clickedUrl = (info) => (parseMenuId(info.menuItemId).menu === 'demix-link' ? info.linkUrl : info.srcUrl);
