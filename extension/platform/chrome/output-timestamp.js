// @ts-check
/**
 * The context time being heard now and the performance time it is heard at (sync mode's player,
 * sync/synced-player.js). Chrome's `getOutputTimestamp()` is that already.
 * @param {AudioContext} context
 * @returns {{contextTime?: number, performanceTime?: number}}
 */
export const outputTimestamp = (context) => context.getOutputTimestamp();
