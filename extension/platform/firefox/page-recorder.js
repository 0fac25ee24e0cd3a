// @ts-check
/**
 * The recorder's two functions, injected into a page's frame by `scripting.executeScript`
 * (media-capture.js): Firefox serialises each function alone and runs it in this extension's
 * content-script world of that frame, so they import nothing, take everything as arguments and
 * name the `browser` API themselves (the one other file allowed to, with browser-api.js).
 *
 * Why MediaRecorder (Ogg/Opus) and not PCM: an AudioWorklet needs an AudioContext, which in a
 * page is subject to autoplay rules and, with no audio device (headless, seen here), stays
 * `suspended` and would record nothing; MediaRecorder runs on the media graph's own clock. Opus
 * at 256 kbit/s is far above what a model with a 16 kHz-wide mask input can tell apart.
 */

/**
 * @typedef {{
 *   token: string, mediaType?: string, srcUrl: string,
 *   mimeType: string, audioBitsPerSecond: number, sliceMs: number, pauseLimitMs: number,
 *   target: string, types: {chunk: string, end: string},
 * }} RecordOptions
 */

/**
 * Find the clicked media element, take a copy of what it plays (`captureStream()` per spec does
 * not mute the element: the user keeps hearing the page; Firefox < 149 has only
 * `mozCaptureStream()`, which diverts the sound, so it is played back through an AudioContext)
 * and record it while it plays, chunk by chunk to the background. Recording ends when the media
 * ends, stays paused for `pauseLimitMs`, is emptied, the page goes away, or `stopInPage` runs.
 * Returns at once: `{started: true}` or `{error}` worded for the user.
 * @param {RecordOptions} options
 * @returns {{started: true} | {error: string}}
 */
export function recordInPage(options) {
  const { token, mediaType, srcUrl, target, types } = options;
  // @ts-ignore -- Firefox's content-script global
  const api = /** @type {typeof chrome} */ (browser);
  // this function imports nothing (see above): the content-script world has i18n, as shared/i18n.js's t()
  const t = (/** @type {string} */ key, /** @type {string[]} */ ...subs) => api.i18n.getMessage(key, subs) || key;
  /** @type {Record<string, (reason: string) => void>} */
  const registry = (/** @type {any} */ (globalThis).demixerRecorders ??= {});

  // Which element was clicked: Firefox tells the menu's target only to extensions with its own
  // `menus` permission, and gives a MediaSource element no srcUrl. So: the element playing that
  // URL; else, of the clicked kind (audio/video), the one playing, else the first.
  const all = /** @type {HTMLMediaElement[]} */ ([...document.querySelectorAll('audio, video')]);
  const ofKind = all.filter((m) => !mediaType || m.localName === mediaType);
  const media = (srcUrl && all.find((m) => m.currentSrc === srcUrl || m.src === srcUrl))
    || ofKind.find((m) => !m.paused) || ofKind[0] || null;
  if (!media) return { error: t('recordMediaGone') };
  if (media.mediaKeys) {
    return {
      error: t('recordDrm'),
    };
  }
  // with the standard `captureStream`, which TypeScript's DOM types lack
  const element = /** @type {HTMLMediaElement & {captureStream?: () => MediaStream}} */ (media);

  /** @type {MediaStream} */
  let captured;
  try {
    if (typeof element.captureStream === 'function') captured = element.captureStream();
    else {
      captured = /** @type {any} */ (element).mozCaptureStream();
      const context = new AudioContext();
      context.createMediaStreamSource(captured).connect(context.destination);
    }
  } catch (failure) {
    return { error: captureError(failure) };
  }

  let index = 0;
  let ended = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pauseTimer;
  /** @type {MediaRecorder | null} */
  let recorder = null;
  let endReason = 'stopped';
  /** @type {string | undefined} */
  let endError;
  // One message at a time, so the background has every chunk before it reads the end.
  /** @type {Promise<unknown>} */
  let sending = Promise.resolve();
  /** @param {string} type @param {Record<string, unknown>} data */
  const send = (type, data) => {
    sending = sending.then(async () => {
      const reply = await api.runtime.sendMessage({ target, type, data: { token, ...data } });
      if (reply && reply.ok === false) throw new Error(reply.error);
    });
    return sending;
  };

  const listeners = /** @type {[string, () => void][]} */ ([
    ['ended', () => finish('the media ended')],
    ['emptied', () => finish('the media was replaced')],
    ['pause', () => {
      if (recorder?.state === 'recording') recorder.pause();
      clearTimeout(pauseTimer);
      pauseTimer = setTimeout(() => finish('the media stayed paused'), options.pauseLimitMs);
    }],
    ['playing', () => {
      clearTimeout(pauseTimer);
      if (recorder?.state === 'paused') recorder.resume();
    }],
  ]);
  for (const [event, listener] of listeners) element.addEventListener(event, listener);
  const onPageHide = () => finish('the page was left');
  window.addEventListener('pagehide', onPageHide);

  /** @param {string} reason @param {string} [error] */
  function finish(reason, error) {
    if (ended) return;
    ended = true;
    endReason = reason;
    endError = error;
    clearTimeout(pauseTimer);
    for (const [event, listener] of listeners) element.removeEventListener(event, listener);
    window.removeEventListener('pagehide', onPageHide);
    delete registry[token];
    if (recorder && recorder.state !== 'inactive') recorder.stop(); // its onstop sends the end
    else sendEnd();
  }
  function sendEnd() {
    for (const track of captured.getTracks()) track.stop();
    send(types.end, { reason: endReason, ...(endError ? { error: endError } : {}) }).catch(() => {});
  }
  registry[token] = finish;

  function start() {
    if (ended || recorder) return;
    const tracks = captured.getAudioTracks();
    if (!tracks.length) return; // the element has not produced sound yet: its track comes with `addtrack`
    try {
      // audio only: a <video>'s picture is not wanted
      recorder = new MediaRecorder(new MediaStream(tracks), {
        mimeType: options.mimeType,
        audioBitsPerSecond: options.audioBitsPerSecond,
      });
      recorder.ondataavailable = (event) => {
        if (!event.data.size) return;
        send(types.chunk, { index: index++, blob: event.data }).catch((failure) => finish('failed', String(failure?.message ?? failure)));
      };
      recorder.onerror = (event) => finish('failed', captureError(/** @type {any} */ (event).error));
      recorder.onstop = sendEnd;
      recorder.start(options.sliceMs);
      if (element.paused) recorder.pause();
    } catch (failure) {
      recorder = null;
      finish('failed', captureError(failure));
    }
  }
  captured.addEventListener('addtrack', start);
  start();
  return { started: true };

  /** @param {unknown} failure */
  function captureError(failure) {
    const name = /** @type {any} */ (failure)?.name;
    if (name === 'SecurityError') {
      return t('recordNoCors');
    }
    return t('recordFailed', String(/** @type {any} */ (failure)?.message ?? failure));
  }
}

/**
 * Ask the recorder holding `token` to stop (it sends what it has, then the end).
 * @param {string} token
 * @returns {boolean} whether a recorder was running in this frame
 */
export function stopInPage(token) {
  const stop = /** @type {any} */ (globalThis).demixerRecorders?.[token];
  if (stop) stop('stopped by the user');
  return Boolean(stop);
}
