// @ts-check
/**
 * Reading an imported model bundle (`demixer build` writes them: builder/bundle.py, whose
 * `read_bundle` applies the same rules to `demixer separate --bundle`). A bundle comes from
 * anyone, so it is data only: nothing in it is run or used as HTML, its names are checked, and
 * its declared sizes are bounded before anything is unpacked. What this module cannot check
 * (onnxruntime loads it, its outputs have the declared shape) the inference host checks next
 * (inference/model-check.js).
 */
import { unzipSync } from '../vendor/fflate.js';
import { FAMILIES } from '../inference/families/index.js';
import { safeFileName } from './names.js';
import { t } from './i18n.js';
import { errorText } from './errors.js';

export const FORMAT = 'demixer-bundle';
export const FORMAT_VERSION = 1;
export const PARTS = Object.freeze({
  MODEL: 'model.onnx', DESCRIPTOR: 'descriptor.json', REPORT: 'report.json', MANIFEST: 'manifest.json',
}); // prettier-ignore

/** What a bundle may hold (builder/bundle.py BundleLimits is the twin). */
export const LIMITS = Object.freeze({
  modelBytes: 512 * 2 ** 20, // HTDemucs fp32 (~170 MB) with room to spare
  jsonBytes: 2 ** 20,
  stems: 16,
  sampleRates: [8000, 192000],
  nFft: [256, 16384],
  frames: 1024,
});
const MASK_EXTENSIONS = ['zeros', 'average'];
const PRECISIONS = ['fp32', 'int8-weights', 'dynamic-quint8'];
const TENSORS = Object.freeze({
  'spectral-masks': {
    input: [{ name: 'magnitude', layout: 'nb_patches,nb_channels,nb_frames,nb_bins' }],
    output: [{ name: 'masks', layout: 'nb_patches,nb_stems,nb_channels,nb_frames,nb_bins' }],
  },
  htdemucs: {
    input: [
      { name: 'mix', layout: '1,nb_channels,segment_length' },
      { name: 'spec', layout: '1,2*nb_channels,nb_bins,nb_frames' },
    ],
    output: [
      { name: 'wave', layout: '1,nb_stems,nb_channels,segment_length' },
      { name: 'spec_out', layout: '1,nb_stems,2*nb_channels,nb_bins,nb_frames' },
    ],
  },
  'mdx-net': {
    input: [{ name: 'input', layout: '1,4,dim_f,dim_t' }],
    output: [{ name: 'output', layout: '1,4,dim_f,dim_t' }],
  },
});
/** The n_fft values of UVR's MDX-Net models (builder/mdx_chunks.py N_FFTS). */
export const MDX_N_FFTS = Object.freeze([5120, 6144, 7680]);

/** A bundle that is refused; its message is what the user reads. */
export class BundleError extends Error {}

/**
 * @typedef {{name: string, family: string, stems: string[], sampleRate: number, nbChannels: number,
 *   precision: string, sha256: string, file: string} & Record<string, any>} BundleDescriptor
 * @typedef {{descriptor: BundleDescriptor, report: Record<string, any>, manifest: Record<string, any>,
 *   model: Uint8Array}} Bundle
 */

/** @param {Uint8Array} bytes */
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', /** @type {Uint8Array<ArrayBuffer>} */ (bytes)));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The verified parts of `file`, or a BundleError.
 * @param {Blob} file
 * @returns {Promise<Bundle>}
 */
export async function readBundle(file) {
  const most = LIMITS.modelBytes + 3 * LIMITS.jsonBytes;
  if (file.size > most) throw new BundleError(t('bundleTooLarge', mb(file.size), mb(most)));
  const bytes = new Uint8Array(await file.arrayBuffer());
  /** @type {Record<string, Uint8Array>} */
  let parts;
  try {
    parts = unzipSync(bytes, { filter: checkEntry });
  } catch (error) {
    if (error instanceof BundleError) throw error;
    throw new BundleError(t('bundleNotZip', errorText(error)));
  }
  for (const name of Object.values(PARTS)) {
    if (!parts[name]) throw new BundleError(t('bundleMissingPart', name));
  }
  const manifest = json(parts, PARTS.MANIFEST);
  if (manifest.format !== FORMAT) throw new BundleError(t('bundleNotBundle'));
  if (manifest.version !== FORMAT_VERSION) {
    throw new BundleError(t('bundleUnknownVersion', String(manifest.version), FORMAT_VERSION));
  }
  const listed = manifest.parts;
  const names = [PARTS.MODEL, PARTS.DESCRIPTOR, PARTS.REPORT];
  if (!listed || typeof listed !== 'object' || Object.keys(listed).sort().join() !== [...names].sort().join()) {
    throw new BundleError(t('bundleManifestParts'));
  }
  for (const name of names) {
    if ((await sha256(parts[name])) !== listed[name]?.sha256) throw new BundleError(t('bundleWrongHash', name));
  }
  const descriptor = /** @type {BundleDescriptor} */ (json(parts, PARTS.DESCRIPTOR));
  checkDescriptor(descriptor);
  if (descriptor.sha256 !== listed[PARTS.MODEL].sha256) throw new BundleError(t('bundleWrongHash', PARTS.MODEL));
  if (descriptor.precision !== manifest.precision) throw new BundleError(t('bundleBadField', 'precision'));
  return { descriptor, report: json(parts, PARTS.REPORT), manifest, model: parts[PARTS.MODEL] };
}

