// @ts-check
/**
 * Firefox has no offscreen API: the background is an event page with a DOM, so the same
 * inference host runs right here, in the background page.
 */
import { MSG, TARGET, message } from '../shared/messages.js';
import { createHost } from '../inference/host.js';

/** @param {(msg: {target: string, type: string, data: any}) => void} onReport */
export function connectHost(onReport) {
  const host = createHost((type, data) => onReport(message(TARGET.BACKGROUND, type, data)), {
    modelBase: new URL('../models/', import.meta.url).href,
  });
  /** The host's handlers, as Chrome's offscreen document has them. @type {Record<string, (data: any) => void>} */
  const handlers = {
    [MSG.RUN_JOB]: (data) => host.run(data),
    [MSG.STOP_JOB]: (data) => host.stop(data.jobId),
  };
  return {
    /** @param {import('../shared/messages.js').MessageType} type @param {any} data */
    async send(type, data) {
      handlers[type]?.(data);
    },
  };
}
