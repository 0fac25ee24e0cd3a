// @ts-check
/**
 * A job on the GPU never fails because of the GPU: a WebGPU session that cannot be created, or a
 * run that throws (a lost device, an out-of-memory buffer, an op the provider gets wrong), hands
 * the rest of the job to a WASM runner, and the runner's `compute` says why.
 */
import { t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {import('./model-runner.js').ModelRunner} ModelRunner
 * @typedef {import('./compute.js').Compute} Compute
 */

/**
 * @param {Compute} compute  chooseCompute's answer
 * @param {() => Promise<ModelRunner>} makeGpu  a WebGPU session
 * @param {() => Promise<ModelRunner>} makeCpu  the WASM runner the job would have had without a GPU
 * @returns {Promise<ModelRunner>}  `compute` on it is updated if it falls back during a run
 */
export async function createFallbackRunner(compute, makeGpu, makeCpu) {
  if (compute.backend !== 'webgpu') return { ...(await makeCpu()), compute };
  let gpu;
  try {
    gpu = await makeGpu();
  } catch (error) {
    console.warn('demixer: WebGPU session not created, running on WASM', error);
    return { ...(await makeCpu()), compute: { backend: 'wasm', reason: t('computeGpuSessionFailed', errorText(error)) } };
  }
  /** @type {Promise<ModelRunner> | null} */
  let cpu = null;
  /** @type {ModelRunner} */
  const runner = {
    threads: gpu.threads,
    compute: { ...compute },
    run: (data, dims) => attempt(() => gpu.run(data, dims), (r) => r.run(data, dims)),
    runNamed: (feeds) => attempt(() => gpu.runNamed(feeds), (r) => r.runNamed(feeds)),
    release: async () => {
      await gpu.release().catch(() => {});
      await (await cpu?.catch(() => null))?.release();
    },
  };
  /**
   * @template T
   * @param {() => Promise<T>} onGpu @param {(r: ModelRunner) => Promise<T>} onCpu
   * @returns {Promise<T>}
   */
  async function attempt(onGpu, onCpu) {
    if (!cpu) {
      try {
        return await onGpu();
      } catch (error) {
        // the first failure switches; another patch's run failing meanwhile joins it
        if (!cpu) {
          console.warn('demixer: WebGPU run failed, the rest of the job runs on WASM', error);
          runner.compute = { backend: 'wasm', adapter: compute.adapter, reason: t('computeGpuRunFailed', errorText(error)) };
          cpu = makeCpu();
          gpu.release().catch(() => {});
        }
      }
    }
    const fallback = await cpu;
    runner.threads = fallback.threads;
    return onCpu(fallback);
  }
  return runner;
}
