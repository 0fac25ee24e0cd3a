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


# A decoded sample beyond this is not sound but damage (a float's exponent bits flipped): real
# audio is within +-1, a float file may exceed it by a few dB, never by 60 dB. Such samples are
# replaced by silence like NaN and infinities, unless they are more than MAX_REPLACED_FRACTION
# of the track: then the file is refused (e.g. a float WAV holding 16-bit integer values).
# The same rule as extension/inference/samples.js.
SAMPLE_BOUND = 1e3
MAX_REPLACED_FRACTION = 0.01


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
class Replaced:
    """Decoded samples replaced by silence (counted per channel)."""

    not_numbers: int = 0  # NaN, +-infinity
    out_of_range: int = 0  # finite, beyond +-SAMPLE_BOUND

    def __bool__(self) -> bool:
        return self.not_numbers + self.out_of_range > 0

    def __str__(self) -> str:
        """The same words as the extension's (shared/bad-samples.js ``replacedWarning``)."""
        bound = f"\u00b1{SAMPLE_BOUND:g}"
        told = [
            (self.not_numbers, "sample was not a number and was", "samples were not numbers and were"),
            (self.out_of_range, f"sample was beyond {bound} and was", f"samples were beyond {bound} and were"),
        ]
        return " ".join(f"{n} {one if n == 1 else many} replaced by silence." for n, one, many in told if n)


@dataclass(frozen=True)
class Audio:
    waveform: np.ndarray  # (nb_samples, nb_channels) float32, finite, within +-SAMPLE_BOUND
    sample_rate: int
    replaced: Replaced = Replaced()


def clean_samples(waveform: np.ndarray, name: str) -> tuple[np.ndarray, Replaced]:
    """Non-finite samples and those beyond +-SAMPLE_BOUND become 0 (counted); a file with too
    many of them is refused with an :class:`AudioError`."""
    finite = np.isfinite(waveform)
    bad = ~finite | (np.abs(np.where(finite, waveform, 0)) > SAMPLE_BOUND)
    replaced = int(bad.sum())
    if replaced == 0:
        return waveform, Replaced()
    if replaced > MAX_REPLACED_FRACTION * waveform.size:
        peak = float(np.max(np.abs(waveform[finite]), initial=0.0))
        raise AudioError(f"{name}: {100 * replaced / waveform.size:.0f}% of the samples are not numbers or "
                         f"beyond \u00b1{SAMPLE_BOUND:g} (peak {peak:.3g}): the file is damaged or not in the "
                         "scale players expect")  # fmt: skip
    not_numbers = int((~finite).sum())
    cleaned = np.where(bad, np.float32(0), waveform)
    return cleaned, Replaced(not_numbers, replaced - not_numbers)


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
    waveform, replaced = clean_samples(waveform, path.name)
    return Audio(waveform, int(rate), replaced)


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
        # PCM: full scale; float: any finite float32 (a stem may exceed full scale, a file
        # must never hold NaN or infinity, which players turn into noise or silence)
        self._limit = np.finfo(np.float32).max if fmt is SampleFormat.FLOAT else 1.0

    def write(self, block: np.ndarray, last: bool = False) -> None:
        if self._stream is not None:
            block = self._stream.resample_chunk(np.ascontiguousarray(block), last=last)
        block = np.nan_to_num(block, nan=0.0, posinf=self._limit, neginf=-self._limit)
        block = np.clip(block, -self._limit, self._limit)
        self._file.write(block)

    def close(self) -> None:
        self._file.close()
        self._part.replace(self.path)

    def abort(self) -> None:
        self._file.close()
        self._part.unlink(missing_ok=True)
