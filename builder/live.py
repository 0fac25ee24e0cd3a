"""Streaming separation with bounded latency (numpy reference; twin of
extension/inference/live-separator.js).

The input arrives in blocks of ``hop_frames * n_hop`` samples. After block ``k`` the STFT has
frames ``0 .. (k + 1) * hop_frames`` (frame ``i`` covers waveform samples ``[i * n_hop - n_fft,
i * n_hop)``, as in builder/separate.py: n_fft zeros prepended). The model sees the window of the
last ``window_frames`` frames (zero magnitudes before the start), and from its masks only the
``hop_frames`` frames just before the last ``lookahead_frames`` are kept: each frame is masked
exactly once, by the window in which it has ``lookahead_frames`` frames of future context. Those
masked frames are inverse-transformed and overlap-added as offline. Output sample ``t`` of block
``k`` is input sample ``k * hop_samples + t - latency_samples`` (zeros before the start), with

    latency_samples = n_fft + (lookahead_frames - 1) * n_hop

(the overlap-add needs n_fft - n_hop samples of the next frames; the look-ahead adds its frames).
A caller that buffers a whole block before calling adds ``hop_samples`` to that, and the model's
compute time.

Because each frame has exactly one mask, the whole stream equals one iSTFT of the spectrum
masked frame by frame, which is how :func:`separate_live` computes it (windows batched through
the core); the JS twin computes the same thing one block at a time.

Shapes as in builder/separate.py: waveforms ``nb_samples, nb_channels``; stems
``nb_stems, nb_samples, nb_channels``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.separate import MaskCore, extend_masks, istft_frames, stft
from models.spec import LiveSpec, MaskExtension, ModelSpec


@dataclass(frozen=True)
class LiveTiming:
    """Block size and delay of the live stream, in samples."""

    hop_samples: int
    latency_samples: int


def live_timing(spec: ModelSpec, live: LiveSpec) -> LiveTiming:
    n_fft, n_hop = spec.stft.n_fft, spec.stft.n_hop
    return LiveTiming(live.hop_frames * n_hop, n_fft + (live.lookahead_frames - 1) * n_hop)


def _window_ends(nb_blocks: int, live: LiveSpec) -> np.ndarray:
    """After block k the newest frame is (k + 1) * hop_frames: windows end (exclusive) one past it."""
    return (np.arange(nb_blocks) + 1) * live.hop_frames + 1


def separate_live(
    waveform: np.ndarray,
    spec: ModelSpec,
    live: LiveSpec,
    core: MaskCore,
    windows_per_call: int = 8,
    mask_extension: MaskExtension | None = None,
) -> np.ndarray:
    """The live stream of stems for ``waveform`` (nb_samples, nb_channels), fed in whole blocks
    (the last zero-padded): (nb_stems, nb_blocks * hop_samples, nb_channels), delayed by
    :func:`live_timing`'s ``latency_samples``.

    ``windows_per_call``: windows batched per core call (memory only; results do not depend on it).
    """
    n_fft, n_hop = spec.stft.n_fft, spec.stft.n_hop
    F = spec.stft.nb_bins
    W, H, L = live.window_frames, live.hop_frames, live.lookahead_frames
    extension = mask_extension or spec.mask_extension
    timing = live_timing(spec, live)
    nb_samples, nb_channels = waveform.shape
    nb_blocks = -(-nb_samples // timing.hop_samples)
    nb_frames = nb_blocks * H + 1  # frames 0 .. nb_blocks * H
    padded = np.zeros((nb_blocks * timing.hop_samples + n_fft, nb_channels), dtype=np.float32)
    padded[n_fft : n_fft + nb_samples] = waveform
    spectrum = stft(padded, n_fft, n_hop, nb_frames)  # (frames, bins, ch)
    # Zero frames before the start, so that every window is a plain slice.
    magnitude = np.zeros((W + nb_frames, F, nb_channels), dtype=np.float32)
    magnitude[W:] = np.abs(spectrum[:, :F, :])

    nb_stems = len(spec.stems)
    masks = np.zeros((nb_stems, nb_frames, nb_channels, F), dtype=np.float32)
    ends = _window_ends(nb_blocks, live)
    for first in range(0, nb_blocks, windows_per_call):
        batch = ends[first : first + windows_per_call]
        windows = np.stack([magnitude[W + e - W : W + e] for e in batch])  # (p, W, F, ch)
        out = core(np.ascontiguousarray(windows.transpose(0, 3, 1, 2)))  # (p, stems, ch, W, F)
        for e, window_masks in zip(batch, out, strict=True):
            kept = slice(e - L - H, e - L)  # frames; the window's positions W-L-H .. W-L
            lo = max(kept.start, 0)
            if kept.stop <= lo:
                continue  # the look-ahead reaches back before the input: nothing kept yet
            masks[:, lo : kept.stop] = window_masks[:, :, W - L - (kept.stop - lo) : W - L].transpose(0, 2, 1, 3)
    full = extend_masks(masks, n_fft // 2 + 1, extension).transpose(0, 1, 3, 2)  # (stems, frames, bins, ch)
    # Frames that no window kept yet (the last L) are not complete outputs: zero, cut below anyway.
    stems = np.stack([istft_frames(m * spectrum, n_fft, n_hop) for m in full])
    # stems[:, p] is padded position p = waveform sample p - n_fft; output t = input t - latency.
    out = np.zeros((nb_stems, nb_blocks * timing.hop_samples, nb_channels), dtype=np.float32)
    shift = n_fft - timing.latency_samples  # padded position of output sample 0
    lo = max(-shift, 0)
    hi = min(out.shape[1], stems.shape[1] - shift)
    out[:, lo:hi] = stems[:, lo + shift : hi + shift]
    return out
