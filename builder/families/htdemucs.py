"""HTDemucs (demucs v4): waveform segments and their complex spectrogram in, both branches out;
normalisation, segments, demucs's STFT/iSTFT and overlap-add outside the graph
(``builder/segments.py``, twin of the extension's ``inference/families/htdemucs.js``).

Build steps: the user's checkpoint (none is published here) -> demucs model, whose sources, rate
and STFT become the spec -> fp32 ONNX core, checked against torch on one segment -> our segment
pipeline on the validation excerpt against demucs's own ``apply_model``
(``Tolerances.reference_sdr_db``) -> int8: every Conv/ConvTranspose/MatMul/Gemm weight (no
per-layer plan: a scan of ~100 weights, each a full separation, would take an hour), judged
against fp32 like Spleeter's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from builder import validate, weights
from builder.families.base import BuildContext, Built, Family, Tensor, UnsupportedModelError
from builder.report import HTDemucsReport
from builder.separate import Progress
from models.catalog import CatalogEntry
from models.spec import MaskExtension, ModelFamily, ModelSpec, Precision, StftSpec

DEMUCS_VERSION = "4.0.1"  # the version models/htdemucs.py is written against

INPUTS = (Tensor("mix", "1,nb_channels,segment_length"), Tensor("spec", "1,2*nb_channels,nb_bins,nb_frames"))
OUTPUTS = (Tensor("wave", "1,nb_stems,nb_channels,segment_length"),
           Tensor("spec_out", "1,nb_stems,2*nb_channels,nb_bins,nb_frames"))  # fmt: skip
OFFERED = (Precision.FP32, Precision.INT8_WEIGHTS)


def build(ctx: BuildContext) -> Built:
    import torch

    from builder import export, quantize
    from builder.runtime import onnx_waveform_core
    from builder.segments import OVERLAP, separate_segments
    from models.htdemucs import HTDemucsCore, reference_stems, spectrogram

    config, excerpt, log = ctx.config, ctx.excerpt, ctx.log
    if config.checkpoint is None:
        raise weights.WeightsError("htdemucs has no published checkpoint here; pass --checkpoint FILE.th")
    log(f"[1/6] checkpoint: {config.checkpoint}")
    model = ctx.entry.load(ctx.entry.spec, config.checkpoint)
    core = HTDemucsCore(model)
    stft = StftSpec(n_fft=model.nfft, n_hop=model.hop_length, nb_bins=model.nfft // 2,
                    nb_frames=-(-core.segment_length // model.hop_length))  # fmt: skip
    spec = dataclasses.replace(ctx.entry.spec, stems=tuple(model.sources), sample_rate=model.samplerate, stft=stft)
    log(f"[2/6] demucs model: {', '.join(spec.stems)}; {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M "
        "parameters")  # fmt: skip
    target = export.export_htdemucs_core(core, ctx.tmp / "fp32.onnx", spec.opset,
                                         [t.name for t in INPUTS], [t.name for t in OUTPUTS])  # fmt: skip
    segment = np.ascontiguousarray(np.resize(excerpt.T, (2, core.segment_length))[None], np.float32)
    with torch.no_grad():
        spec_in = spectrogram(model, torch.from_numpy(segment))
        expected = core(torch.from_numpy(segment), spec_in)
    fp32_core = onnx_waveform_core(target)
    actual = fp32_core(segment, spec_in.numpy())
    diff = max(float(np.max(np.abs(a - e.numpy()))) for a, e in zip(actual, expected, strict=True))
    log(f"[3/6] fp32 ONNX vs torch on one segment: max |diff| {diff:.2e}")
    ours = separate_segments(excerpt, model, fp32_core)
    sdrs = validate.stem_sdrs(spec, reference_stems(model, excerpt), ours)
    validate.check_sdr_floor(sdrs, spec.tolerances.reference_sdr_db, "ONNX segments vs demucs apply_model")
    log(f"[4/6] fp32 stems vs demucs apply_model, SDR dB: {sdrs}")
    report = HTDemucsReport(spec.name, str(config.checkpoint), config.paths.validation_audio.name, diff,
                            list(segment.shape), onnx_vs_reference_sdr_db=sdrs)  # fmt: skip
    # quantized from the fp32 file before storing moves it
    candidates = {p: target if p is Precision.FP32 else quantize.quantize(target, ctx.tmp / f"{p.value}.onnx", p)
                  for p in OFFERED if p in config.precisions}  # fmt: skip
    for precision, path in candidates.items():
        quantized = None
        if precision is not Precision.FP32:
            stems = separate_segments(excerpt, model, onnx_waveform_core(path))
            quantized = validate.check_quantized(spec, precision, validate.stem_sdrs(spec, ours, stems))
        report.artifacts.append(ctx.store(path, spec, precision, quantized))
    unsupported = [p.value for p in config.precisions if p not in OFFERED]
    if unsupported:
        log(f"[5/6] not built: {', '.join(unsupported)} (not offered for htdemucs)")
    family_fields = {"stft": {"nFft": stft.n_fft, "nHop": stft.n_hop},
                     "segmentLength": core.segment_length, "overlap": OVERLAP}  # fmt: skip
    return Built(spec, report, family_fields)


def parity_data(entry: CatalogEntry) -> list[str]:
    """None: the yardstick is demucs's own apply_model, run live by the build and its parity test."""
    return []


def native(waveform: np.ndarray, spec: ModelSpec, model: Path, threads: int,
           mask_extension: MaskExtension | None) -> Iterator[tuple[np.ndarray, Progress]]:  # fmt: skip
    """The built ONNX core between demucs's own STFT and iSTFT (``builder/segments.py``): the same
    segments, overlap and normalisation as at build time, where they were held to ``apply_model``.
    The transforms are demucs's code, so ``demucs`` and ``torch`` must be installed; without them
    this is refused up front, naming them (``demixer separate`` never needs them otherwise)."""
    try:
        from builder.segments import stem_blocks
        from models.htdemucs import DemucsTransforms, import_demucs

        import_demucs()
    except ModuleNotFoundError as error:
        raise UnsupportedModelError(f"separating with {spec.name} runs demucs's own STFT, which needs the Python "
                                    f"packages torch and demucs ({error}); install them: pip install torch "
                                    f"demucs=={DEMUCS_VERSION} (make setup does)") from error  # fmt: skip
    from builder.runtime import onnx_waveform_core_shaped

    core, inputs, outputs = onnx_waveform_core_shaped(model, threads)
    dims = [inputs[0][-1], inputs[1][2], outputs[0][1]]
    if not all(isinstance(d, int) for d in dims) or dims[2] != len(spec.stems):
        raise UnsupportedModelError(f"{model.name}: not an HTDemucs core of {len(spec.stems)} stems with static "
                                    f"shapes (inputs {inputs}, outputs {outputs})")  # fmt: skip
    segment_length, nb_bins, nb_stems = dims
    transforms = DemucsTransforms(nfft=2 * nb_bins, hop_length=2 * nb_bins // 4)  # demucs drops the Nyquist bin
    return stem_blocks(waveform, transforms, core, segment_length, nb_stems)


FAMILY = Family(ModelFamily.HTDEMUCS, INPUTS, OUTPUTS, build, parity_data, native)
