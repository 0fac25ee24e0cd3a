// @ts-check
/** The few DOM helpers the views share: elements built with text only (never HTML), downloads. */

/**
 * An element with attributes and children; text goes in as text nodes, so nothing a job, a
 * model bundle or a page title says is ever parsed as HTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

/**
 * Hands a file to the browser's download (a link click: no `downloads` permission needed).
 * @param {Blob} blob @param {string} fileName
 */
export function saveBlob(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  // revoked later: the download reads the URL after the click returns
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Each file the user picks in `picker` or drops on `drop`, to `handle` (one call per file); the
 * picker is cleared so that picking the same file again is a new pick.
 * @param {HTMLInputElement} picker @param {HTMLElement} drop @param {(file: File) => void} handle
 */
export function onFilesChosen(picker, drop, handle) {
  picker.addEventListener('change', () => {
    for (const file of picker.files ?? []) handle(file);
    picker.value = '';
  });
  drop.addEventListener('dragover', (event) => event.preventDefault());
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    for (const file of event.dataTransfer?.files ?? []) handle(file);
  });
}
