// @ts-check
/**
 * A bound on waits for the browser's storage, which was seen (Firefox, full disk) to leave a
 * call unanswered for ever: past the bound the wait fails with `message`.
 */

/**
 * @template T
 * @param {Promise<T>} promise
 * @param {number} ms
 * @param {string | (() => string)} message  a function: the text is made only if the wait fails
 * @returns {Promise<T>}
 */
export function withDeadline(promise, ms, message) {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(typeof message === 'function' ? message() : message)), ms);
  });
  return /** @type {Promise<T>} */ (Promise.race([promise, late])).finally(() => clearTimeout(timer));
}
