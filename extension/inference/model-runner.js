// @ts-check
/**
 * The only module that imports onnxruntime-web. Its `.mjs`/`.wasm` files ship inside the
 * extension (vendor/ort/, copied from the pinned npm package by the builder); never a CDN.
 * Two builds: the WASM one for the CPU (always loaded), the WebGPU one (its .wasm is the
 * asyncify-instrumented build, 27 MB against 14) imported only for a job that runs on the GPU.
 */
import * as ortWasm from '../vendor/ort/ort.wasm.bundle.min.mjs';

/**
 * @typedef {{run: (data: Float32Array, dims: number[]) => Promise<Float32Array>,
 *   runNamed: (feeds: Record<string, {data: Float32Array, dims: number[]}>) =>
 *     Promise<Record<string, Float32Array>>,
 *   threads: number, release: () => Promise<void>, compute?: import('./compute.js').Compute,
 *   recycle?: (result: Float32Array) => void, sharedCode?: boolean}} ModelRunner
 *   threads: the cores it uses (ORT's threads, or worker-pool.js's single-threaded workers);
 *   sharedCode: worker-pool.js's runner only: every worker instantiated the pool's one compiled module;
 *   recycle: takes back a result of run() its caller has done reading (worker-pool.js reuses its memory);
 *   compute: where it runs (gpu-fallback.js sets it; absent: WASM)
 */

/**
 * Threads need SharedArrayBuffer, i.e. a cross-origin-isolated page (Chrome's offscreen
 * document is, through the manifest's COOP/COEP keys; Firefox extension pages are not).
 * @param {number} [requested]  0 or undefined: one per core
 */
export function threadCount(requested) {
  if (!globalThis.crossOriginIsolated) return 1;
  const cores = globalThis.navigator?.hardwareConcurrency || 1;
  return Math.max(1, Math.min(requested || cores, cores));
}

/**
 * Session options per provider. `disable_quant_qdq` lets onnxruntime's constant folding turn the
 * int8 file's DequantizeLinear nodes into fp32 weights at load (same values; a no-op on fp32
 * files). On the GPU the whole graph so runs in fp32. On WASM the nodes are kept: each run
 * dequantizes its weights again, into memory its activations need anyway, so a session holds the
 * int8 weights (~22 MB) instead of their fp32 copies (~79): a smaller onnxruntime heap per
 * session (229 instead of 272 MB after a 512-frame patch; each of worker-pool.js's workers holds
 * one), a load in a fraction of the time (no folding), and the same speed within a few per cent.
 * A/B in docs/benchmarks.md.
 * @type {Record<'wasm' | 'webgpu', Record<string, Record<string, string>>>}
 */
const SESSION_CONFIG = { wasm: {}, webgpu: { session: { disable_quant_qdq: '1' } } };

/**
 * What a session on `provider` is created with (tests/unit/test_session_memory_js.py checks the
 * WASM ones under Node).
 * @param {'wasm' | 'webgpu'} provider
 */
export function sessionOptions(provider) {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: /** @type {const} */ ('all'),
    // A copy: onnxruntime-web writes into `extra` (use_ort_model_bytes_directly).
    extra: structuredClone(SESSION_CONFIG[provider]),
  };
}

/** onnxruntime-web's CPU build (worker-pool.js compiles it once for all its workers). */
export const WASM_URL = new URL('../vendor/ort/ort-wasm-simd-threaded.wasm', import.meta.url);

/**
 * onnxruntime-web compiles its .wasm itself (WebAssembly.instantiateStreaming) and takes no
 * compiled module: where one is given, the next instantiation (this page's first session's, the
 * only one) uses it instead. worker-pool.js's workers so share one copy of the code, where each
 * compiled its own (Firefox: ~37 MB of machine code each).
 * @param {WebAssembly.Module} compiled
 */
function instantiateFrom(compiled) {
  const own = WebAssembly.instantiateStreaming;
  WebAssembly.instantiateStreaming = async (response, imports) => {
    WebAssembly.instantiateStreaming = own;
    compiledUsed = true;
    // onnxruntime's own fetch of the file is not needed: not waited for, its body not read.
    Promise.resolve(response).then((r) => r.body?.cancel()).catch(() => {});
    return { module: compiled, instance: await WebAssembly.instantiate(compiled, imports) };
  };
}

/** @type {number | undefined} */
let poolThreads;

/** Whether this page's onnxruntime instance was made from a module given to createRunner. */
let compiledUsed = false;

