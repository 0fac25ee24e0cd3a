// @ts-check
/**
 * Complex FFTs of one size, in WebAssembly: PFFFT (BSD, Julien Pommier) built with SIMD, from
 * the npm package @echogarden/pffft-wasm, vendored unmodified with its .wasm beside it. Five to
 * six times fft.js for the 4096-point transforms of the STFT (Node, 2026-11-25: 23-37 us against
 * 141-195 us per inverse transform), in float32.
 * The caller writes `input` and reads `output`, both views of WebAssembly memory: no copies.
 */
import PFFFT from '../vendor/pffft/pffft.js';

const COMPLEX = 1; // pffft_transform_t
const FORWARD = 0; // pffft_direction_t
const BACKWARD = 1;

/** @type {Promise<any> | null} */
let loading = null;
/**
 * One transform per size for the page's life, shared: jobs run one at a time and every use of
 * the buffers is synchronous, so sharing is safe, and nothing is allocated again per job.
 * @type {Map<number, Promise<ComplexFft>>}
 */
const bySize = new Map();

export class ComplexFft {
  /** @param {any} wasm  the instantiated PFFFT module @param {number} size */
  constructor(wasm, size) {
    this.size = size;
    this.wasm = wasm;
    this.setup = wasm._pffft_new_setup(size, COMPLEX);
    if (!this.setup) throw new Error(`PFFFT cannot transform ${size} points`);
    const bytes = 2 * size * Float32Array.BYTES_PER_ELEMENT;
    /** @type {number} addresses in the module's memory */
    this.inputAt = wasm._pffft_aligned_malloc(bytes);
    this.outputAt = wasm._pffft_aligned_malloc(bytes);
    this.workAt = wasm._pffft_aligned_malloc(bytes);
    /** @type {Float32Array} */ this.inputView = new Float32Array(0);
    /** @type {Float32Array} */ this.outputView = new Float32Array(0);
  }

  /** Re-made when the module's memory has grown (another setup's allocation replaces its buffer). */
  #fresh() {
    const { buffer } = this.wasm.HEAPF32;
    if (this.inputView.buffer !== buffer) {
      this.inputView = new Float32Array(buffer, this.inputAt, 2 * this.size);
      this.outputView = new Float32Array(buffer, this.outputAt, 2 * this.size);
    }
  }

  /** Interleaved re, im: what the next transform reads (take it again after creating another FFT). */
  get input() {
    this.#fresh();
    return this.inputView;
  }

  /** Interleaved re, im: what the last transform wrote. */
  get output() {
    this.#fresh();
    return this.outputView;
  }

  /** @param {number} direction */
  #transform(direction) {
    this.wasm._pffft_transform_ordered(this.setup, this.inputAt, this.outputAt, this.workAt, direction);
  }

  /** output[k] = sum_n input[n] e^(-2 pi i k n / size) */
  forward() {
    this.#transform(FORWARD);
  }

  /** output[n] = sum_k input[k] e^(+2 pi i k n / size): not divided by size */
  inverse() {
    this.#transform(BACKWARD);
  }

  /**
   * Two real signals' spectra from one forward() of `l + i r`: L[k] = (Z[k] + conj Z[N-k]) / 2,
   * R[k] = (Z[k] - conj Z[N-k]) / 2i, for bins 0 .. nbBins - 1, times `scale`, written to
   * `left` and `right` ({re, im}, or null to skip) at `at + k * stride`.
   * @param {number} nbBins
   * @param {{re: Float32Array, im: Float32Array}} left
   * @param {{re: Float32Array, im: Float32Array} | null} right
   * @param {number} at @param {number} stride @param {number} scale
   */
  splitRealPair(nbBins, left, right, at, stride, scale) {
    const Z = this.output;
    const N = this.size;
    const half = 0.5 * scale;
    for (let k = 0; k < nbBins; k++) {
      const m = k === 0 ? 0 : N - k;
      const zr = Z[2 * k];
      const zi = Z[2 * k + 1];
      const mr = Z[2 * m];
      const mi = Z[2 * m + 1];
      const i = at + k * stride;
      left.re[i] = half * (zr + mr);
      left.im[i] = half * (zi - mi);
      if (right) {
        right.re[i] = half * (zi + mi);
        right.im[i] = half * (mr - zr);
      }
    }
  }

  /**
   * The inverse of splitRealPair: fills `input` so that the next inverse() gives the real signal
   * of spectrum `left` in its real part and that of `right` in its imaginary part (ifft(L + iR)).
   * Each is a real signal's half spectrum, bins 0 .. nbBins - 1 (nbBins <= size / 2 + 1; the
   * bins above are zero) read at `at + k * stride`; the other half is its Hermitian mirror
   * (bin size - k = conj bin k), and the imaginary parts of DC and Nyquist are taken as 0, as
   * irfft does.
   * @param {number} nbBins
   * @param {{re: ArrayLike<number>, im: ArrayLike<number>}} left
   * @param {{re: ArrayLike<number>, im: ArrayLike<number>} | null} right
   * @param {number} at @param {number} stride
   */
  packRealPair(nbBins, left, right, at, stride) {
    const z = this.input;
    const N = this.size;
    const half = N / 2;
    z.fill(0);
    for (let k = 0; k < nbBins; k++) {
      const i = at + k * stride;
      const edge = k === 0 || k === half;
      // X as the real part: z[k] += X, z[N - k] += conj X
      const xr = left.re[i];
      const xi = edge ? 0 : left.im[i];
      z[2 * k] += xr;
      z[2 * k + 1] += xi;
      if (!edge) {
        z[2 * (N - k)] += xr;
        z[2 * (N - k) + 1] -= xi;
      }
      if (right) {
        // i Y as the imaginary part: z[k] += i Y, z[N - k] += i conj Y
        const yr = right.re[i];
        const yi = edge ? 0 : right.im[i];
        z[2 * k] -= yi;
        z[2 * k + 1] += yr;
        if (!edge) {
          z[2 * (N - k)] += yi;
          z[2 * (N - k) + 1] += yr;
        }
      }
    }
  }
}

/**
 * The complex FFT of `size` points (a multiple of 16 whose factors are 2, 3 and 5).
 * @param {number} size
 * @returns {Promise<ComplexFft>}
 */
export function complexFft(size) {
  loading ??= PFFFT();
  if (!bySize.has(size)) bySize.set(size, loading.then((wasm) => new ComplexFft(wasm, size)));
  return /** @type {Promise<ComplexFft>} */ (bySize.get(size));
}
