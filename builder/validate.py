"""Fidelity checks with typed errors: ONNX vs torch (tensors), quantized vs fp32 (stems' SDR).

SDR here is the plain signal-to-distortion ratio ``10 log10(|s|^2 / |s - s_hat|^2)`` (the
"global SDR" of the MDX/SiSEC 2021 evaluations), not BSS-eval v4's: BSS-eval allows a 512-tap
distortion filter before measuring, which would hide exactly the errors a parity check is for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.runtime import onnx_core
from builder.separate import separate
from models.spec import ModelSpec, Precision


class ValidationError(AssertionError):
    """A built artifact is not faithful enough to what it was built from."""


class ShapeError(ValidationError):
    pass


class ToleranceError(ValidationError):
    pass


class QualityError(ValidationError):
    """Stems' SDR below the declared floor."""


def sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Plain SDR in dB of ``estimate`` against ``reference`` (same shape)."""
    if reference.shape != estimate.shape:
        raise ShapeError(f"shape {estimate.shape} vs reference {reference.shape}")
    signal = float(np.sum(reference.astype(np.float64) ** 2))
    error = float(np.sum((reference.astype(np.float64) - estimate) ** 2))
    return 10.0 * np.log10((signal + 1e-20) / (error + 1e-20))


def stem_sdrs(spec: ModelSpec, reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    """Per-stem SDR; arrays are (nb_stems, nb_samples, nb_channels)."""
    return {stem: round(float(sdr_db(reference[i], estimate[i])), 2) for i, stem in enumerate(spec.stems)}


def check_sdr_floor(sdrs: dict[str, float], floor_db: float, what: str) -> None:
    low = {stem: value for stem, value in sdrs.items() if value < floor_db}
    if low:
        raise QualityError(f"{what}: SDR below the {floor_db} dB floor: {low}")


def check_quantized(spec: ModelSpec, precision: Precision, sdrs: dict[str, float]) -> dict[str, float] | None:
    """The SDRs vs fp32 for the report (None for fp32 itself), after checking them against the floor."""
    if precision is Precision.FP32:
        return None
    check_sdr_floor(sdrs, spec.tolerances.quantized_sdr_db, f"{precision.value} vs fp32")
    return sdrs


@dataclass(frozen=True)
class ParityReport:
    max_abs_diff: float
    shape: tuple[int, ...]
    outlier_fraction: float  # of mask values beyond atol


def check_onnx_parity(model, onnx_path, magnitude: np.ndarray, atol: float,
                      outlier_fraction: float = 0.0) -> ParityReport:  # fmt: skip
    """Masks of the fp32 ONNX model vs torch on ``magnitude`` (use a shape not exported with).

    At most ``outlier_fraction`` of the mask values may differ by more than ``atol``: where every
    stem's estimate is ~0 the ratio mask is set by its 1e-10 epsilon and float rounding decides
    it (seen with random weights, never with the published 2stems model).
    """
    import torch

    with torch.no_grad():
        expected = model(torch.from_numpy(magnitude)).numpy()
    actual = onnx_core(onnx_path)(magnitude)
    if actual.shape != expected.shape:
        raise ShapeError(f"ONNX masks {actual.shape}, torch {expected.shape}")
    diffs = np.abs(actual - expected)
    diff = float(np.max(diffs))
    outliers = float(np.mean(~(diffs <= atol)))  # NaN counts as an outlier
    if outliers > outlier_fraction:
        raise ToleranceError(f"ONNX vs torch masks differ by up to {diff:.3g}; {outliers:.2e} of them by more "
                             f"than atol {atol} (allowed: {outlier_fraction:.0e})")  # fmt: skip
    return ParityReport(diff, tuple(actual.shape), outliers)


def int8_plan(fp32_path, spec: ModelSpec, waveform: np.ndarray, reference: np.ndarray,
              floor_db: float) -> tuple[set[str], dict[str, float]]:  # fmt: skip
    """Which conv weights may be int8: those whose int8 round trip alone keeps every stem above
    ``floor_db`` against the fp32 stems ``reference`` on ``waveform``.

    Returns (chosen weight names, each weight's worst-stem SDR alone).
    """
    import onnx  # here: the CLI imports this module for its errors, and starts faster without these
    from onnx import numpy_helper

    from builder.quantize import conv_weights, fake_quantize

    base = onnx.load(str(fp32_path))
    solo: dict[str, float] = {}
    for name, axis in conv_weights(base).items():
        trial = onnx.ModelProto()
        trial.CopyFrom(base)
        init = next(i for i in trial.graph.initializer if i.name == name)
        init.CopyFrom(numpy_helper.from_array(fake_quantize(numpy_helper.to_array(init), axis), name))
        stems = separate(waveform, spec, onnx_core(trial.SerializeToString()))
        solo[name] = min(stem_sdrs(spec, reference, stems).values())
    return {name for name, value in solo.items() if value >= floor_db}, solo
