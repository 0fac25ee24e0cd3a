// @ts-check
/** The analysis/synthesis window shared by every family's STFT (numpy/torch: `hann_window(n, periodic=True)`). */

/** @param {number} n */
export function hannPeriodic(n) {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}
