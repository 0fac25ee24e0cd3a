"""MDX-Net models natively: chunks -> STFT -> ONNX graph -> iSTFT -> Hann-weighted overlap-add.

The arrangement is python-audio-separator's ``MDXSeparator.demix`` (itself UVR 5.6's
``SeperateMDX.demix``), which is what UVR's MDX-Net ``.onnx`` files expect:

* the track gets ``trim = n_fft // 2`` zeros in front and ``pad = gen + trim - n % gen`` behind
  (``gen = chunk - 2 * trim``), and is cut into chunks of ``chunk = n_hop * (dim_t - 1)``
  samples every ``step = int((1 - overlap) * chunk)``, zero-filled past its end;
* each chunk's STFT is torch's (periodic Hann, ``center=True`` with reflect padding, not
  normalised), (L.re, L.im, R.re, R.im) as channels, bins ``dim_f`` and up dropped, bins 0-2
  zeroed; the graph's output is zero-padded back to ``n_fft // 2 + 1`` bins and inverted;
* each chunk's output is weighted by ``np.hanning`` of its length in the padded track (shorter
  for the last chunks), summed, divided by the summed weights, the ``trim`` cut off;
* the primary stem is that times ``compensate``; the secondary is the mix minus the primary.
  Compensate as audio-separator applies it (the primary scaled too), not as UVR 5.5 did
  (``SeperateMDX.seperate``: only the secondary, ``mix - compensate * primary``): the
  secondary is the same either way, and this way the two stems sum to the mix, which the
  mixer's presets and a karaoke track rely on.
* ``denoise``: ``(model(X) - model(-X)) / 2`` (UVR's "Denoise Output"), twice the cost.

audio-separator's peak normalisation of the input and of the primary stem (above 0.9) is left
out: it is a level choice outside the separation, and a stem scaled by its own peak no longer
sums with the other to the mix. Stems are produced chunk by chunk: a step's samples are final
once the next chunk's window starts after them, so memory holds one chunk whatever the track's
length (the browser's twin, ``inference/families/mdx-net.js``, does the same).

Shapes: waveform ``(nb_samples, nb_channels)``; stems ``(nb_stems, nb_samples, nb_channels)``;
the graph's tensors ``(nb_batch, 4, dim_f, dim_t)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from builder.separate import Progress

SpectrogramCore = Callable[[np.ndarray], np.ndarray]  # (1, 4, dim_f, dim_t) -> the same
N_HOP = 1024  # every MDX-Net model UVR ships
N_FFTS = (5120, 6144, 7680)  # the values of UVR's model_data.json (mdx_n_fft_scale_set)
OVERLAP = 0.25  # audio-separator's default
ZEROED_BINS = 3  # ``spek[:, :, :3, :] *= 0`` in both UVR and audio-separator


@dataclass(frozen=True)
class MdxParams:
    n_fft: int
    dim_f: int
    dim_t: int
    compensate: float = 1.0
    denoise: bool = False
    n_hop: int = N_HOP
    overlap: float = OVERLAP

    def __post_init__(self):
        if not ZEROED_BINS < self.dim_f <= self.n_fft // 2 + 1:
            raise ValueError(f"dim_f {self.dim_f} does not fit n_fft {self.n_fft} ({self.n_fft // 2 + 1} bins)")
        if self.chunk <= 2 * self.trim:
            raise ValueError(f"dim_t {self.dim_t}: chunks of {self.chunk} samples are shorter than n_fft {self.n_fft}")

    @property
    def trim(self) -> int:
        return self.n_fft // 2

    @property
    def chunk(self) -> int:
        return self.n_hop * (self.dim_t - 1)

    @property
    def step(self) -> int:
        return int((1 - self.overlap) * self.chunk)


def consistent_n_ffts(dim_f: int) -> list[int]:
    """The n_fft values UVR uses whose spectrum has at least ``dim_f`` bins."""
    return [n for n in N_FFTS if dim_f <= n // 2 + 1]


def hann_periodic(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def stft(chunk: np.ndarray, params: MdxParams) -> np.ndarray:
    """torch.stft(center=True, pad_mode='reflect') of each channel: (nb_channels, chunk) ->
    (1, 2 * nb_channels, dim_f, dim_t) with [re, im] per channel and bins 0-2 zeroed."""
    n_fft, hop = params.n_fft, params.n_hop
    padded = np.pad(chunk.astype(np.float64), ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop]  # (C, T, n_fft)
    spectrum = np.fft.rfft(frames * hann_periodic(n_fft), axis=-1)[:, :, : params.dim_f]  # (C, T, dim_f)
    spectrum[:, :, :ZEROED_BINS] = 0
    planes = np.stack([spectrum.real, spectrum.imag], axis=1)  # (C, 2, T, dim_f)
    return planes.transpose(0, 1, 3, 2).reshape(1, -1, params.dim_f, params.dim_t).astype(np.float32)


def istft(spec: np.ndarray, params: MdxParams) -> np.ndarray:
    """torch.istft(center=True) of (1, 2 * nb_channels, dim_f, dim_t), bins above dim_f zero ->
    (nb_channels, chunk)."""
    n_fft, hop, T = params.n_fft, params.n_hop, params.dim_t
    planes = spec[0].astype(np.float64).reshape(-1, 2, params.dim_f, T)
    full = np.zeros((planes.shape[0], n_fft // 2 + 1, T), np.complex128)
    full[:, : params.dim_f] = planes[:, 0] + 1j * planes[:, 1]
    window = hann_periodic(n_fft).astype(np.float64)
    frames = np.fft.irfft(full.transpose(0, 2, 1), n=n_fft, axis=-1) * window  # (C, T, n_fft)
    length = n_fft + hop * (T - 1)
    out = np.zeros((planes.shape[0], length))
    envelope = np.zeros(length)
    for t in range(T):
        out[:, t * hop : t * hop + n_fft] += frames[:, t]
        envelope[t * hop : t * hop + n_fft] += window**2
    start = n_fft // 2
    return (out[:, start : start + params.chunk] / envelope[start : start + params.chunk]).astype(np.float32)


def chunk_output(chunk: np.ndarray, params: MdxParams, core: SpectrogramCore) -> np.ndarray:
    """One chunk (nb_channels, chunk) through STFT, the graph (twice with denoise) and iSTFT."""
    spec = stft(chunk, params)
    if not params.denoise:
        return istft(core(spec), params)
    return istft(core(spec) * np.float32(0.5) - core(-spec) * np.float32(0.5), params)


def _read(mix: np.ndarray, start: int, length: int) -> np.ndarray:
    """mix[:, start : start + length], zeros outside the track."""
    out = np.zeros((mix.shape[0], length), np.float32)
    lo, hi = max(0, start), min(mix.shape[1], start + length)
    if hi > lo:
        out[:, lo - start : hi - start] = mix[:, lo:hi]
    return out


def stem_blocks(waveform: np.ndarray, params: MdxParams,
                core: SpectrogramCore) -> Iterator[tuple[np.ndarray, Progress]]:  # fmt: skip
    """(primary, secondary) stems (2, nb_block_samples, nb_channels) block by block, one block
    per chunk: the samples that no later chunk reaches."""
    mix = np.ascontiguousarray(waveform.T, np.float32)  # (nb_channels, nb_samples)
    n = mix.shape[1]
    trim, chunk, step = params.trim, params.chunk, params.step
    gen = chunk - 2 * trim
    total = trim + n + gen + trim - n % gen  # the padded track's length (mixture in audio-separator)
    acc = np.zeros((mix.shape[0], chunk), np.float64)  # mixture positions [i, i + chunk)
    weight = np.zeros(chunk, np.float64)
    done = 0  # track samples emitted
    for i in range(0, total, step):
        actual = min(chunk, total - i)
        window = np.hanning(actual)
        acc[:, :actual] += chunk_output(_read(mix, i - trim, chunk), params, core)[:, :actual] * window
        weight[:actual] += window
        final = min(n, i + step - trim)  # mixture positions before the next chunk are final
        if i + step >= total:
            final = n
        if final > done:
            at = slice(done + trim - i, final + trim - i)
            primary = (acc[:, at] / weight[at] * params.compensate).astype(np.float32)
            secondary = mix[:, done:final] - primary
            yield np.stack([primary, secondary]).transpose(0, 2, 1), Progress(final, n)
            done = final
        acc = np.concatenate([acc[:, step:], np.zeros((mix.shape[0], step))], axis=1)
        weight = np.concatenate([weight[step:], np.zeros(step)])


def separate_mdx(waveform: np.ndarray, params: MdxParams, core: SpectrogramCore) -> np.ndarray:
    """Whole stems (2, nb_samples, nb_channels) in memory: for tests."""
    blocks = [b for b, _ in stem_blocks(waveform, params, core)]
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((2, *waveform.shape), np.float32)
