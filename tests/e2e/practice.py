"""Measures for the mixer's key and tempo (test_practice.py): a test song of steady tones then a
real chord, the frequency of a spectral peak to a fraction of a cent, a tone's onset and offset."""

from __future__ import annotations

import numpy as np
import soundfile as sf

RATE = 44100
# The steady tones: a harmonic tone (four partials, 1/k) on A3 and a sine on D5, together.
TONES_HZ = (220.0, 587.33)
TONE_START, TONE_END = 0.5, 3.5
# Then a real chord: a sustained choral chord of Wesnoth's "Nunc dimittis" (its steadiest 4 s,
# found by the stability of its spectrum), from CHORD_AT in the song.
CHORD_TRACK, CHORD_FROM_S, CHORD_S = "nunc_dimittis.ogg", 148.5, 4.0
CHORD_AT = 4.0
SONG_S = CHORD_AT + CHORD_S


def write_song(path, wesnoth_track) -> None:
    """Write the song (stereo, 44.1 kHz, 16-bit FLAC) to `path`."""
    t = np.arange(int(SONG_S * RATE)) / RATE
    song = np.zeros((len(t), 2))
    on = (t >= TONE_START) & (t < TONE_END)
    low, high = TONES_HZ
    # 5-ms ramps: the onset and offset are sharp but click-free
    ramp = np.clip(np.minimum(t - TONE_START, TONE_END - t) / 0.005, 0, 1) * on
    tone = sum(np.sin(2 * np.pi * k * low * t) / k for k in range(1, 5)) * 0.15 + 0.1 * np.sin(2 * np.pi * high * t)
    song += (tone * ramp)[:, None]
    chord, rate = sf.read(wesnoth_track(CHORD_TRACK), dtype="float64", start=int(CHORD_FROM_S * RATE),
                          frames=int(CHORD_S * RATE), always_2d=True)  # fmt: skip
    assert rate == RATE
    at = int(CHORD_AT * RATE)
    song[at : at + len(chord)] += chord
    sf.write(path, song, RATE, subtype="PCM_16")


def spectrum(samples: np.ndarray, start_s: float, end_s: float, pad: int = 8):
    """(frequencies, log magnitude) of the mono mix of [start_s, end_s), Hann-windowed, zero-padded."""
    mono = samples.mean(axis=1)[int(start_s * RATE) : int(end_s * RATE)]
    n = len(mono) * pad
    magnitude = np.abs(np.fft.rfft(mono * np.hanning(len(mono)), n))
    return np.fft.rfftfreq(n, 1 / RATE), np.log(magnitude + 1e-12)


def peak_hz(freqs: np.ndarray, log_mag: np.ndarray, near_hz: float, cents: float = 60) -> tuple[float, float]:
    """The strongest peak within `cents` of `near_hz`, refined by a parabola through its log
    magnitude (a Gaussian's peak: exact for a Hann-windowed sine to well under a cent); and its
    level (log magnitude)."""
    band = np.nonzero((freqs > near_hz * 2 ** (-cents / 1200)) & (freqs < near_hz * 2 ** (cents / 1200)))[0]
    i = band[np.argmax(log_mag[band])]
    a, b, c = log_mag[i - 1 : i + 2]
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return float(freqs[i] + shift * (freqs[1] - freqs[0])), float(b - 0.25 * (a - c) * shift)


def cents(hz: float, reference_hz: float) -> float:
    return float(1200 * np.log2(hz / reference_hz))


def chord_peaks(samples: np.ndarray, start_s: float, end_s: float, count: int = 4) -> list[float]:
    """The `count` strongest spectral peaks between 80 Hz and 1.5 kHz, at least a semitone apart."""
    freqs, log_mag = spectrum(samples, start_s, end_s)
    band = (freqs > 80) & (freqs < 1500)
    local = np.nonzero(band[1:-1] & (log_mag[1:-1] > log_mag[:-2]) & (log_mag[1:-1] > log_mag[2:]))[0] + 1
    found: list[float] = []
    for i in local[np.argsort(log_mag[local])[::-1]]:
        if all(abs(cents(freqs[i], f)) > 100 for f in found):
            found.append(peak_hz(freqs, log_mag, freqs[i], 10)[0])
        if len(found) == count:
            break
    return found


def onset_offset(samples: np.ndarray, start_s: float, end_s: float) -> tuple[float, float]:
    """When the sound in [start_s, end_s) first and last exceeds half its steady level (RMS over
    10 ms, to the sample; the steady level: the median where it sounds)."""
    mono = samples.mean(axis=1)[int(start_s * RATE) : int(end_s * RATE)]
    window = RATE // 100
    power = np.concatenate([[0.0], np.cumsum(mono**2)])
    rms = np.sqrt((power[window:] - power[:-window]) / window)  # rms[i]: samples [i, i + window)
    steady = np.median(rms[rms > 0.1 * rms.max()])
    above = np.nonzero(rms > 0.5 * steady)[0]
    # centre of the window at the crossing
    return start_s + (above[0] + window / 2) / RATE, start_s + (above[-1] + window / 2) / RATE