/**
 * Whether instantiateFrom's stand-in was used: onnxruntime-web has no option for a compiled
 * module, so a later version that stops calling instantiateStreaming would silently compile its
 * own again (worker-pool.js reports it; tests/e2e/test_model_workers.py checks it).
 */
export function usedCompiledModule() {
  return compiledUsed;
}

/** @type {number | undefined} */
let gpuThreads;

/**
 * @param {string | Uint8Array} model  an extension URL of the .onnx file, or its bytes (an imported model)
 * @param {{threads?: number, inWorker?: boolean, backend?: 'wasm' | 'webgpu', compiled?: WebAssembly.Module}} [options]
 *   inWorker: in one of worker-pool.js's model workers: one thread, run right there (no proxy worker);
 *   compiled: WASM_URL's module, compiled by the pool (instantiateFrom);
 *   backend 'webgpu': onnxruntime's WebGPU provider (throws where it cannot start; the caller falls back)
 * @returns {Promise<ModelRunner>}
 */
export async function createRunner(model, options = {}) {
  if (options.backend === 'webgpu') return createGpuRunner(model, options);
  // The WASM thread pool is sized once, when the first session of the page initializes the
  // runtime; later values of numThreads are ignored, so the first one is what runs.
  if (poolThreads === undefined && options.compiled) instantiateFrom(options.compiled);
  poolThreads ??= options.inWorker ? 1 : threadCount(options.threads);
  // Run in onnxruntime's own worker: this page's thread stays free for the STFT/iSTFT of the
  // neighbouring chunks (families/spectral-masks.js pipelines them), for messages (cancel) and for storage.
  return openSession(ortWasm, model, {
    wasm: WASM_URL,
    threads: poolThreads,
    proxy: !options.inWorker,
    provider: 'wasm',
  });
}

/**
 * One session on onnxruntime's WebGPU provider, in this page (the provider has no proxy worker:
 * the GPU device belongs to the page that asked for it). Ops it does not take run on its WASM
 * kernels, with this page's threads.
 * @param {string | Uint8Array} model @param {{threads?: number}} options
 * @returns {Promise<ModelRunner>}
 */
async function createGpuRunner(model, options) {
  const ort = await import('../vendor/ort/ort.webgpu.bundle.min.mjs');
  gpuThreads ??= threadCount(options.threads);
  return openSession(ort, model, {
    wasm: new URL('../vendor/ort/ort-wasm-simd-threaded.asyncify.wasm', import.meta.url),
    threads: gpuThreads,
    proxy: false,
    provider: 'webgpu',
  });
}

/**
 * Point `ort` (one of the two builds) at its .wasm and open a session of `model` on `provider`.
 * Only the .wasm's URL: a folder prefix would make the bundle import its glue from there instead
 * of using the copy it embeds.
 * @param {typeof ortWasm} ort @param {string | Uint8Array} model
 * @param {{wasm: URL, threads: number, proxy: boolean, provider: 'wasm' | 'webgpu'}} how
 * @returns {Promise<ModelRunner>}
 */
async function openSession(ort, model, { wasm, threads, proxy, provider }) {
  ort.env.wasm.wasmPaths = { wasm: wasm.href };
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = proxy;
  ort.env.logLevel = 'error';
  const options = sessionOptions(provider);
  const session = await ort.InferenceSession.create(/** @type {any} */ (model), options);
  return wrapSession(ort, session, threads);
}

/**
 * @param {typeof ortWasm} ort  the build that made `session`
 * @param {import('../vendor/ort/ort.wasm.bundle.min.mjs').InferenceSession} session @param {number} threads
 * @returns {ModelRunner}
 */
function wrapSession(ort, session, threads) {
  const [inputName] = session.inputNames;
  const [outputName] = session.outputNames;
  /** @type {ModelRunner['runNamed']} */
  async function runNamed(feeds) {
    /** @type {Record<string, import('../vendor/ort/ort.wasm.bundle.min.mjs').Tensor>} */
    const tensors = {};
    for (const [name, { data, dims }] of Object.entries(feeds)) tensors[name] = new ort.Tensor('float32', data, dims);
    const outputs = await session.run(tensors);
    /** @type {Record<string, Float32Array>} */
    const results = {};
    for (const name of session.outputNames) {
      results[name] = /** @type {Float32Array} */ (outputs[name].data);
      outputs[name].dispose?.();
    }
    return results;
  }
  return {
    threads,
    run: async (data, dims) => (await runNamed({ [inputName]: { data, dims } }))[outputName],
    runNamed,
    release: () => session.release(),
  };
}
