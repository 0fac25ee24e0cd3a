"""Audio files in and out (soundfile/libsndfile for I/O, soxr for resampling).

Every failure a user can cause surfaces as :class:`AudioError` with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# 5.1 (L, R, C, LFE, Ls, Rs) -> stereo, the Web Audio "speakers" down-mix, so the CLI and the
# browser's decodeAudioData agree: L + 0.7071 (C + Ls), R + 0.7071 (C + Rs); LFE dropped.
_DOWNMIX_51 = np.array([[1, 0], [0, 1], [0.7071, 0.7071], [0, 0], [0.7071, 0], [0, 0.7071]], dtype=np.float32)


class AudioError(ValueError):
    """The input cannot be separated; the message is for the user."""


class SampleFormat(StrEnum):
    PCM16 = "pcm16"
    PCM24 = "pcm24"
    FLOAT = "float"

    @property
    def subtype(self) -> str:
        return {"pcm16": "PCM_16", "pcm24": "PCM_24", "float": "FLOAT"}[self.value]


@dataclass(frozen=True)
class Audio:
    waveform: np.ndarray  # (nb_samples, nb_channels) float32
    sample_rate: int


def load_audio(path: Path) -> Audio:
    if not path.exists():
        raise AudioError(f"no such file: {path}")
    if not path.is_file():
        raise AudioError(f"not a file: {path}")
    try:
        waveform, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        raise AudioError(f"cannot decode {path.name}: not a supported audio file ({error})") from None
    if waveform.shape[0] == 0:
        raise AudioError(f"{path.name} holds no audio samples")
    if not np.isfinite(waveform).all():
        raise AudioError(f"{path.name} holds invalid samples (NaN or infinity)")
    return Audio(waveform, int(rate))


def to_stereo(waveform: np.ndarray) -> np.ndarray:
    """(nb_samples, any channels) -> (nb_samples, 2): mono duplicated, 5.1 down-mixed."""
    channels = waveform.shape[1]
    if channels == 2:
        return waveform
    if channels == 1:
        return np.repeat(waveform, 2, axis=1)
    if channels == 6:
        return waveform @ _DOWNMIX_51
    return waveform[:, :2]  # other layouts: the front pair, as most players do


def resample(waveform: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return waveform
    return soxr.resample(waveform, rate_in, rate_out, quality="HQ").astype(np.float32)


class StemWriter:
    """Writes one stem as it is produced: resampled back to the input's rate, to ``path.part``,
    renamed to ``path`` only when complete; :meth:`abort` removes the partial file."""

    def __init__(self, path: Path, rate_in: int, rate_out: int, fmt: SampleFormat) -> None:
        self.path = path
        self._part = path.with_name(path.name + ".part")
        self._stream = None if rate_in == rate_out else soxr.ResampleStream(
            rate_in, rate_out, 2, dtype="float32", quality="HQ")  # fmt: skip
        self._file = sf.SoundFile(str(self._part), "w", rate_out, 2, fmt.subtype, format="WAV")
        self._clip = fmt is not SampleFormat.FLOAT

    def write(self, block: np.ndarray, last: bool = False) -> None:
        if self._stream is not None:
            block = self._stream.resample_chunk(np.ascontiguousarray(block), last=last)
        if self._clip:
            block = np.clip(block, -1.0, 1.0)
        self._file.write(block)

    def close(self) -> None:
        self._file.close()
        self._part.replace(self.path)

    def abort(self) -> None:
        self._file.close()
        self._part.unlink(missing_ok=True)
