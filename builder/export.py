"""Export a model's spectrogram core to ONNX (the only module that uses torch.onnx)."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from models.spec import ModelSpec

# 2026-11-24, torch 2.13.0 + onnxscript 0.7.2: the exporter's optimize=True pass rewrites
# ``Add(x, 1e-10)`` to ``x`` (a near-zero constant taken for zero), which turns Spleeter's
# ``(p + eps/n) / (sum p + eps)`` into ``p / sum p``: NaN wherever the input is silent.
# onnxruntime applies its own graph optimizations at load, so we export unoptimized.
EXPORTER_OPTIMIZE = False

# The frame axis is dynamic for live windows (builder/live.py): any multiple of 64 (the U-Net's
# six stride-2 convolutions) up to 512, the offline patch.
FRAMES = 64 * torch.export.Dim("nb_blocks", min=1, max=8)


def export_core(model: nn.Module, spec: ModelSpec, path: Path, input_name: str, output_name: str) -> Path:
    """Write a spectral-mask ``model`` as fp32 ONNX with dynamic ``nb_patches`` and ``nb_frames``
    (multiples of 64) axes; returns ``path``.

    Input (nb_patches, nb_channels, nb_frames, nb_bins) magnitudes; output (nb_patches, nb_stems,
    nb_channels, nb_frames, nb_bins) masks; the names are the family's. Weights are stored inside the file.
    """
    example = torch.rand(1, spec.nb_channels, spec.stft.nb_frames, spec.stft.nb_bins)
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # exporter chatter
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # exporter chatter; the result is validated right after
        program = torch.onnx.export(
            model.eval(),
            (example,),
            input_names=[input_name],
            output_names=[output_name],
            opset_version=spec.opset,
            dynamic_shapes={input_name: {0: torch.export.Dim("nb_patches", min=1, max=64), 2: FRAMES}},
            dynamo=True,
            optimize=EXPORTER_OPTIMIZE,
            verbose=False,
        )
    program.save(str(path), external_data=False)
    onnx.checker.check_model(str(path))
    return path


# 2026-11-24, torch 2.13.0 + onnxscript 0.7.2: unoptimized, HTDemucs's positional embeddings
# (``torch.arange(0.0, width)``) become a Range whose inputs mix float and int64, which
# onnxruntime refuses to load; the exporter's optimizer folds them to constants (the shapes are
# static). HTDemucs has no near-zero additive constants like Spleeter's, and parity is checked.
HTDEMUCS_EXPORTER_OPTIMIZE = True


def export_htdemucs_core(core: nn.Module, path: Path, opset: int, input_names: list[str],
                         output_names: list[str]) -> Path:  # fmt: skip
    """Write :class:`models.htdemucs.HTDemucsCore` as fp32 ONNX for one segment (static shapes):
    inputs (mix, spectrogram), outputs (time branch, spectral branch), named by the family."""
    from models.htdemucs import spectrogram

    model = core.model
    mix = torch.randn(1, model.audio_channels, core.segment_length) * 0.1
    with torch.no_grad():
        spec = spectrogram(model, mix)
    path.parent.mkdir(parents=True, exist_ok=True)
    for logger in ("torch.onnx", "onnxscript", "onnx_ir"):  # constant-folding chatter
        logging.getLogger(logger).setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # exporter chatter; the result is validated right after
        program = torch.onnx.export(core.eval(), (mix, spec), input_names=input_names,
                                    output_names=output_names, opset_version=opset, dynamo=True,
                                    optimize=HTDEMUCS_EXPORTER_OPTIMIZE, verbose=False)  # fmt: skip
    program.save(str(path), external_data=False)
    onnx.checker.check_model(str(path))
    return path


def export_mdx_net(model: nn.Module, path: Path, opset: int = 18) -> Path:
    """Write an MDX-Net (``models.mdx_net.ConvTDFNet``) as UVR's files are: input ``input`` and
    output ``output``, both (1, 4, dim_f, dim_t) with static shapes. For tests: UVR ships these
    graphs, we never build them."""
    example = torch.randn(1, 4, model.dim_f, model.dim_t)
    path.parent.mkdir(parents=True, exist_ok=True)
    for logger in ("torch.onnx", "onnxscript", "onnx_ir"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # exporter chatter; the tests check the graph's outputs
        program = torch.onnx.export(model.eval(), (example,), input_names=["input"], output_names=["output"],
                                    opset_version=opset, dynamo=True, optimize=True, verbose=False)  # fmt: skip
    program.save(str(path), external_data=False)
    onnx.checker.check_model(str(path))
    return path
