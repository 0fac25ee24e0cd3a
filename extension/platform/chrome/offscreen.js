// @ts-check
/**
 * Chrome's inference host: the offscreen document runs the jobs the background sends, and the
 * live demixing of a tab (its stream id comes from tabCapture in the service worker).
 */
import { api } from './browser-api.js';
import { MSG, TARGET, isOwnSender, message } from '../shared/messages.js';
import { createHost } from '../inference/host.js';
import { createLiveHost } from '../inference/live-host.js';

/** @type {import('../inference/host.js').Report} */
const report = (type, data) => {
  api.runtime.sendMessage(message(TARGET.BACKGROUND, type, data)).catch(() => {
    // The service worker is restarting; the next report (or the popup's state) catches up.
  });
};
const modelBase = new URL('../models/', import.meta.url).href;
const host = createHost(report, { modelBase });
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

/** @type {Record<string, (data: any) => unknown>} */
const handlers = {
  [MSG.RUN_JOB]: (data) => host.run(data),
  [MSG.STOP_JOB]: (data) => host.stop(data.jobId),
  [MSG.VERIFY_MODEL]: (data) => host.verify(data.modelId),
  [MSG.LIVE_CAPTURE]: (data) => live.capture(() => tabStream(data.streamId), data),
  [MSG.LIVE_END]: (data) => live.end(data?.reason),
  [MSG.LIVE_MIX]: (data) => live.mix(data),
};

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (msg?.target !== TARGET.HOST) return undefined;
  if (!isOwnSender(sender, api.runtime.id, api.runtime.getURL(''))) return undefined;
  const answer = handlers[msg.type]?.(msg.data);
  if (!(answer instanceof Promise)) return undefined;
  answer.then(sendResponse);
  return true; // the answer comes later (VERIFY_MODEL)
});
