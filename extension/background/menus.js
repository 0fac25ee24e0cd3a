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

/**
 * What a click asks for: a URL job, or the tab's live capture. An element playing a `blob:`
 * (MediaSource: video sites, streaming players) or a `mediastream:` address has no URL the
 * extension can read; where tabs can be captured, the tab's audio is taken instead of failing.
 * @param {{menuItemId: string | number, srcUrl?: string, linkUrl?: string}} info
 * @param {boolean} canCaptureTabs
 * @returns {{kind: 'live'} | {kind: 'url', url: string} | null}
 */
export function clickAction(info, canCaptureTabs) {
  if (info.menuItemId === LIVE_MENU.id) return { kind: 'live' };
  const url = clickedUrl(info);
  if (!url) return null;
  if (canCaptureTabs && /^(blob|mediastream):/.test(url)) return { kind: 'live' };
  return { kind: 'url', url };
}

/**
 * The audio URL a click on `menuItemId` refers to.
 * @param {{menuItemId: string | number, srcUrl?: string, linkUrl?: string}} info
 */
export const clickedUrl = (info) => (info.menuItemId === 'demix-link' ? info.linkUrl : info.srcUrl);
