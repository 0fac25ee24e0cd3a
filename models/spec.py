"""Typed, torch-free description of a separation model: what the builder, the reference CLI and
the browser (through the JSON descriptor that builder/families assembles) need to know to run it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MaskExtension(StrEnum):
    """How masks are extended above the model's highest bin (see models/spleeter.py)."""

    ZEROS = "zeros"  # Spleeter's 2stems/4stems/5stems configs: drop everything above ~11 kHz
    AVERAGE = "average"  # mean mask over frequency: stems keep summing to the mixture


class Precision(StrEnum):
    """How the exported model stores and computes its weights."""

    FP32 = "fp32"
    # int8 weights (per output channel, symmetric) with DequantizeLinear in the graph; compute in
    # fp32. Chosen as the default because onnxruntime-web 1.30 runs int8 ConvInteger no faster
    # than fp32 (QUInt8) or 2.5x slower (QInt8), and dynamic quantization leaves ConvTranspose in
    # fp32 (measured in issue #2); weight-only int8 reaches ~1/4 of the fp32 size.
    INT8_WEIGHTS = "int8-weights"
    DYNAMIC_QUINT8 = "dynamic-quint8"  # onnxruntime.quantization.quantize_dynamic, for comparison


DEFAULT_PRECISION = Precision.INT8_WEIGHTS  # what separate/package use, and what the extension ships


class ModelFamily(StrEnum):
    """How the extension and the native CLI run a model: one unit per family on each side
    (``builder/families/<family>.py``, ``extension/inference/families/<family>.js``)."""

    SPECTRAL_MASKS = "spectral-masks"  # Spleeter: magnitude patches in, ratio masks out
    HTDEMUCS = "htdemucs"  # waveform segments + complex spectrogram in, both branches out
    MDX_NET = "mdx-net"  # UVR's MDX-Net .onnx: the complex spectrogram of a chunk in, the primary stem's out


class Activation(StrEnum):
    LEAKY_RELU = "leaky_relu"  # slope 0.2, Spleeter's default encoder activation
    RELU = "relu"  # Spleeter's default decoder activation
    ELU = "elu"  # alpha 1, the 4stems and 5stems configs' choice for both


class MaskActivation(StrEnum):
    SIGMOID = "sigmoid"  # ``unet.unet``: each stem's U-Net ends in its own sigmoid mask
    SOFTMAX = "softmax"  # ``unet.softmax_unet``: the stems' logits are softmax-normalised together


@dataclass(frozen=True)
class UNetSpec:
    """Which of Spleeter's U-Net variants (``model.type`` and ``model.params`` of its configs)."""

    conv_activation: Activation = Activation.LEAKY_RELU
    deconv_activation: Activation = Activation.RELU
    mask_activation: MaskActivation = MaskActivation.SIGMOID


@dataclass(frozen=True)
class StftSpec:
    """The STFT around the exported core. Spleeter's defaults (periodic Hann, ``n_fft`` zeros
    prepended, end padded to whole frames); HTDemucs's build replaces them with its checkpoint's."""

    n_fft: int = 4096
    n_hop: int = 1024
    nb_bins: int = 1024  # bins fed to the model (F); the STFT has n_fft // 2 + 1
    nb_frames: int = 512  # frames per model patch (T)


@dataclass(frozen=True)
class LiveSpec:
    """Streaming separation (builder/live.py, inference/live-separator.js): the model runs on
    windows of ``window_frames`` STFT frames every ``hop_frames`` frames, and each frame's mask is
    taken from the window in which ``lookahead_frames`` later frames are known. The choice and its
    measurements are in ARCHITECTURE.md ("Live window")."""

    # 192 / 32 / 0 (was 256 / 48 / 0 until 2026-11-30 late): a 3/4 window's compute and a hop
    # 0.37 s shorter leave the margin for the model's spread inside a 2-s latency; as close to the
    # true stems (ARCHITECTURE.md "Live window").
    window_frames: int = 192
    hop_frames: int = 32
    lookahead_frames: int = 0

    def __post_init__(self):
        W, H, L = self.window_frames, self.hop_frames, self.lookahead_frames
        if W % 64 or not 0 < W <= 512:
            raise ValueError(f"window_frames {W}: the U-Net takes multiples of 64, at most 512")
        if H < 1 or L < 0 or H + L > W:
            raise ValueError(f"hop {H} + look-ahead {L} frames must fit in the window of {W}")

    def descriptor(self) -> dict:
        return {"windowFrames": self.window_frames, "hopFrames": self.hop_frames,
                "lookaheadFrames": self.lookahead_frames}  # fmt: skip


@dataclass(frozen=True)
class Tolerances:
    """Declared fidelity bars, checked by the builder and the tests."""

    onnx_fp32_atol: float = 1e-4  # masks, fp32 ONNX vs torch
    onnx_fp32_outlier_fraction: float = 1e-3  # masks allowed beyond atol (ill-conditioned bins)
    port_sdr_db: float = 40.0  # torch port vs the original TensorFlow graph, per stem
    reference_sdr_db: float = 40.0  # waveform models: fp32 ONNX stems vs the framework's own inference
    quantized_sdr_db: float = 30.0  # quantized stems vs fp32 stems, per stem


@dataclass(frozen=True)
class MdxSpec:
    """What an MDX-Net graph does not say about itself (UVR keeps it in model_data.json):
    the primary stem's gain, and the two choices of the run (builder/mdx_chunks.py)."""

    compensate: float = 1.0
    denoise: bool = False  # (f(X) - f(-X)) / 2: twice the model time
    overlap: float = 0.25  # python-audio-separator's default


@dataclass(frozen=True)
class ModelSpec:
    name: str
    stems: tuple[str, ...]
    family: ModelFamily = ModelFamily.SPECTRAL_MASKS
    sample_rate: int = 44100
    nb_channels: int = 2
    stft: StftSpec = StftSpec()
    mask_extension: MaskExtension = MaskExtension.ZEROS
    separation_exponent: float = 2.0
    unet: UNetSpec = UNetSpec()
    opset: int = 18  # torch.onnx (dynamo) emits 18 natively; ORT-web 1.30 runs it
    precision: Precision = DEFAULT_PRECISION
    tolerances: Tolerances = Tolerances()
    # None: live separation not offered (a model that does not run well faster than real time).
    live: LiveSpec | None = None
    mdx: MdxSpec | None = None  # MDX-Net only
