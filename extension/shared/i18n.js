// @ts-check
/**
 * User-visible text. Every string the user reads is a message in `_locales/<lang>/messages.json`
 * (English in `en`, the fallback); code names it by key. The browser picks the language.
 */
import { api } from '../platform/browser-api.js';

/**
 * The text of message `key` in the user's language, with `$1`… `$9` filled from `subs`.
 * A missing key shows the key itself rather than nothing (tests/structure/test_i18n.py keeps
 * every key used in code present in every locale).
 * @param {string} key
 * @param {...(string | number)} subs
 * @returns {string}
 */
export function t(key, ...subs) {
  const strings = subs.map(String);
  if (api?.i18n) return api.i18n.getMessage(key, strings) || key; // none in a worker (model-check-worker.js)
  // As getMessage does: $1… $9 from the substitutions, $$ for a dollar sign.
  const text = loaded[key]?.message;
  return text === undefined ? key : text.replace(/\$(\$|[1-9])/g, (_, n) => (n === '$' ? '$' : strings[n - 1] ?? ''));
}

/** The messages `loadMessages` read, for a context whose API has no i18n. @type {Record<string, {message: string}>} */
let loaded = {};

/** The `_locales` folder of the messages shown here (`languageTag` is each folder's name, as BCP 47). */
export const messagesLanguage = () => t('languageTag').replace('-', '_');

/**
 * Chrome's offscreen document has no `i18n` API (only `runtime`), yet its errors reach the user:
 * it reads the messages of the language the background's `messagesLanguage()` named, over the
 * English ones (every locale is complete: tests/structure/test_i18n.py).
 * @param {string} language a `_locales` folder name
 */
export async function loadMessages(language) {
  /** @param {string} folder */
  const read = async (folder) => (await fetch(new URL(`../_locales/${folder}/messages.json`, import.meta.url))).json();
  const english = await read('en');
  loaded = { ...english, ...(language === 'en' ? {} : await read(language).catch(() => ({}))) };
}

/**
 * Fills an HTML page's static text: `data-i18n` sets the text, `data-i18n-label` the
 * `aria-label`, `data-i18n-title` the `title`, `data-i18n-placeholder` the placeholder.
 * @param {ParentNode} root
 */
export function localizePage(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(/** @type {string} */ (el.getAttribute('data-i18n')));
  for (const [attr, target] of [['data-i18n-label', 'aria-label'], ['data-i18n-title', 'title'], ['data-i18n-placeholder', 'placeholder']]) {
    for (const el of root.querySelectorAll(`[${attr}]`)) el.setAttribute(target, t(/** @type {string} */ (el.getAttribute(attr))));
  }
  // the language of the messages shown, which is not always the browser's (Chromium takes an
  // extension's locale from LANGUAGE / --lang even where its own UI has no such translation)
  if (root === document) document.documentElement.lang = t('languageTag');
}
