"""Run an exported model with onnxruntime (Python): the native reference for the browser."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

if TYPE_CHECKING:  # builder.segments imports torch, which `demixer separate` must not load
    from builder.segments import WaveformCore
    from builder.separate import MaskCore


def open_session(model: Path | bytes, threads: int, log_severity: int = 3) -> ort.InferenceSession:
    """``log_severity`` 3: errors only, no optimizer chatter on stdout; 4: none (a check whose
    failures are raised and said once)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = log_severity
    # Fold the int8 weights' DequantizeLinear at load, as the extension does (model-runner.js)
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def onnx_core(model: Path | bytes, threads: int = 0) -> MaskCore:
    """A :data:`~builder.separate.MaskCore` backed by an onnxruntime CPU session.

    ``threads`` 0 means one per core.
    """
    session = open_session(model, threads)
    (magnitude_input,) = (i.name for i in session.get_inputs())

    def core(magnitude: np.ndarray) -> np.ndarray:
        return session.run(None, {magnitude_input: magnitude})[0]

    return core


def onnx_waveform_core(model: Path | bytes, threads: int = 0) -> WaveformCore:
    """A :data:`~builder.segments.WaveformCore` (HTDemucs) backed by an onnxruntime CPU session."""
    return onnx_waveform_core_shaped(model, threads)[0]


def onnx_waveform_core_shaped(model: Path | bytes, threads: int = 0) -> tuple[WaveformCore, list[list], list[list]]:
    """The core and the static shapes its graph declares (inputs ``mix`` (1, nb_channels,
    segment_length), ``spec`` (1, 2 * nb_channels, n_fft / 2, nb_frames); outputs ``wave`` (1,
    nb_stems, nb_channels, segment_length), ``spec_out``), from which the native run takes its
    segment length, STFT size and stem count: a model file is all it needs, as in the browser."""
    session = open_session(model, threads)
    mix_input, spec_input = (i.name for i in session.get_inputs())

    def core(mix: np.ndarray, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wave, spec_out = session.run(None, {mix_input: mix, spec_input: spec})
        return wave, spec_out

    return core, [i.shape for i in session.get_inputs()], [o.shape for o in session.get_outputs()]
