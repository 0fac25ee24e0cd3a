"""The build report (``dist/models/<model>.report.json``): the shared fields, then each family's."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    onnx_fp32_max_abs_diff: float  # fp32 ONNX vs torch, the exported core's outputs
    onnx_parity_shape: list[int]  # the input shape that parity was checked on
    artifacts: list[ArtifactReport] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SpectralMasksReport(BuildReport):
    port_vs_tensorflow_sdr_db: dict[str, float] | None = None  # None: no golden TensorFlow stems
    onnx_fp32_outlier_fraction: float = 0.0  # masks beyond the atol


@dataclass
class HTDemucsReport(BuildReport):
    # fp32 ONNX stems (our segment pipeline) vs demucs's own apply_model
    onnx_vs_reference_sdr_db: dict[str, float] = field(default_factory=dict)
