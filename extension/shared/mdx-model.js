// @ts-check
/**
 * A UVR MDX-Net .onnx file as an imported model, without the DOM (Node-tested): its graph
 * checked against the family's contract (one input `input`, one output `output`, both float32
 * [batch, 4, dim_f, dim_t] with dim_f and dim_t fixed), the n_fft values consistent with its
 * dim_f, and the descriptor the family reads (the twin of builder/families/mdx_net.py's).
 */
import { FLOAT, OnnxFormatError, graphSignature } from './onnx-graph.js';
import { MDX_N_FFTS, checkDescriptor } from './bundle.js';
import { MDX_STEMS } from './uvr-models.js';

export const N_HOP = 1024; // every MDX-Net model UVR ships
export const OVERLAP = 0.25; // python-audio-separator's default (builder/mdx_chunks.py)

/** A file the import refuses: a message key of _locales and its substitutions. */
export class MdxRefusal extends Error {
  /** @param {string} key @param {...(string | number)} subs */
  constructor(key, ...subs) {
    super(key);
    this.key = key;
    this.subs = subs.map(String);
  }
}

/** TensorProto.DataType names, as onnx writes them (the rest by number). */
const ELEMENT_TYPES = Object.freeze({ 1: 'FLOAT', 10: 'FLOAT16', 11: 'DOUBLE', 16: 'BFLOAT16' });

/** A tensor as the refusal lists it: name, shape, element type. @param {import('./onnx-graph.js').TensorInfo} t */
const describe = (t) =>
  `${t.name} [${t.dims.join(', ')}] ${ELEMENT_TYPES[/** @type {keyof typeof ELEMENT_TYPES} */ (t.elemType)] ?? t.elemType}`;

/**
 * dim_f and dim_t of an MDX-Net graph, or an MdxRefusal saying what the file is instead.
 * @param {Uint8Array} bytes  the whole .onnx file
 * @returns {{dimF: number, dimT: number}}
 */
export function mdxGraphDims(bytes) {
  let signature;
  try {
    signature = graphSignature(bytes);
  } catch (error) {
    if (error instanceof OnnxFormatError) throw new MdxRefusal('mdxNotOnnx', error.message);
    throw error;
  }
  const { inputs, outputs } = signature;
  const found = [...inputs, ...outputs].map(describe).join('; ');
  const fits = (/** @type {import('./onnx-graph.js').TensorInfo[]} */ list, /** @type {string} */ name) =>
    list.length === 1 && list[0].name === name && list[0].elemType === FLOAT && list[0].dims.length === 4 &&
    (list[0].dims[0] === 1 || typeof list[0].dims[0] === 'string') && list[0].dims[1] === 4 &&
    Number.isInteger(list[0].dims[2]) && Number.isInteger(list[0].dims[3]); // prettier-ignore
  if (!fits(inputs, 'input') || !fits(outputs, 'output')) throw new MdxRefusal('mdxNotMdxNet', found);
  const [dimF, dimT] = /** @type {number[]} */ (inputs[0].dims.slice(2));
  if (outputs[0].dims[2] !== dimF || outputs[0].dims[3] !== dimT) throw new MdxRefusal('mdxNotMdxNet', found);
  if (!consistentNffts(dimF, dimT).length) throw new MdxRefusal('mdxNoNfft', dimF, dimT);
  return { dimF, dimT };
}

/**
 * The n_fft values of UVR's models whose spectrum has dim_f bins and whose chunk of dim_t frames
 * is longer than n_fft (builder/mdx_chunks.py consistent_n_ffts, MdxParams).
 * @param {number} dimF @param {number} dimT
 */
export function consistentNffts(dimF, dimT) {
  return MDX_N_FFTS.filter((n) => dimF > 3 && dimF <= n / 2 + 1 && N_HOP * (dimT - 1) > n && dimT <= 1024);
}

/**
 * The descriptor of an imported MDX-Net model, checked by shared/bundle.js's rules.
 * @param {{name: string, nFft: number, dimF: number, dimT: number, compensate: number,
 *   primary: string, denoise: boolean, sha256: string}} p
 */
export function mdxDescriptor(p) {
  if (!Object.hasOwn(MDX_STEMS, p.primary)) throw new MdxRefusal('mdxUnknownStem', p.primary);
  const descriptor = {
    name: p.name,
    family: 'mdx-net',
    stems: [p.primary, MDX_STEMS[/** @type {keyof typeof MDX_STEMS} */ (p.primary)]],
    sampleRate: 44100,
    nbChannels: 2,
    live: null, // static 5.9-s chunks: no live separation
    stft: { nFft: p.nFft, nHop: N_HOP, nbBins: p.dimF, nbFrames: p.dimT },
    compensate: p.compensate,
    denoise: p.denoise,
    overlap: OVERLAP,
    input: [{ name: 'input', layout: '1,4,dim_f,dim_t' }],
    output: [{ name: 'output', layout: '1,4,dim_f,dim_t' }],
    precision: 'fp32',
    sha256: p.sha256,
    file: `${p.name}.onnx`,
  };
  checkDescriptor(descriptor);
  return descriptor;
}
