// @ts-check
/** Chrome's inference host: the offscreen document runs the jobs the background sends. */
import { api } from './browser-api.js';
import { MSG, TARGET, isOwnSender, message } from '../shared/messages.js';
import { createHost } from '../inference/host.js';

const host = createHost(
  (type, data) => {
    api.runtime.sendMessage(message(TARGET.BACKGROUND, type, data)).catch(() => {
      // The service worker is restarting; the next report (or the popup's state) catches up.
    });
  },
  { modelBase: new URL('../models/', import.meta.url).href },
);

/** @type {Record<string, (data: any) => void>} */
const handlers = {
  [MSG.RUN_JOB]: (data) => host.run(data),
  [MSG.STOP_JOB]: (data) => host.stop(data.jobId),
};

api.runtime.onMessage.addListener((msg, sender) => {
  if (msg?.target !== TARGET.HOST) return;
  if (!isOwnSender(sender, api.runtime.id, api.runtime.getURL(''))) return;
  handlers[msg.type]?.(msg.data);
});
