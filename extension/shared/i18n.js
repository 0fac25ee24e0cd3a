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
  return api.i18n.getMessage(key, subs.map(String)) || key;
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