/**
 * fflate asks this before unpacking each entry: only the four known names, each within its
 * declared-size limit (a zip bomb declares gigabytes, or hides them behind small compressed sizes).
 * @param {{name: string, size: number, originalSize: number}} entry
 */
function checkEntry(entry) {
  if (!(/** @type {string[]} */ (Object.values(PARTS))).includes(entry.name)) throw new BundleError(t('bundleUnexpectedFile', entry.name));
  const limit = entry.name === PARTS.MODEL ? LIMITS.modelBytes : LIMITS.jsonBytes;
  if (entry.originalSize > limit || entry.size > limit) {
    throw new BundleError(t('bundleEntryTooLarge', entry.name, mb(Math.max(entry.originalSize, entry.size)), mb(limit)));
  }
  return true;
}

/** @param {number} bytes */
const mb = (bytes) => (bytes / 1e6).toFixed(1);

/** @param {Record<string, Uint8Array>} parts @param {string} name @returns {Record<string, any>} */
function json(parts, name) {
  let value;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(parts[name]));
  } catch {
    throw new BundleError(t('bundleBadJson', name));
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BundleError(t('bundleBadJson', name));
  return value;
}

/**
 * @param {Record<string, any>} descriptor @param {string} path @param {number} low @param {number} high
 */
function intIn(descriptor, path, low, high) {
  /** @type {any} */
  let value = descriptor;
  for (const key of path.split('.')) value = value && typeof value === 'object' ? value[key] : undefined;
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new BundleError(t('bundleFieldRange', path, low, high));
  }
  return value;
}

/**
 * The descriptor rules (builder/bundle.py check_descriptor is the twin).
 * @param {Record<string, any>} d
 */
export function checkDescriptor(d) {
  if (typeof d.family !== 'string' || !Object.hasOwn(FAMILIES, d.family) || !Object.hasOwn(TENSORS, d.family)) {
    throw new BundleError(t('bundleUnknownFamily', Object.keys(FAMILIES).join(', ')));
  }
  if (typeof d.name !== 'string' || !d.name || safeFileName(d.name) !== d.name) {
    throw new BundleError(t('bundleBadName'));
  }
  if (!Array.isArray(d.stems) || d.stems.length < 1 || d.stems.length > LIMITS.stems) {
    throw new BundleError(t('bundleStemCount', LIMITS.stems, Array.isArray(d.stems) ? d.stems.length : 0));
  }
  for (const stem of d.stems) {
    if (typeof stem !== 'string' || !stem || safeFileName(stem) !== stem) throw new BundleError(t('bundleBadStemName'));
  }
  if (new Set(d.stems).size !== d.stems.length) throw new BundleError(t('bundleDuplicateStem'));
  intIn(d, 'sampleRate', LIMITS.sampleRates[0], LIMITS.sampleRates[1]);
  intIn(d, 'nbChannels', 2, 2);
  const nFft = intIn(d, 'stft.nFft', LIMITS.nFft[0], LIMITS.nFft[1]);
  if (d.family === 'mdx-net' ? !MDX_N_FFTS.includes(nFft) : nFft & (nFft - 1)) {
    throw new BundleError(t('bundleBadField', 'stft.nFft'));
  }
  intIn(d, 'stft.nHop', 1, nFft);
  if (d.family === 'spectral-masks') {
    intIn(d, 'stft.nbBins', 1, nFft / 2 + 1);
    intIn(d, 'stft.nbFrames', 1, LIMITS.frames);
    if (!MASK_EXTENSIONS.includes(d.maskExtension)) throw new BundleError(t('bundleBadField', 'maskExtension'));
  } else {
    if (d.family === 'mdx-net') {
      intIn(d, 'stft.nbBins', 4, nFft / 2 + 1);
      intIn(d, 'stft.nbFrames', Math.floor(nFft / d.stft.nHop) + 2, LIMITS.frames);
      if (typeof d.compensate !== 'number' || !(d.compensate >= 0.5 && d.compensate <= 2)) {
        throw new BundleError(t('bundleBadField', 'compensate'));
      }
      if (typeof d.denoise !== 'boolean') throw new BundleError(t('bundleBadField', 'denoise'));
    } else {
      intIn(d, 'segmentLength', 1, 60 * d.sampleRate);
    }
    if (typeof d.overlap !== 'number' || !(d.overlap >= 0 && d.overlap < 1)) {
      throw new BundleError(t('bundleBadField', 'overlap'));
    }
  }
  const tensors = TENSORS[/** @type {keyof typeof TENSORS} */ (d.family)];
  for (const key of /** @type {const} */ (['input', 'output'])) {
    if (JSON.stringify(d[key]) !== JSON.stringify(tensors[key])) throw new BundleError(t('bundleBadField', key));
  }
  if (!PRECISIONS.includes(d.precision)) throw new BundleError(t('bundleBadField', 'precision'));
}
