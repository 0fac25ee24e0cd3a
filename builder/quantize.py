"""Quantize an fp32 ONNX model (the only module that uses onnxruntime.quantization).

Two schemes, picked by :class:`~models.spec.Precision`:

* ``INT8_WEIGHTS`` (default): each Conv/ConvTranspose weight named in the plan becomes a symmetric
  int8 tensor with one fp32 scale per output channel, followed by a ``DequantizeLinear`` node; the
  other weights are stored as fp16 and ``Cast`` back (sensitive layers: on Spleeter, int8 in the
  small first encoder convs alone costs 10 dB of SDR; see builder/validate.py, which makes the
  plan). Activations and arithmetic stay fp32, and the sessions (builder/runtime.py,
  inference/model-runner.js) fold the DequantizeLinear nodes into fp32 weights at load
  (``session.disable_quant_qdq``): a download lever, not a memory or speed lever. ``quantize_dynamic`` cannot do
  this: it skips ConvTranspose and turns Conv into ConvInteger, which is slow in the WASM backend.
  The numbers come from ``onnxruntime.quantization.quant_utils.quantize_data``.
* ``DYNAMIC_QUINT8``: ``onnxruntime.quantization.quantize_dynamic`` as is, for comparison.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.quant_utils import quantize_data

from models.spec import Precision

# Output-channel axis of the weight, per op: Conv (out, in, kh, kw); ConvTranspose (in, out, kh, kw).
_WEIGHT_AXIS = {"Conv": 0, "ConvTranspose": 1, "MatMul": 1, "Gemm": 1}  # MatMul: B is (K, N)


def _quantize_per_channel(weight: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per channel along ``axis``: (int8 weight, fp32 scales)."""
    moved = np.moveaxis(weight, axis, 0)
    q = np.empty(moved.shape, dtype=np.int8)
    scales = np.empty(moved.shape[0], dtype=np.float32)
    for c in range(moved.shape[0]):
        rmin, rmax = float(moved[c].min()), float(moved[c].max())
        _, scale, q_c = quantize_data(moved[c].ravel(), TensorProto.INT8, symmetric=True,
                                      reduce_range=False, min_real_range=None,
                                      rmin_override=rmin, rmax_override=rmax)[0:3]  # fmt: skip
        q[c] = np.asarray(q_c, dtype=np.int8).reshape(moved[c].shape)
        scales[c] = float(np.asarray(scale).ravel()[0])
    return np.moveaxis(q, 0, axis), scales


def _weight_axis(node: onnx.NodeProto) -> int:
    if node.op_type == "Gemm":  # B is (K, N), or (N, K) with transB
        return 0 if any(a.name == "transB" and a.i for a in node.attribute) else 1
    return _WEIGHT_AXIS[node.op_type]


def conv_weights(model: onnx.ModelProto) -> dict[str, int]:
    """Name -> output-channel axis of every weight stored in the graph that feeds a Conv,
    ConvTranspose, or (transformers: HTDemucs) a MatMul/Gemm as its second input."""
    names = {init.name: init for init in model.graph.initializer}
    return {node.input[1]: _weight_axis(node) for node in model.graph.node
            if node.op_type in _WEIGHT_AXIS and len(node.input) > 1 and node.input[1] in names
            and (node.op_type not in ("MatMul", "Gemm") or len(names[node.input[1]].dims) == 2)}  # fmt: skip


def conv_weights_of(path: Path) -> dict[str, int]:
    """:func:`conv_weights` of the fp32 graph a quantized file was made from (by original name)."""
    model = onnx.load(str(path))
    outputs = {node.output[0] for node in model.graph.node
               if node.op_type in ("DequantizeLinear", "Cast")}  # fmt: skip
    return {node.input[1]: _weight_axis(node) for node in model.graph.node
            if node.op_type in _WEIGHT_AXIS and len(node.input) > 1 and node.input[1] in outputs}  # fmt: skip


def fake_quantize(weight: np.ndarray, axis: int) -> np.ndarray:
    """``weight`` after an int8 round trip (for sensitivity scans)."""
    q, scales = _quantize_per_channel(weight, axis)
    shape = [1] * weight.ndim
    shape[axis] = -1
    return (q.astype(np.float32) * scales.reshape(shape)).astype(np.float32)


def quantize_weights_int8(source: Path, target: Path, int8_weights: set[str] | None = None) -> Path:
    """Conv weights in ``int8_weights`` (default: all) to int8 + DequantizeLinear, others to fp16."""
    model = onnx.load(str(source))
    graph = model.graph
    weights = conv_weights(model)
    chosen = set(weights) if int8_weights is None else int8_weights
    initializers = {init.name: init for init in graph.initializer}
    new_nodes = []
    for name, axis in weights.items():
        init = initializers[name]
        value = numpy_helper.to_array(init)
        graph.initializer.remove(init)
        if name in chosen:
            q, scales = _quantize_per_channel(value, axis)
            graph.initializer.extend([
                numpy_helper.from_array(q, f"{name}_int8"),
                numpy_helper.from_array(scales, f"{name}_scale"),
                numpy_helper.from_array(np.zeros_like(scales, dtype=np.int8), f"{name}_zero"),
            ])  # fmt: skip
            new_nodes.append(helper.make_node(
                "DequantizeLinear", [f"{name}_int8", f"{name}_scale", f"{name}_zero"], [name],
                name=f"{name}_dequantize", axis=axis))  # fmt: skip
        else:
            graph.initializer.append(numpy_helper.from_array(value.astype(np.float16), f"{name}_fp16"))
            new_nodes.append(helper.make_node("Cast", [f"{name}_fp16"], [name],
                                              name=f"{name}_cast", to=TensorProto.FLOAT))  # fmt: skip
    new_nodes.extend(graph.node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return target


def quantize(source: Path, target: Path, precision: Precision,
             int8_weights: set[str] | None = None) -> Path:  # fmt: skip
    """Write ``source`` quantized with ``precision`` to ``target`` (FP32: a copy)."""
    if precision is Precision.FP32:
        target.write_bytes(source.read_bytes())
    elif precision is Precision.INT8_WEIGHTS:
        quantize_weights_int8(source, target, int8_weights)
    elif precision is Precision.DYNAMIC_QUINT8:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QUInt8)
    else:  # pragma: no cover - exhaustive over the enum
        raise ValueError(precision)
    return target
