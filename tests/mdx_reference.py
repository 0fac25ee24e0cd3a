"""python-audio-separator's MDX-Net inference, transcribed for the tests (audio-separator is not
installed here: it pulls in librosa, onnx2torch and a model download): ``MDXSeparator.demix``
and ``separate`` (nomadkaraoke/python-audio-separator, audio_separator/separator/architectures/
mdx_separator.py, and uvr_lib_v5/stft.py), line for line where it matters, with torch's own
STFT, its peak normalisation off (``normalization_threshold`` above any peak: our test music
peaks below 1) and its batch size 1. The yardstick for ``builder/mdx_chunks.py``, which is
written differently (numpy, one chunk at a time, blocks)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


class Stft:
    """uvr_lib_v5/stft.py STFT."""

    def __init__(self, n_fft: int, hop_length: int, dim_f: int):
        self.n_fft, self.hop_length, self.dim_f = n_fft, hop_length, dim_f
        self.hann_window = torch.hann_window(window_length=n_fft, periodic=True)

    def __call__(self, input_tensor: torch.Tensor) -> torch.Tensor:
        batch_dimensions = input_tensor.shape[:-2]
        channel_dim, time_dim = input_tensor.shape[-2:]
        reshaped = input_tensor.reshape([-1, time_dim])
        out = torch.stft(reshaped, n_fft=self.n_fft, hop_length=self.hop_length, window=self.hann_window,
                         center=True, return_complex=True)  # fmt: skip
        out = torch.view_as_real(out).permute([0, 3, 1, 2])
        out = out.reshape([*batch_dimensions, channel_dim, 2, -1, out.shape[-1]])
        out = out.reshape([*batch_dimensions, channel_dim * 2, -1, out.shape[-1]])
        return out[..., : self.dim_f, :]

    def inverse(self, input_tensor: torch.Tensor) -> torch.Tensor:
        batch_dimensions = input_tensor.shape[:-3]
        channel_dim, freq_dim, time_dim = input_tensor.shape[-3:]
        num_freq_bins = self.n_fft // 2 + 1
        freq_padding = torch.zeros([*batch_dimensions, channel_dim, num_freq_bins - freq_dim, time_dim])
        padded = torch.cat([input_tensor, freq_padding], -2)
        padded = padded.reshape([*batch_dimensions, channel_dim // 2, 2, num_freq_bins, time_dim])
        flat = padded.reshape([-1, 2, num_freq_bins, time_dim]).permute([0, 2, 3, 1])
        complex_tensor = flat[..., 0] + flat[..., 1] * 1.0j
        result = torch.istft(complex_tensor, n_fft=self.n_fft, hop_length=self.hop_length, window=self.hann_window,
                             center=True)  # fmt: skip
        return result.reshape([*batch_dimensions, 2, -1])


def separate(mix: np.ndarray, model_run: Callable[[np.ndarray], np.ndarray], n_fft: int, dim_f: int, dim_t: int,
             compensate: float, denoise: bool, overlap: float = 0.25,
             hop_length: int = 1024) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(primary, secondary), each (nb_samples, 2), of ``mix`` (nb_samples, 2): MDXSeparator.separate
    with ``invert_using_spec`` False, as its stems are written."""
    mix = mix.T.astype(np.float32)
    trim = n_fft // 2
    chunk_size = hop_length * (dim_t - 1)
    stft = Stft(n_fft, hop_length, dim_f)

    def run_model(mix_part: torch.Tensor) -> np.ndarray:
        spek = stft(mix_part)
        spek[:, :, :3, :] *= 0
        if denoise:
            spec_pred_neg = model_run(-spek.numpy())
            spec_pred_pos = model_run(spek.numpy())
            spec_pred = (spec_pred_neg * -0.5) + (spec_pred_pos * 0.5)
        else:
            spec_pred = model_run(spek.numpy())
        return stft.inverse(torch.tensor(spec_pred)).numpy()

    gen_size = chunk_size - 2 * trim
    pad = gen_size + trim - (mix.shape[-1] % gen_size)
    mixture = np.concatenate((np.zeros((2, trim), dtype="float32"), mix, np.zeros((2, pad), dtype="float32")), 1)
    step = int((1 - overlap) * chunk_size)
    result = np.zeros((1, 2, mixture.shape[-1]), dtype=np.float32)
    divider = np.zeros((1, 2, mixture.shape[-1]), dtype=np.float32)
    for i in range(0, mixture.shape[-1], step):
        start = i
        end = min(i + chunk_size, mixture.shape[-1])
        chunk_size_actual = end - start
        window = np.tile(np.hanning(chunk_size_actual)[None, None, :], (1, 2, 1))
        mix_part_ = mixture[:, start:end]
        if end != i + chunk_size:
            pad_size = (i + chunk_size) - end
            mix_part_ = np.concatenate((mix_part_, np.zeros((2, pad_size), dtype="float32")), axis=-1)
        mix_part = torch.tensor(np.array([mix_part_]), dtype=torch.float32)
        with torch.no_grad():
            tar_waves = run_model(mix_part)
        tar_waves[..., :chunk_size_actual] *= window
        divider[..., start:end] += window
        result[..., start:end] += tar_waves[..., : end - start]
    with np.errstate(invalid="ignore", divide="ignore"):  # the padding's two ends have no weight: cut below
        tar_waves = result / divider
    tar_waves_ = np.vstack([tar_waves])[:, :, trim:-trim]
    source = np.concatenate(tar_waves_, axis=-1)[:, : mix.shape[-1]] * compensate
    return source.T, (mix.T - source.T)
