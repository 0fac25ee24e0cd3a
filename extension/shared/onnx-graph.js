// @ts-check
/**
 * The inputs and outputs an ONNX file declares (names, element types, shapes), read from its
 * protobuf without loading it: what the page needs to recognise a UVR MDX-Net file before the
 * inference host runs it. About 60 lines of protobuf wire format, not protobufjs (which is in
 * node_modules): its npm package has no ES-module build, only CommonJS and a UMD script that
 * sets a global, and we need five fields of onnx.proto. Only the fields below are read; the
 * rest (the weights, hundreds of MB) are skipped by their lengths, never copied.
 *
 * onnx.proto: ModelProto.graph = 7; GraphProto.initializer = 5 (TensorProto.name = 8),
 * input = 11, output = 12; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
 * Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1,
 * dim_param = 2.
 */

/** A file that is not an ONNX model, or one truncated or damaged. */
export class OnnxFormatError extends Error {}

/** TensorProto.DataType FLOAT */
export const FLOAT = 1;

/**
 * @typedef {{name: string, elemType: number, dims: (number | string)[]}} TensorInfo
 * @typedef {{inputs: TensorInfo[], outputs: TensorInfo[]}} GraphSignature
 */

/**
 * (field number, wire type, value) of each field of the message in bytes [start, end):
 * varints as numbers, length-delimited fields as [start, end) of their payload.
 * @param {Uint8Array} bytes @param {number} start @param {number} end
 * @returns {Generator<{field: number, wire: number, value: number, from: number, to: number}>}
 */
function* fields(bytes, start, end) {
  let at = start;
  const varint = () => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (at >= end || scale > 2 ** 63) throw new OnnxFormatError('varint');
      const byte = bytes[at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
  };
  while (at < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      yield { field, wire, value: varint(), from: 0, to: 0 };
    } else if (wire === 2) {
      const length = varint();
      if (at + length > end) throw new OnnxFormatError('length');
      yield { field, wire, value: length, from: at, to: at + length };
      at += length;
    } else if (wire === 1 || wire === 5) {
      at += wire === 1 ? 8 : 4;
    } else {
      throw new OnnxFormatError('wire type');
    }
    if (at > end || field === 0) throw new OnnxFormatError('field');
  }
}

/** @param {Uint8Array} bytes @param {number} from @param {number} to */
const text = (bytes, from, to) => new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(from, to));

/** @param {Uint8Array} bytes @param {number} from @param {number} to @param {number} number */
function* sub(bytes, from, to, number) {
  for (const f of fields(bytes, from, to)) if (f.field === number && f.wire === 2) yield f;
}

/** A ValueInfoProto. @param {Uint8Array} bytes @param {number} from @param {number} to @returns {TensorInfo} */
function valueInfo(bytes, from, to) {
  /** @type {TensorInfo} */
  const info = { name: '', elemType: 0, dims: [] };
  for (const f of fields(bytes, from, to)) {
    if (f.field === 1 && f.wire === 2) info.name = text(bytes, f.from, f.to);
    if (f.field !== 2 || f.wire !== 2) continue;
    for (const tensor of sub(bytes, f.from, f.to, 1)) {
      for (const t of fields(bytes, tensor.from, tensor.to)) {
        if (t.field === 1 && t.wire === 0) info.elemType = t.value;
        if (t.field !== 2 || t.wire !== 2) continue;
        for (const dim of sub(bytes, t.from, t.to, 1)) {
          let value = /** @type {number | string} */ ('?');
          for (const d of fields(bytes, dim.from, dim.to)) {
            if (d.field === 1 && d.wire === 0) value = d.value;
            if (d.field === 2 && d.wire === 2) value = text(bytes, d.from, d.to);
          }
          info.dims.push(value);
        }
      }
    }
  }
  return info;
}

/**
 * The graph's inputs (less the initializers some exporters also list as inputs) and outputs.
 * @param {Uint8Array} bytes  a whole .onnx file
 * @returns {GraphSignature}
 */
export function graphSignature(bytes) {
  try {
    const graphs = [...sub(bytes, 0, bytes.length, 7)];
    if (graphs.length !== 1) throw new OnnxFormatError('graph');
    const { from, to } = graphs[0];
    const initializers = new Set();
    for (const tensor of sub(bytes, from, to, 5)) {
      for (const f of fields(bytes, tensor.from, tensor.to)) {
        if (f.field === 8 && f.wire === 2) initializers.add(text(bytes, f.from, f.to));
      }
    }
    const inputs = [...sub(bytes, from, to, 11)].map((f) => valueInfo(bytes, f.from, f.to));
    const outputs = [...sub(bytes, from, to, 12)].map((f) => valueInfo(bytes, f.from, f.to));
    if (!outputs.length) throw new OnnxFormatError('outputs');
    return { inputs: inputs.filter((i) => !initializers.has(i.name)), outputs };
  } catch (error) {
    if (error instanceof OnnxFormatError) throw error;
    throw new OnnxFormatError(String(error)); // e.g. a name that is not UTF-8
  }
}
