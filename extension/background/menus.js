// @ts-check
/** The context-menu items: one for media elements, one for links to audio files. */

export const AUDIO_EXTENSIONS = ['mp3', 'wav', 'ogg', 'oga', 'opus', 'flac', 'm4a', 'aac', 'webm'];

/** @type {(chrome.contextMenus.CreateProperties & {id: string})[]} */
export const MENUS = [
  { id: 'demix-media', title: 'Demix this audio', contexts: ['audio', 'video'] },
  {
    id: 'demix-link',
    title: 'Demix this audio',
    contexts: ['link'],
    targetUrlPatterns: AUDIO_EXTENSIONS.flatMap((ext) => [
      `*://*/*.${ext}`,
      `*://*/*.${ext}?*`,
      `file:///*.${ext}`,
    ]),
  },
];

/**
 * The audio URL a click on `menuItemId` refers to.
 * @param {{menuItemId: string | number, srcUrl?: string, linkUrl?: string}} info
 */
export const clickedUrl = (info) => (info.menuItemId === 'demix-link' ? info.linkUrl : info.srcUrl);
