"""Waveform models (HTDemucs) natively: normalise -> segments -> STFT -> core -> iSTFT -> overlap-add.

The same arrangement as ``demucs.separate`` + ``demucs.apply.apply_model(shifts=0, split=True)``:
the mixture is normalised by its mono mean and standard deviation, cut into segments of the
model's training length every ``(1 - overlap)`` of a segment, each segment taken with real
neighbouring samples where the track allows it (``TensorChunk.padded``), separated, and the
outputs blended with a triangular weight. Only the core runs through ONNX; the STFT and iSTFT
are demucs's own (``HTDemucs._spec`` / ``_ispec``), so this is the native reference the browser
is held to.

Shapes: waveform ``(nb_samples, nb_channels)``; stems ``(nb_stems, nb_samples, nb_channels)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from builder.separate import Progress
from models.htdemucs import DemucsTransforms, spectral_waveform, spectrogram

WaveformCore = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # (mix, spec) -> (wave, spec_out)
OVERLAP = 0.25  # demucs's default


def transition_weight(segment_length: int) -> np.ndarray:
    """apply_model's triangle, maximal mid-segment (transition_power 1)."""
    half = segment_length // 2
    weight = np.concatenate([np.arange(1, half + 1), np.arange(segment_length - half, 0, -1)]).astype(np.float32)
    return weight / weight.max()


def _chunk(mix: np.ndarray, offset: int, segment_length: int) -> tuple[np.ndarray, int, int]:
    """TensorChunk(mix, offset, segment_length).padded(segment_length): (segment, length, trim)."""
    total = mix.shape[-1]
    length = min(total - offset, segment_length)
    delta = segment_length - length
    start = offset - delta // 2
    lo, hi = max(0, start), min(total, start + segment_length)
    segment = np.pad(mix[:, lo:hi], ((0, 0), (lo - start, start + segment_length - hi)))
    return segment, length, delta // 2


def normalisation(waveform: np.ndarray) -> tuple[float, float]:
    """demucs.separate's: the mono mix's mean and unbiased standard deviation (1 for silence)."""
    mono = waveform.T.astype(np.float32).mean(axis=0)
    mean, std = float(mono.mean()), float(mono.std(ddof=1)) if mono.size > 1 else 1.0
    return mean, std or 1.0  # digital silence: nothing to scale


def stem_blocks(waveform: np.ndarray, transforms: torch.nn.Module | DemucsTransforms, core: WaveformCore,
                segment_length: int, nb_stems: int) -> Iterator[tuple[np.ndarray, Progress]]:  # fmt: skip
    """Stems (nb_stems, nb_block_samples, nb_channels) block by block, one per segment: each
    block is the part of the running overlap-add that no later segment reaches (a stride; the
    rest at the end), so the output side holds one segment whatever the track's length (the
    browser's twin, htdemucs.js ``segmentBlocks``, does the same). ``transforms``: an HTDemucs
    or just its STFT parameters."""
    mean, std = normalisation(waveform)
    mix = (waveform.T.astype(np.float32) - mean) / std  # (nb_channels, nb_samples)
    total = mix.shape[-1]
    acc = np.zeros((nb_stems, mix.shape[0], segment_length), np.float32)
    sum_weight = np.zeros(segment_length, np.float32)
    weight = transition_weight(segment_length)
    stride = int((1 - OVERLAP) * segment_length)
    for offset in range(0, total, stride):
        segment, length, trim = _chunk(mix, offset, segment_length)
        with torch.no_grad():
            seg = torch.from_numpy(segment)[None]
            wave, spec_out = core(segment[None], spectrogram(transforms, seg).numpy())
            spectral = spectral_waveform(transforms, torch.from_numpy(spec_out), segment_length).numpy()
        acc[..., :length] += weight[:length] * (wave + spectral)[0, :, :, trim : trim + length]
        sum_weight[:length] += weight[:length]
        ready = length if offset + stride >= total else stride
        block = acc[..., :ready] / sum_weight[:ready] * std + mean
        yield block.transpose(0, 2, 1), Progress(offset + ready, total)
        acc = np.concatenate([acc[..., stride:], np.zeros_like(acc[..., :stride])], axis=-1)
        sum_weight = np.concatenate([sum_weight[stride:], np.zeros(stride, np.float32)])


def separate_segments(waveform: np.ndarray, model: torch.nn.Module, core: WaveformCore) -> np.ndarray:
    """Whole stems (nb_stems, nb_samples, nb_channels) in memory: for the build's checks and tests."""
    segment_length = int(model.segment * model.samplerate)
    blocks = [b for b, _ in stem_blocks(waveform, model, core, segment_length, len(model.sources))]
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(model.sources), *waveform.shape), np.float32)
