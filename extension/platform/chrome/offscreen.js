// @ts-check
/**
 * Chrome's inference host: the offscreen document runs the jobs the background sends, and the
 * live demixing of a tab (its stream id comes from tabCapture in the service worker).
 */
import { api } from './browser-api.js';
import { MSG, TARGET, isOwnSender, message } from '../shared/messages.js';
import { createHost } from '../inference/host.js';
import { createLiveHost } from '../inference/live-host.js';
import { loadMessages } from '../shared/i18n.js';
import { SYNC_PORT, createSyncHost } from '../sync/sync-host.js';

/** Messages first: a job's error is worded here. Listening starts at once; handling waits for it. */
const ready = loadMessages(new URLSearchParams(location.search).get('lang') ?? 'en').catch((error) => {
  console.error('demixer: messages not loaded', error); // t() then shows keys, and jobs still run
});

/** @type {import('../inference/host.js').Report} */
const report = (type, data) => {
  api.runtime.sendMessage(message(TARGET.BACKGROUND, type, data)).catch(() => {
    // The service worker is restarting; the next report (or the popup's state) catches up.
  });
};
const modelBase = new URL('../models/', import.meta.url).href;
// The offscreen document is cross-origin isolated: one session with ORT's own threads (`workers`
// setting 0 = 1 here) until `make bench` says the worker pool is faster in Chromium.
const host = createHost(report, { modelBase, workers: 1 });
const live = createLiveHost(report, {
  modelBase,
  workletUrl: new URL('../inference/live-worklets.js', import.meta.url).href,
});

/**
 * The tab's audio, from the id tabCapture.getMediaStreamId gave the service worker
 * (chrome-extensions-samples' tabcapture-recorder). Chrome's audio processing is off by default
 * for tab capture: the samples are the tab's own.
 * @param {string} streamId
 */
const tabStream = (streamId) =>
  navigator.mediaDevices.getUserMedia({
    audio: /** @type {any} */ ({ mandatory: { chromeMediaSource: 'tab', chromeMediaSourceId: streamId } }),
    video: false,
  });

const sync = createSyncHost(report, { modelBase });
// For tests and the bench, which read a tab's timelines through the DevTools protocol.
/** @type {any} */ (globalThis).demixerSync = sync;

// Sync mode's relay (sync/relay.js, a content script of this extension only: a web page cannot
// connect to an extension without externally_connectable) sends a tab's tapped bytes here.
api.runtime.onConnect.addListener((port) => {
  const tabId = port.sender?.tab?.id;
  if (port.name !== SYNC_PORT || port.sender?.id !== api.runtime.id || tabId === undefined) return;
  sync.connect(port, tabId);
});

/** @type {Record<string, (data: any) => unknown>} */
const handlers = {
  [MSG.RUN_JOB]: (data) => host.run(data),
  [MSG.STOP_JOB]: (data) => host.stop(data.jobId),
  [MSG.VERIFY_MODEL]: (data) => host.verify(data),
  [MSG.STOP_MODEL_CHECK]: (data) => host.stopCheck(data.modelId),
  [MSG.LIVE_PREPARE]: (data) => live.prepare(data),
  [MSG.LIVE_CAPTURE]: (data) => live.capture(() => tabStream(data.streamId), data),
  [MSG.LIVE_END]: (data) => live.end(data?.reason),
  [MSG.LIVE_MIX]: (data) => live.mix(data),
};

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (msg?.target !== TARGET.HOST) return undefined;
  if (!isOwnSender(sender, api.runtime.id, api.runtime.getURL(''))) return undefined;
  // Handled once the messages are loaded (errors are worded here); a handler's promise is its
  // answer (VERIFY_MODEL), anything else answers at once.
  ready.then(() => {
    const answer = handlers[msg.type]?.(msg.data);
    if (answer instanceof Promise) answer.then(sendResponse);
    else sendResponse(undefined);
  });
  return true;
});
