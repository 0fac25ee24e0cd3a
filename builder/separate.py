"""Reference separation pipeline (numpy), shared by the native CLI and the fidelity checks.

decode (builder/audio_io.py) -> resample -> STFT -> model core -> masks -> iSTFT -> encode

The model core is any callable from magnitude patches to masks (an onnxruntime session or the
torch port), so the same pipeline judges the port against TensorFlow, ONNX against torch, and int8
against fp32. The waveform is processed one chunk of patches at a time: model patches never look
across their borders, so chunking changes nothing but memory, and results are written as they come.

Shapes: ``nb_samples, nb_channels`` for waveforms (time first, as audio files are),
``nb_frames, nb_bins, nb_channels`` for STFTs (as Spleeter's), patches as in models/spleeter.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from models.spec import MaskExtension, ModelSpec

MaskCore = Callable[[np.ndarray], np.ndarray]
"""magnitude (nb_patches, nb_channels, T, F) float32 -> masks (nb_patches, nb_stems, nb_channels, T, F)."""


def hann_periodic(n_fft: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def stft(padded: np.ndarray, n_fft: int, n_hop: int, nb_frames: int) -> np.ndarray:
    """Frames ``i < nb_frames`` of ``padded`` (nb_samples, nb_channels), zero beyond its end.

    Returns complex64 (nb_frames, n_fft // 2 + 1, nb_channels).
    """
    need = (nb_frames - 1) * n_hop + n_fft
    if padded.shape[0] < need:
        padded = np.pad(padded, ((0, need - padded.shape[0]), (0, 0)))
    frames = np.lib.stride_tricks.sliding_window_view(padded[:need], n_fft, axis=0)[::n_hop]
    # frames: (nb_frames, nb_channels, n_fft)
    spectrum = np.fft.rfft(frames * hann_periodic(n_fft), axis=-1)
    return spectrum.transpose(0, 2, 1).astype(np.complex64)


def istft_frames(spectrum: np.ndarray, n_fft: int, n_hop: int) -> np.ndarray:
    """Overlap-add of windowed inverse frames, scaled for unit gain (Spleeter's 2/3 at 75 %).

    ``spectrum``: (nb_frames, n_fft // 2 + 1, nb_channels) -> ((nb_frames - 1) * n_hop + n_fft,
    nb_channels); the caller adds overlapping tails of consecutive chunks.
    """
    window = hann_periodic(n_fft)
    gain = n_hop / float(np.sum(window**2))  # TF's WINDOW_COMPENSATION_FACTOR = 2/3 for 4096/1024
    frames = np.fft.irfft(spectrum.transpose(0, 2, 1), n=n_fft, axis=-1) * window * gain
    nb_frames = spectrum.shape[0]
    out = np.zeros(((nb_frames - 1) * n_hop + n_fft, spectrum.shape[2]), dtype=np.float32)
    for i in range(nb_frames):
        out[i * n_hop : i * n_hop + n_fft] += frames[i].T
    return out


def extend_masks(masks: np.ndarray, nb_bins_total: int, mode: MaskExtension) -> np.ndarray:
    """(…, nb_bins) -> (…, nb_bins_total): fill the bins above the model's range."""
    extra = nb_bins_total - masks.shape[-1]
    if mode is MaskExtension.ZEROS:
        fill = np.zeros((*masks.shape[:-1], extra), dtype=masks.dtype)
    else:
        fill = np.repeat(masks.mean(axis=-1, keepdims=True), extra, axis=-1)
    return np.concatenate([masks, fill], axis=-1)


# The model's frame axis takes any multiple of FRAME_STEP (builder/export.py). The track's last
# patch is mostly padding, so it runs at the smallest such length that covers its frames plus
# LAST_PATCH_MARGIN: the U-Net's deeper layers see that far, and where the patch ends (the padding
# of its convolutions instead of zeros of the track) changes the masks that far back. Measured on
# real music (fp32, Wesnoth tracks): margin 128 frames 32 dB vs the full patch, 192 frames >= 90 dB,
# 256 bit-exact; tests/parity/test_last_patch.py keeps >= 60 dB.
FRAME_STEP = 64
LAST_PATCH_MARGIN = 192


def last_patch_frames(nb_frames: int, patch_frames: int) -> int:
    """Frames the last patch of a track runs at, for its ``nb_frames`` of track (1 .. T)."""
    return min(patch_frames, -(-(nb_frames + LAST_PATCH_MARGIN) // FRAME_STEP) * FRAME_STEP)


def run_patches(core: MaskCore, patches: np.ndarray, last_frames: int) -> np.ndarray:
    """``core`` on ``patches`` (nb_patches, nb_channels, T, F), the last cut to its first
    ``last_frames`` frames (its masks zero beyond them); masks (nb_patches, nb_stems, nb_channels, T, F)."""
    T = patches.shape[2]
    if last_frames >= T:
        return core(patches)
    head = [core(patches[:-1])] if len(patches) > 1 else []
    last = core(np.ascontiguousarray(patches[-1:, :, :last_frames]))
    last = np.pad(last, ((0, 0), (0, 0), (0, 0), (0, T - last_frames), (0, 0)))
    return np.concatenate([*head, last])


def magnitude_patches(spectrum: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """STFT (nb_frames, nb_bins_total, nb_channels) -> model input
    (nb_patches, nb_channels, T, F), the last patch zero-padded."""
    T, F = spec.stft.nb_frames, spec.stft.nb_bins
    nb_frames, _, nb_channels = spectrum.shape
    nb_patches = -(-nb_frames // T)
    magnitude = np.zeros((nb_patches * T, F, nb_channels), dtype=np.float32)
    magnitude[:nb_frames] = np.abs(spectrum[:, :F, :])
    return np.ascontiguousarray(magnitude.reshape(nb_patches, T, F, nb_channels).transpose(0, 3, 1, 2))


def padded_stft(waveform: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Spleeter's STFT of a whole (short) waveform: n_fft zeros prepended, end padded."""
    n_fft, n_hop = spec.stft.n_fft, spec.stft.n_hop
    padded = np.pad(waveform, ((n_fft, 0), (0, 0)))
    return stft(padded, n_fft, n_hop, -(-padded.shape[0] // n_hop))


@dataclass(frozen=True)
class Progress:
    done_samples: int
    total_samples: int


def separate_chunks(
    waveform: np.ndarray,
    spec: ModelSpec,
    core: MaskCore,
    patches_per_chunk: int = 4,
    mask_extension: MaskExtension | None = None,
) -> Iterator[tuple[np.ndarray, Progress]]:
    """Separate ``waveform`` (nb_samples, nb_channels) at ``spec.sample_rate``.

    Yields, in order, blocks of the stems (nb_stems, nb_block_samples, nb_channels) float32 that
    concatenate to the full-length stems, with the progress so far.
    """
    n_fft, n_hop = spec.stft.n_fft, spec.stft.n_hop
    T, F = spec.stft.nb_frames, spec.stft.nb_bins
    extension = mask_extension or spec.mask_extension
    nb_samples, nb_channels = waveform.shape
    padded_len = nb_samples + n_fft  # Spleeter prepends one frame of zeros
    nb_frames_total = -(-padded_len // n_hop)
    chunk_frames = T * patches_per_chunk
    nb_stems = len(spec.stems)
    tail = np.zeros((nb_stems, n_fft - n_hop, nb_channels), dtype=np.float32)
    emitted = 0  # samples of the padded output already yielded (or dropped, for the first n_fft)

    for first in range(0, nb_frames_total, chunk_frames):
        nb_frames = min(chunk_frames, nb_frames_total - first)
        start = first * n_hop - n_fft  # in waveform samples; negative means leading zeros
        end = start + (nb_frames - 1) * n_hop + n_fft
        piece = waveform[max(start, 0) : max(min(end, nb_samples), 0)]
        piece = np.pad(piece, ((max(-start, 0), 0), (0, 0)))
        spectrum = stft(piece, n_fft, n_hop, nb_frames)  # (nb_frames, bins, ch)
        patches = magnitude_patches(spectrum, spec)
        nb_patches = patches.shape[0]
        last_frames = T
        if first + nb_frames == nb_frames_total:  # the track's last chunk
            last_frames = last_patch_frames(nb_frames - (nb_patches - 1) * T, T)
        masks = run_patches(core, patches, last_frames)  # (p, stems, ch, T, F)
        masks = masks.transpose(1, 0, 3, 4, 2).reshape(nb_stems, nb_patches * T, F, nb_channels)
        masks = masks[:, :nb_frames].transpose(0, 1, 3, 2)  # (stems, frames, ch, F)
        masks = extend_masks(masks, n_fft // 2 + 1, extension).transpose(0, 1, 3, 2)

        block = np.stack([istft_frames(m * spectrum, n_fft, n_hop) for m in masks])
        block[:, : tail.shape[1]] += tail
        ready = nb_frames * n_hop  # samples no later frame overlaps
        tail = block[:, ready:].copy()
        out_start = first * n_hop  # padded-output position of block[0]
        lo = max(n_fft - out_start, 0)  # drop the prepended frame
        hi = min(ready, n_fft + nb_samples - out_start)
        if hi > lo:
            emitted += hi - lo
            yield block[:, lo:hi], Progress(emitted, nb_samples)


def separate(waveform: np.ndarray, spec: ModelSpec, core: MaskCore, **options) -> np.ndarray:
    """Whole stems (nb_stems, nb_samples, nb_channels) in memory; for tests and short clips."""
    blocks = [block for block, _ in separate_chunks(waveform, spec, core, **options)]
    return np.concatenate(blocks, axis=1)
