// @ts-check
/**
 * The context time being heard now and the performance time it is heard at (sync mode's player,
 * sync/synced-player.js). Firefox's `getOutputTimestamp()` takes the output latency off both:
 * measured on 153 ESR (PulseAudio, 2026-12-08), it answers (currentTime - outputLatency,
 * performance.now() - outputLatency), a pair that says the context time written now is heard
 * now, so blocks scheduled on it were heard `outputLatency` (34.5 ms there) late. The
 * performance time is given back its latency: the pair the spec describes.
 * @param {AudioContext} context
 * @returns {{contextTime?: number, performanceTime?: number}}
 */
export function outputTimestamp(context) {
  const stamp = context.getOutputTimestamp();
  return { contextTime: stamp.contextTime, performanceTime: (stamp.performanceTime ?? 0) + context.outputLatency * 1000 };
}
