"""MDX-Net's ConvTDFNet (kuielab's MDX-Net, the architecture of UVR's ``UVR-MDX-NET-*.onnx`` and
``Kim_Vocal_*.onnx`` files), written from UVR's ``lib_v5/mdxnet.py`` and ``lib_v5/modules.py``.

UVR ships these models only as ONNX graphs; the extension and ``builder/mdx_chunks.py`` run such
a graph as it is. This module exists so that tests can make a graph of the same architecture and
the same I/O contract with seeded random weights (no real weights reach this machine):
input ``input`` and output ``output``, both ``(nb_batch, 4, dim_f, dim_t)`` float32, the
channels being (L.re, L.im, R.re, R.im) of the STFT's first ``dim_f`` bins.

Layers (UVR's names): a 1x1 ``first_conv`` to ``g`` channels; ``n = num_blocks // 2``
encoder levels, each a TFC-TDF block (``l`` k x k convs + norm + ReLU, then a time-distributed
fully connected residual over frequency, bottleneck ``f // bn``) and a 2x2 stride-2 conv adding
``g`` channels; a bottleneck TFC-TDF; ``n`` decoder levels (2x2 stride-2 transposed conv
removing ``g`` channels, multiplied by the skip, TFC-TDF); a 1x1 ``final_conv`` back to 4
channels. The frequency axis is last inside (``transpose(-1, -2)``), so the TDF's Linear layers
act on it. UVR's models use BatchNorm (``optimizer: rmsprop``) and ``bias=False`` in the TDF.
Torch only; shapes ``(nb_batch, nb_channels, nb_bins, nb_frames)`` at the ends.
"""

from __future__ import annotations

import torch
from torch import nn


def _norm(channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels)


class TFC(nn.Module):
    def __init__(self, c: int, l: int, k: int):  # noqa: E741 (UVR's names)
        super().__init__()
        self.H = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, c, kernel_size=k, stride=1, padding=k // 2), _norm(c), nn.ReLU())
            for _ in range(l)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for h in self.H:
            x = h(x)
        return x


class TFC_TDF(nn.Module):  # noqa: N801 (UVR's name)
    def __init__(self, c: int, l: int, f: int, k: int, bn: int, bias: bool):  # noqa: E741
        super().__init__()
        self.tfc = TFC(c, l, k)
        if bn == 0:
            self.tdf = nn.Sequential(nn.Linear(f, f, bias=bias), _norm(c), nn.ReLU())
        else:
            self.tdf = nn.Sequential(nn.Linear(f, f // bn, bias=bias), _norm(c), nn.ReLU(),
                                     nn.Linear(f // bn, f, bias=bias), _norm(c), nn.ReLU())  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.tfc(x)
        return x + self.tdf(x)


class ConvTDFNet(nn.Module):
    """(nb_batch, 4, dim_f, dim_t) -> (nb_batch, 4, dim_f, dim_t); dim_f and dim_t must be
    divisible by 2 ** (num_blocks // 2). UVR's published models: g 32 or 48, l 3, k 3, bn 8,
    num_blocks 11, dim_t 256."""

    def __init__(self, dim_f: int, dim_t: int, g: int = 32, l: int = 3, k: int = 3, bn: int = 8,  # noqa: E741
                 num_blocks: int = 11, bias: bool = False, dim_c: int = 4):  # fmt: skip
        super().__init__()
        self.dim_f, self.dim_t, self.n = dim_f, dim_t, num_blocks // 2
        self.first_conv = nn.Sequential(nn.Conv2d(dim_c, g, kernel_size=1), _norm(g), nn.ReLU())
        f, c = dim_f, g
        self.encoding_blocks, self.ds = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.n):
            self.encoding_blocks.append(TFC_TDF(c, l, f, k, bn, bias))
            self.ds.append(nn.Sequential(nn.Conv2d(c, c + g, kernel_size=2, stride=2), _norm(c + g), nn.ReLU()))
            f, c = f // 2, c + g
        self.bottleneck_block = TFC_TDF(c, l, f, k, bn, bias)
        self.decoding_blocks, self.us = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.n):
            self.us.append(nn.Sequential(nn.ConvTranspose2d(c, c - g, kernel_size=2, stride=2), _norm(c - g),
                                         nn.ReLU()))  # fmt: skip
            f, c = f * 2, c - g
            self.decoding_blocks.append(TFC_TDF(c, l, f, k, bn, bias))
        self.final_conv = nn.Sequential(nn.Conv2d(c, dim_c, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(x)
        x = x.transpose(-1, -2)
        skips = []
        for i in range(self.n):
            x = self.encoding_blocks[i](x)
            skips.append(x)
            x = self.ds[i](x)
        x = self.bottleneck_block(x)
        for i in range(self.n):
            x = self.us[i](x)
            x = x * skips[-i - 1]
            x = self.decoding_blocks[i](x)
        x = x.transpose(-1, -2)
        return self.final_conv(x)


def random_convtdfnet(dim_f: int, dim_t: int, seed: int = 0, probe: torch.Tensor | None = None,
                      **sizes) -> ConvTDFNet:  # fmt: skip
    """A seeded random ConvTDFNet in eval mode. Its BatchNorm statistics are those of one pass
    over ``probe`` (1, 4, dim_f, dim_t), a spectrogram like those it will be given (default:
    unit noise): data-dependent initialisation. A fresh net's statistics are the identity, and
    through its depth and skip products a random net then maps music to its biases, a constant
    whose odd part (what denoise keeps) is ~0, or, at another level, blows it up (the skip
    products make its gain depend steeply on the input's level). The last conv is then scaled
    so that the output on the probe is a quarter of it, as a separated stem might be."""
    torch.manual_seed(seed)
    model = ConvTDFNet(dim_f, dim_t, **sizes)
    if probe is None:
        probe = torch.randn(1, 4, dim_f, dim_t, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.momentum = None  # running statistics = this pass's
                module.weight.uniform_(0.8, 1.2)
                module.bias.uniform_(-0.1, 0.1)
        model.train()(probe)
        model.eval()
        model.final_conv[0].weight.mul_(0.25 * float(probe.std()) / float(model(probe).std()))
    return model
