// @ts-check
/**
 * Where a job's model runs: onnxruntime-web's WebGPU provider or its WASM (CPU) one, from the
 * `compute` setting and the adapter this page gets. Only the choice; model-runner.js runs it and
 * gpu-fallback.js falls back to WASM when the GPU fails later.
 */
import { t } from '../shared/i18n.js';
import { errorText } from '../shared/errors.js';

/**
 * @typedef {import('../shared/settings.js').ComputeSetting} ComputeSetting
 * @typedef {{backend: 'webgpu' | 'wasm', adapter?: string, reason?: string}} Compute  what a job
 *   ran on (in its record, shown in the job list); adapter: the GPU's name; reason: why not the
 *   GPU, where the setting allowed it
 * @typedef {{adapter: string, software: boolean} | {adapter: null, reason: string}} Probe
 */

/**
 * Names of software rasterizers that some browsers report without the fallback flag (Chromium's
 * SwiftShader with --enable-unsafe-webgpu says isFallbackAdapter; Mesa's llvmpipe/lavapipe and
 * Windows' WARP have been seen as ordinary adapters).
 */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|basic render driver|warp/i;

/**
 * The page's WebGPU adapter, if any, and whether it is a real GPU.
 * @param {{gpu?: {requestAdapter: () => Promise<any>}}} [nav]  navigator (tests pass a stand-in)
 * @returns {Promise<Probe>}
 */
export async function probeGpu(nav = /** @type {any} */ (globalThis.navigator)) {
  if (!nav?.gpu) return { adapter: null, reason: t('computeNoWebGpu') };
  let adapter;
  try {
    adapter = await nav.gpu.requestAdapter();
  } catch (error) {
    return { adapter: null, reason: t('computeNoAdapter', errorText(error)) };
  }
  if (!adapter) return { adapter: null, reason: t('computeNoAdapter', 'requestAdapter() = null') };
  const info = adapter.info ?? {};
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown';
  // A software adapter runs the shaders on the CPU, far slower than the WASM kernels that use
  // the same cores directly: Auto must not take it for a GPU.
  const software = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || SOFTWARE.test(name);
  return { adapter: name, software };
}

/**
 * @param {ComputeSetting | undefined} setting  'auto': a real GPU if there is one; 'gpu': any
 *   WebGPU adapter, software ones included (users who want it, and the parity test); 'cpu': never
 * @param {() => Promise<Probe>} [probe]
 * @returns {Promise<Compute>}
 */
export async function chooseCompute(setting = 'auto', probe = probeGpu) {
  if (setting === 'cpu') return { backend: 'wasm' };
  const found = await probe();
  if (found.adapter === null) return { backend: 'wasm', reason: found.reason };
  if (setting === 'auto' && found.software) {
    return { backend: 'wasm', reason: t('computeSoftwareAdapter', found.adapter) };
  }
  return { backend: 'webgpu', adapter: found.adapter };
}
